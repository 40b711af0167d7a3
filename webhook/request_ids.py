"""Every response carries a request id, so a user's report can be found in the logs.

The id is the service's own, made fresh for each request: it is the audit id
stored on ``price_changes.request_id``, so no caller may choose it — an
``X-Request-Id`` or ``X-Cloud-Trace-Context`` header sent in never becomes it.
The platform's trace id is kept *beside* it (:func:`trace_id`: the log lines'
``logging.googleapis.com/trace`` and ``price_changes.trace_id``), and only on
App Engine (``GAE_ENV`` set), whose front end sets ``X-Cloud-Trace-Context``
itself; anywhere else that header is the caller's and is ignored.
"""

from __future__ import annotations

import os
import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
TRACE_HEADER = "X-Cloud-Trace-Context"
_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/|$)")


def trace_id() -> str | None:
    """The platform's trace id of the request being served: on App Engine only, else None."""
    if not os.environ.get("GAE_ENV"):
        return None
    trace = _TRACE.match(request.headers.get(TRACE_HEADER, ""))
    return trace.group(1).lower() if trace else None


def current_request_id() -> str:
    """The id of the request being served (made on first use; never taken from the request)."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    return str(g.request_id)


def _add_header(response: Response) -> Response:
    response.headers[HEADER] = current_request_id()
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_header)
