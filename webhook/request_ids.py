"""Every response carries a request id, so a user's report can be found in the logs.

App Engine and Cloud Run send ``X-Cloud-Trace-Context``; its trace id is reused
so our id matches the platform's logs. Otherwise a fresh id is made.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/|$)")


def trace_id() -> str | None:
    """The platform's trace id of the request being served, if it sent one."""
    trace = _TRACE.match(request.headers.get("X-Cloud-Trace-Context", ""))
    return trace.group(1).lower() if trace else None


def current_request_id() -> str:
    """The id of the request being served (made on first use)."""
    if "request_id" not in g:
        g.request_id = trace_id() or uuid.uuid4().hex
    return str(g.request_id)


def _add_header(response: Response) -> Response:
    response.headers[HEADER] = current_request_id()
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_header)
