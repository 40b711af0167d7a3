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
- A reachable database without the schema, or without a table or column added
  since it was made, is 503 naming ``sheets-sync init-db`` on every endpoint
  (found before the first query, :func:`webhook.runtime.engine`, or from the
  error of a table dropped since): never a 500, never "unavailable". The
  database's address stays in the log, not the answer.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException

from sheets_sync.errors import DatabaseError, SchemaError, SheetsSyncError, TransientError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
SCHEMA_RETRY_AFTER_SECONDS = 60
"""A missing schema needs an administrator (`sheets-sync init-db`): no point asking every 10 s."""
NO_SCHEMA = (
    "the service's database has no schema yet, or lacks part of it: its administrator must "
    "run `sheets-sync init-db` (it creates what is missing and keeps the data)"
)
_UNDEFINED_SQLSTATES = frozenset({"42P01", "42703"})
"""PostgreSQL's undefined_table and undefined_column."""
_SQLITE_UNDEFINED = ("no such table", "no such column", "has no column named")


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
    if isinstance(error, SchemaError) or schema_is_missing(error):
        return _no_schema(error)
    if isinstance(error, exc.ProgrammingError):  # our SQL is wrong: a bug, not an outage
        return _unexpected(error)
    log.error("database unavailable: %s", _first_line(error))
    body = jsonify(error="the database is unavailable; retry in a few seconds")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def schema_is_missing(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the database lacking a table or column."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, SchemaError):
            return True
        if isinstance(cause, exc.DBAPIError) and cause.orig is not None:
            if getattr(cause.orig, "sqlstate", None) in _UNDEFINED_SQLSTATES:
                return True
            if any(sign in str(cause.orig) for sign in _SQLITE_UNDEFINED):
                return True
        cause = cause.__cause__ or cause.__context__
    return False


def _no_schema(error: Exception) -> ResponseReturnValue:
    """503 naming init-db; the log says what is missing (the database's address included)."""
    from webhook import runtime  # runtime imports the auth module, which imports nothing here

    detail = error if isinstance(error, SchemaError) else runtime.schema_problem()
    log.error("database without the schema: %s", _first_line(detail or error))
    body = jsonify(error=NO_SCHEMA)
    return body, 503, {"Retry-After": str(SCHEMA_RETRY_AFTER_SECONDS)}


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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
    app.register_error_handler(exc.ProgrammingError, _database_down)
    app.register_error_handler(DatabaseError, _database_down)
    app.register_error_handler(TransientError, _transient)
    app.register_error_handler(SheetsSyncError, _refused)
    app.register_error_handler(Exception, _unexpected)
