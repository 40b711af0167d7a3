"""Structured JSON log lines, as Cloud Logging reads them from stdout/stderr.

Each line is one JSON object with ``severity`` and ``message`` (the fields
Cloud Logging maps), the request id of the request being served (the
service's own), and on App Engine the platform trace
(``logging.googleapis.com/trace``) from ``X-Cloud-Trace-Context`` so a line
groups under its request in the console; elsewhere that header is the
caller's, and left out (:mod:`webhook.request_ids`). Tokens and signatures are
never logged: the auth module logs reasons, not credentials.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import select
import sys
import time
from typing import IO, Any

from flask import Flask, Response, g, has_request_context, request

from sheets_sync.jobs.run import RUN_CONTEXT
from webhook.request_ids import current_request_id, trace_id

LOGGERS = ("webhook", "sheets_sync")
"""Our loggers: the HTTP layer and the library it runs (jobs, locks, sync)."""
TRACE_FIELD = "logging.googleapis.com/trace"


class JsonFormatter(logging.Formatter):
    """One JSON object per line with Cloud Logging's field names."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        for name in ("request_id", "run_id", TRACE_FIELD, "httpRequest"):
            value = getattr(record, name.replace("/", "_").replace(".", "_"), None)
            if value is not None:
                entry[name] = value
        return json.dumps(entry, default=str)


class RequestContextFilter(logging.Filter):
    """Stamps each record with its request's id and trace; a job's with the id that queued it."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = RUN_CONTEXT.get()
        if job is not None:
            record.run_id = job.run_id
            record.request_id = job.request_id
        elif has_request_context():
            record.request_id = current_request_id()
            trace = trace_id()
            if trace:
                project = os.environ.get("GOOGLE_CLOUD_PROJECT")
                field = f"projects/{project}/traces/{trace}" if project else trace
                record.logging_googleapis_com_trace = field
        return True


def init_app(app: Flask) -> None:
    """Send our loggers' records, as JSON lines, to ``LOG_STREAM`` (default stderr)."""
    send_json_lines(app.config.get("LOG_STREAM") or sys.stderr)
    app.before_request(_start_clock)
    app.after_request(_access_line)


ATOMIC_WRITE_BYTES = select.PIPE_BUF
"""A write this long or shorter reaches a pipe or an append-only file whole, never interleaved."""


class JsonLineHandler(logging.StreamHandler[IO[str]]):
    """Writes each line with one ``os.write`` when the stream is a file, without the handler lock.

    A ``StreamHandler`` formats and writes under its lock; with a request line
    per request on eight threads, the threads queued on that lock and every
    release woke one of them: a tenth of a busy worker's time went to it
    (bench/webhook.py, py-spy). A line is formatted by its own thread and
    written whole by one system call; a line longer than a pipe's atomic
    write (a long traceback), or a stream without a file descriptor (tests'
    StringIO), goes through the lock as before.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        if not self.filter(record):
            return False
        try:
            line = self.format(record) + "\n"
            data = line.encode()
            fd = _file_descriptor(self.stream)
            if fd is None or len(data) > ATOMIC_WRITE_BYTES:
                with self.lock:  # type: ignore[union-attr]
                    self.stream.write(line)
                    self.flush()
            else:
                while data:
                    data = data[os.write(fd, data) :]
        except Exception:
            self.handleError(record)
        return True


def _file_descriptor(stream: IO[str]) -> int | None:
    try:
        stream.flush()  # what the stream's own buffer holds goes first
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def send_json_lines(stream: IO[str]) -> None:
    """Our loggers write JSON lines to ``stream`` (replacing a handler set before)."""
    handler = JsonLineHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler.set_name("webhook-json")
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "webhook-json"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def init_sync_process() -> None:
    """A sync process's log lines: JSON on stderr, like the worker that started it."""
    send_json_lines(sys.stderr)


def _start_clock() -> None:
    g.started = time.perf_counter()


def _access_line(response: Response) -> Response:
    """One line per request, with Cloud Logging's ``httpRequest`` fields."""
    latency = time.perf_counter() - g.get("started", time.perf_counter())
    http = {
        "requestMethod": request.method,
        "requestUrl": request.path,
        "status": response.status_code,
        "latency": f"{latency:.6f}s",
        "userAgent": request.headers.get("User-Agent", ""),
    }
    level = logging.WARNING if response.status_code >= 500 else logging.INFO
    logging.getLogger("webhook.access").log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={"httpRequest": http},
    )
    return response
