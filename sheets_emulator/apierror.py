"""Google-shaped API errors: ``{"error": {"code", "message", "status"}}``.

Every failure the emulator answers is one of these, so clients (gspread's
``APIError``, our retry layer) parse them exactly as they parse Google's.
"""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error answer; raised anywhere below the router, rendered once by it."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.headers = headers or {}
        self.extra: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message, **self.extra, "status": self.status}
        return {"error": error}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str = "Requested entity was not found.") -> ApiError:
    return ApiError(404, message)
