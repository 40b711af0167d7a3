"""Every error answer is JSON with one ``error`` line; none leaks a stack trace.

- Bad input is a :class:`BadRequest` naming the field (400), never a 500.
- A body over the cap is 413, with the cap in the message.
- A library refusal (a pricing push on a sheet without its columns) is 422
  with the library's one-line message; a transient one (the spreadsheet busy,
  Sheets quota) is 503 with ``Retry-After``.
- The database unreachable (or failing mid-request) is 503 with
  ``Retry-After``: callers retry; the engine's pool reconnects by itself when
  the database is back (``pool_pre_ping`` on PostgreSQL), so the service
  recovers without a restart.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException

from sheets_sync.errors import DatabaseError, SheetsSyncError, TransientError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10


class BadRequest(Exception):
    """A request body the endpoint refuses; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _bad_request(error: BadRequest) -> ResponseReturnValue:
    return jsonify(error=str(error), field=error.field), 400


def _http_error(error: HTTPException) -> ResponseReturnValue:
    if error.code == 413:
        cap = current_app.config.get("MAX_CONTENT_LENGTH")
        return jsonify(error=f"request body too large; the limit is {cap} bytes"), 413
    return jsonify(error=(error.description or error.name)), error.code or 500


def _database_down(error: Exception) -> ResponseReturnValue:
    log.error("database unavailable: %s", str(error).splitlines()[0] if str(error) else error)
    body = jsonify(error="the database is unavailable; retry in a few seconds")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _transient(error: TransientError) -> ResponseReturnValue:
    """Busy spreadsheet, Sheets quota or outage: worth retrying, so 503 with Retry-After."""
    body = jsonify(error=str(error))
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _refused(error: SheetsSyncError) -> ResponseReturnValue:
    """A library refusal (missing tab or column, sheet not shared): its one line says the fix."""
    return jsonify(error=str(error)), 422


def _unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unexpected error: %s", type(error).__name__)
    return jsonify(error="internal error; the request id is in the X-Request-Id header"), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(exc.OperationalError, _database_down)
    app.register_error_handler(exc.InterfaceError, _database_down)
    app.register_error_handler(DatabaseError, _database_down)
    app.register_error_handler(TransientError, _transient)
    app.register_error_handler(SheetsSyncError, _refused)
    app.register_error_handler(Exception, _unexpected)
