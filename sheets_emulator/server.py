"""The WSGI application and the threaded werkzeug server that serves it.

Routing works on the raw request path, so a range like ``'a/b'!A1`` sent
percent-encoded (as gspread does) is not mistaken for a path separator.
Every API request passes, in order: counting, fault injection (a ``pause``
holds the request here, before the store lock, so other requests go on),
quota, the handler, and counting of the answer's size. What a request is
(its kind) is decided in :mod:`.kinds`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.serving import BaseWSGIServer, make_server

from sheets_emulator import api, drive, export
from sheets_emulator.apierror import ApiError, bad_request, not_found
from sheets_emulator.batch import SUPPORTED_KINDS
from sheets_emulator.controls import Controls, Fault
from sheets_emulator.discovery import Validator, default_validator
from sheets_emulator.kinds import DRIVE_PATH, READ_KINDS, SERVED_KINDS, SHEETS_PATH, request_kind
from sheets_emulator.spreadsheets import Store

StartResponse = Callable[..., Any]
Reply = tuple[int, Any, dict[str, str]]


class Emulator:
    """The whole emulator state: spreadsheets, controls, issued tokens."""

    def __init__(self, strict: bool = True) -> None:
        self.store = Store()
        self.controls = Controls()
        self.tokens: dict[str, str] = {}
        # strict: every request checked against Google's discovery documents (docs/emulator.md)
        self.validator: Validator | None = default_validator() if strict else None

    def reset(self) -> None:
        with self.store.lock:
            self.store.clear()
        self.tokens.clear()
        self.controls.reset()

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/").split("?", 1)[0]
        method = str(environ["REQUEST_METHOD"]).upper()
        args = _query(environ)
        body_bytes = _read_body(environ)
        if raw_path.startswith("/_emulator/"):
            status, payload, headers = self._control(method, raw_path, body_bytes)
            return _respond(start_response, status, payload, headers)
        kind = request_kind(method, raw_path)
        with self.controls.lock:
            self.controls.counters.requests += 1
            self.controls.counters.by_kind[kind] += 1
            self.controls.counters.bytes_in += len(body_bytes)
        fault = self.controls.fault_for(method, raw_path, kind)
        if fault is not None and not fault.after_apply:
            dropped = self._fire(fault, environ)
            if dropped is not None:
                return dropped
        status, payload, headers = self._dispatch(method, raw_path, kind, args, body_bytes, environ)
        if fault is not None and fault.after_apply:
            if fault.kind == "drop_after_apply":
                return _drop(environ)
            status, payload, headers = _fault_answer(fault)
        out = _respond(start_response, status, payload, headers)
        with self.controls.lock:
            self.controls.counters.by_status[str(status)] += 1
            self.controls.counters.bytes_out += sum(len(b) for b in out)
        return out

    def _fire(self, fault: Fault, environ: dict[str, Any]) -> Iterable[bytes] | None:
        """Pause, hang or drop here; 429/500/503 are raised later as ordinary error answers."""
        if fault.kind == "pause":
            self.controls.hold(fault)  # then served normally
            return None
        if fault.kind == "hang":
            self.controls.release.wait(fault.hang_seconds)
        if fault.kind in ("hang", "drop"):
            return _drop(environ)
        environ["emulator.fault"] = fault
        return None

    def _dispatch(
        self,
        method: str,
        path: str,
        kind: str,
        args: dict[str, Any],
        body: bytes,
        environ: dict[str, Any],
    ) -> Reply:
        try:
            fault = environ.get("emulator.fault")
            if fault is not None:
                return _fault_answer(fault)
            user = self._user(environ)
            if kind.startswith("spreadsheets."):
                self.controls.quotas.check(user, kind not in READ_KINDS)
            data = body if kind == "drive.files.update" else _json(body, environ)
            if self.validator is not None:
                query = str(environ.get("QUERY_STRING") or "")
                self.controls.count_deprecated(self.validator.check(method, path, query, data))
            with self.store.lock:
                return self._route(method, path, kind, args, data, user)
        except ApiError as error:
            return error.code, error.body(), error.headers
        except Exception:  # a bug in the emulator: answer like Google's 500, keep the traceback
            logging.getLogger(__name__).exception("emulator failure on %s %s", method, path)
            return 500, ApiError(500, "Internal error encountered.").body(), {}

    def _user(self, environ: dict[str, Any]) -> str:
        auth = str(environ.get("HTTP_AUTHORIZATION") or "")
        token = auth.removeprefix("Bearer ").strip()
        return self.tokens.get(token, token or "anonymous")

    def _route(
        self, method: str, path: str, kind: str, args: dict[str, Any], body: Any, user: str
    ) -> Reply:
        if kind == "oauth2.token":
            token, who = drive.issue_token(
                {k: v[0] if isinstance(v, list) else v for k, v in body.items()}
            )
            self.tokens[token] = who
            return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}, {}
        if kind == "unknown":
            raise ApiError(
                404, f"Method not found: the Sheets API emulator does not serve {method} {path}"
            )
        if kind.startswith("drive."):
            return self._drive(method, path, kind, args, body, user)
        return self._sheets(path, kind, args, body, user)

    def _sheets(self, path: str, kind: str, args: dict[str, Any], body: Any, user: str) -> Reply:
        match = SHEETS_PATH.match(path)
        assert match is not None
        sid = unquote(match.group("id") or "")
        rest = match.group("rest")
        store, cells = self.store, 0
        if kind == "spreadsheets.create":
            result: Any = api.create(store, body, user)
        elif kind == "spreadsheets.get":
            result = api.get(store, sid, args)
        elif kind == "spreadsheets.batchUpdate":
            result, kinds, cells = api.batch_update(store, sid, body)
            self._count_batch(kinds)
        elif kind == "spreadsheets.values.batchGet":
            result = api.values_batch_get(store, sid, args)
        elif kind == "spreadsheets.values.batchUpdate":
            result, cells = api.values_batch_update(store, sid, body)
        elif kind == "spreadsheets.values.batchGetByDataFilter":
            result = api.values_batch_get_by_filter(store, sid, body)
        elif kind == "spreadsheets.values.batchUpdateByDataFilter":
            result, cells = api.values_batch_update_by_filter(store, sid, body)
        elif kind == "spreadsheets.values.batchClear":
            result = api.values_batch_clear(store, sid, body)
        elif kind == "spreadsheets.developerMetadata.search":
            result = api.developer_metadata_search(store, sid, body)
        elif kind == "spreadsheets.developerMetadata.get":
            result = api.developer_metadata_get(store, sid, unquote(rest.rsplit("/", 1)[1]))
        elif kind == "spreadsheets.sheets.copyTo":
            result = api.copy_to(store, sid, int(rest.split("/")[2].split(":")[0]), body)
        else:
            result, cells = self._values_one(kind, sid, rest, args, body)
        with self.controls.lock:
            self.controls.counters.cells_written += cells
        return 200, result, {}

    def _values_one(
        self, kind: str, sid: str, rest: str, args: dict[str, Any], body: Any
    ) -> tuple[Any, int]:
        encoded = rest[len("/values/") :]
        if kind in ("spreadsheets.values.append", "spreadsheets.values.clear"):
            encoded = encoded.rsplit(":", 1)[0]
        rng = unquote(encoded)
        if kind == "spreadsheets.values.get":
            return api.values_get(self.store, sid, rng, args), 0
        if kind == "spreadsheets.values.update":
            return api.values_update(self.store, sid, rng, args, body)
        if kind == "spreadsheets.values.append":
            return api.values_append(self.store, sid, rng, args, body)
        if kind == "spreadsheets.values.clear":
            return api.values_clear(self.store, sid, rng), 0
        raise not_found(f"Method not found: {kind}")

    def _count_batch(self, kinds: list[str]) -> None:
        with self.controls.lock:
            self.controls.counters.batch_requests.update(kinds)

    def _drive(
        self, method: str, path: str, kind: str, args: dict[str, Any], body: Any, user: str
    ) -> Reply:
        if kind == "drive.files.update":  # a media upload: the body is the CSV
            return 200, export.import_csv(self.store, unquote(path.rsplit("/", 1)[1]), body), {}
        match = DRIVE_PATH.match(path)
        assert match is not None
        fid, rest = unquote(match.group("id") or ""), match.group("rest") or ""
        store = self.store
        if kind == "drive.files.create":
            return 200, drive.create(store, body, user), {}
        if kind == "drive.files.list":
            return 200, drive.list_files(store, args), {}
        if kind == "drive.files.get":
            return 200, drive.get_file(store, fid, args, user), {}
        if kind == "drive.files.delete":
            drive.delete_file(store, fid)
            return 204, None, {}
        if kind == "drive.files.copy":
            return 200, drive.copy_file(store, fid, body, user), {}
        if kind == "drive.files.export":
            return 200, export.export(store, fid, args), {}
        if kind == "drive.comments.list":
            drive.get_file(store, fid, {})
            listing = (
                {"comments": []}
                if args.get("fields")
                else {"kind": "drive#commentList", "comments": []}
            )
            return 200, listing, {}
        if kind == "drive.permissions.create":
            return 200, drive.add_permission(store, fid, body), {}
        if kind == "drive.permissions.list":
            return 200, drive.list_permissions(store, fid), {}
        if kind == "drive.permissions.delete":
            drive.delete_permission(store, fid, unquote(rest.rsplit("/", 1)[1]))
            return 204, None, {}
        raise ApiError(404, f"The Sheets API emulator does not serve {method} {path}")

    # -- controls --------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return 400, bad_request("control body must be JSON").body(), {}
        try:
            return self._control_route(method, path.removeprefix("/_emulator/").strip("/"), data)
        except ApiError as error:
            return error.code, error.body(), {}
        except (TypeError, ValueError, re.error) as error:
            return 400, bad_request(f"bad control request: {error}").body(), {}

    def _control_route(self, method: str, name: str, data: dict[str, Any]) -> Reply:
        controls = self.controls
        if (method, name) == ("POST", "reset"):
            self.reset()
            return 200, {"reset": True}, {}
        if (method, name) == ("GET", "counters"):
            with controls.lock:
                return 200, controls.counters.as_json(), {}
        if (method, name) == ("POST", "counters/reset"):
            with controls.lock:
                controls.counters = type(controls.counters)()
            return 200, {"reset": True}, {}
        if (method, name) == ("POST", "faults"):
            fault = controls.add_fault(data)
            return 200, {"fault": fault.__dict__}, {}
        if (method, name) == ("GET", "faults"):
            with controls.lock:
                return 200, {"faults": [dict(f.__dict__) for f in controls.faults]}, {}
        if (method, name) == ("DELETE", "faults"):
            controls.clear_faults()
            return 200, {"faults": []}, {}
        if (method, name) == ("POST", "release"):
            return 200, {"released": controls.release_held()}, {}
        if name == "quotas":
            if method == "POST":
                controls.quotas.configure(data)
            return 200, controls.quotas.as_json(), {}
        if (method, name) == ("GET", "info"):
            return (
                200,
                {
                    "served_methods": list(SERVED_KINDS),
                    "supported_batch_requests": SUPPORTED_KINDS,
                    "spreadsheets": len(self.store.books),
                },
                {},
            )
        if method == "POST" and name.startswith("spreadsheets/") and name.endswith("/access"):
            sid = name.split("/")[1]
            with self.store.lock:
                book = self.store.books.get(sid)
                if book is None:
                    raise not_found()
                book.forbidden = not bool(data.get("allowed", False))
            return 200, {"spreadsheetId": sid, "allowed": not book.forbidden}, {}
        raise not_found(f"No emulator control {method} /_emulator/{name}")


def _drop(environ: dict[str, Any]) -> list[bytes]:
    """Close the connection without an answer (the client sees a reset or an empty reply)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return []


_FAULT_MESSAGES = {
    "429": "Resource has been exhausted (e.g. check quota).",
    "500": "Internal error encountered.",
    "503": "The service is currently unavailable.",
}


def _fault_answer(fault: Fault) -> Reply:
    """The error answer of a 429/500/503 fault, ``Retry-After`` included when set."""
    headers = (
        {"Retry-After": _header_value(fault.retry_after)} if fault.retry_after is not None else {}
    )
    error = ApiError(int(fault.status), _FAULT_MESSAGES[fault.status], headers=headers)
    return error.code, error.body(), error.headers


def _header_value(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _query(environ: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_qs(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True)
    return {k: (v if k == "ranges" else v[-1]) for k, v in parsed.items()}


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _json(body: bytes, environ: dict[str, Any]) -> Any:
    if not body:
        return {}
    if "application/x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE") or ""):
        return {k: v[-1] for k, v in parse_qs(body.decode()).items()}
    try:
        data = json.loads(body)
    except ValueError:
        raise bad_request("Invalid JSON payload received.") from None
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON payload received: expected an object.")
    return data


def _respond(
    start_response: StartResponse, status: int, payload: Any, headers: dict[str, str]
) -> list[bytes]:
    content_type = "application/json; charset=UTF-8"
    if isinstance(payload, export.Raw):  # an exported file
        data, content_type = payload.content, payload.content_type
    elif payload is None:
        data = b""
    else:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    reason = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
              429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip
    head = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    head += list(headers.items())
    start_response(f"{status} {reason.get(status, 'Error')}", head)
    return [data]


class EmulatorServer:
    """The emulator on a werkzeug threaded server, in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, strict: bool = True) -> None:
        if port:
            _check_free(host, port)  # werkzeug would print and sys.exit instead of raising
        self.emulator = Emulator(strict=strict)
        self._server: BaseWSGIServer = make_server(host, port, self.emulator, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sheets-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self.emulator.controls.release.set()
        self.emulator.controls.release_held()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.emulator.reset()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_free(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def start_emulator(port: int = 0, strict: bool = True) -> EmulatorServer:
    """Start an emulator on 127.0.0.1 (a free port by default) and return it running;
    ``strict=False`` serves requests Google's discovery documents would refuse."""
    return EmulatorServer(port=port, strict=strict).start()
