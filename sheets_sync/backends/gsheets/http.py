"""Our retry layer under gspread: backoff with full jitter under one deadline.

gspread's own ``BackOffHTTPClient`` retries 403s forever and ignores
``Retry-After``; this client replaces :meth:`gspread.HTTPClient.request`, the
one method every gspread call goes through, so all calls (ours and any made
by gspread itself) share the same policy and counters:

* 429, 5xx, timeouts and dropped connections are retried, waiting
  ``uniform(0, min(cap, base·2^attempt))`` (full jitter) or the server's
  ``Retry-After`` (seconds or an RFC 7231 HTTP date) if longer, until the
  overall deadline would pass; then :class:`TransientSheetsAPIError`.
* Each attempt's timeout is capped by the time left before that deadline, so
  a hung request cannot outlive it.
* A request that may have been applied before it failed (a 5xx, a read
  timeout or a dropped connection on a *non-replayable* request, such as a
  structural batch with row deletions) is not re-sent blindly: it raises at
  once so the caller re-plans from what is actually there.
* Any other error answer is :class:`SheetsAPIError` carrying status and body.

* With a quota governor, each attempt to the Sheets API first takes a place in
  the account's shared quota (:mod:`sheets_sync.quota`), waiting its turn, and
  settles it when the answer came; the wait is not charged to the deadline.

The clocks (monotonic for the deadline, wall for HTTP dates), sleep and
random source are injectable so tests never wait.
Nothing here logs headers: they carry the access token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_URL

from sheets_sync.backends.gsheets.quota import quota_kind
from sheets_sync.errors import SheetsAPIError, TransientSheetsAPIError
from sheets_sync.quota import QuotaGovernor

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    deadline_seconds: float = 120.0
    base_seconds: float = 0.5
    cap_seconds: float = 32.0

    def backoff(self, attempt: int, draw: float) -> float:
        """Full jitter: anywhere between 0 and the exponential ceiling of this attempt."""
        return draw * min(self.cap_seconds, self.base_seconds * 2**attempt)


@dataclass
class Counters:
    """What went over the wire, attempts included (the report's API calls and bytes)."""

    requests: int = 0
    bytes_sent: int = 0
    retries: int = 0


@dataclass(frozen=True)
class _Failure:
    status: int
    message: str
    body: Any = None
    retry_after: float | None = None
    maybe_applied: bool = True


class RetryingHTTPClient(HTTPClient):
    """A gspread HTTP client with our retry policy, counters and error types."""

    def __init__(
        self,
        session: requests.Session,
        policy: RetryPolicy | None = None,
        *,
        timeout: float | None = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        quota: QuotaGovernor | None = None,
    ) -> None:
        super().__init__(auth=None, session=session)  # type: ignore[arg-type]
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.clock, self.sleep, self.draw = clock, sleep, draw
        self.wall_clock = wall_clock
        self.counters = Counters()
        self.replayable: Callable[[str, str], bool] = _replayable
        self.quota = quota

    @property
    def quota_wait_seconds(self) -> float:
        """How long this client's requests waited for the shared quota, in all."""
        return self.quota.waited_seconds if self.quota is not None else 0.0

    def request(
        self,
        method: str,
        endpoint: str,
        params: MutableMapping[str, Any] | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        body, headers = _encode(data, json, headers)
        replayable = self.replayable(method, endpoint)
        deadline = self.clock() + self.policy.deadline_seconds
        attempt = 0
        while True:
            with self._quota_place(method, endpoint) as waited:
                deadline += waited  # waiting for quota is not retrying
                timeout = self._timeout(deadline)
                failure = self._attempt(method, endpoint, params, body, files, headers, timeout)
            if isinstance(failure, requests.Response):
                return failure
            if failure.maybe_applied and not replayable:
                raise _error(
                    method, endpoint, failure, attempt + 1, "not replayed: it may have been applied"
                )
            delay = max(self.policy.backoff(attempt, self.draw()), failure.retry_after or 0.0)
            if self.clock() + delay >= deadline:
                raise _error(method, endpoint, failure, attempt + 1, "retry deadline reached")
            log.info(
                "sheets api %s %s: %s; retry in %.2fs",
                method.upper(),
                _path(endpoint),
                failure.message,
                delay,
            )
            self.counters.retries += 1
            self.sleep(delay)
            attempt += 1

    @contextmanager
    def _quota_place(self, method: str, endpoint: str) -> Iterator[float]:
        """A place in the shared quota for one attempt (none for Drive or token calls, or
        without a governor), settled once the attempt ended; yields the seconds waited."""
        kind = quota_kind(method, endpoint) if self.quota is not None else None
        if self.quota is None or kind is None:
            yield 0.0
            return
        before = self.quota.waited_seconds
        place = self.quota.take(kind, self._longest_attempt())
        try:
            yield self.quota.waited_seconds - before
        finally:
            self.quota.settle(place)

    def _longest_attempt(self) -> float:
        """How long an attempt may last: while in flight, it counts against the quota so long."""
        if self.timeout is None:
            return self.policy.deadline_seconds
        if isinstance(self.timeout, tuple):
            return float(sum(self.timeout))
        return float(self.timeout)

    def _timeout(self, deadline: float) -> float | tuple[float, float]:
        """This attempt's timeout: the configured one (gspread's ``set_timeout`` may make it a
        ``(connect, read)`` pair), but never past the retry deadline."""
        left = max(deadline - self.clock(), 0.001)
        if self.timeout is None:
            return left
        if isinstance(self.timeout, tuple):
            return (min(self.timeout[0], left), min(self.timeout[1], left))
        return min(self.timeout, left)

    def _attempt(
        self,
        method: str,
        endpoint: str,
        params: Any,
        body: bytes | None,
        files: Any,
        headers: Any,
        timeout: float | tuple[float, float],
    ) -> requests.Response | _Failure:
        """One try: the response if it is usable, else why it failed (raises if terminal)."""
        self.counters.requests += 1
        self.counters.bytes_sent += len(body or b"")
        try:
            response = self.session.request(
                method=method, url=endpoint, params=params, data=body,
                files=files, headers=headers, timeout=timeout,
            )  # fmt: skip
        except requests.ConnectTimeout as error:
            return _Failure(0, f"connect timeout ({type(error).__name__})", maybe_applied=False)
        except (requests.ConnectionError, requests.Timeout) as error:
            return _Failure(0, f"{type(error).__name__}: {_first_line(error)}")
        if response.ok:
            return response
        status, message, payload = _describe(response)
        if status not in RETRYABLE_STATUSES:
            raise SheetsAPIError(
                f"Sheets API {status} on {method.upper()} {_path(endpoint)}: {message}",
                status,
                payload,
            )
        return _Failure(
            status,
            f"{status} {message}",
            payload,
            _retry_after(response, self.wall_clock()),
            maybe_applied=status != 429,
        )

    def developer_metadata_search(self, spreadsheet_id: str, body: Mapping[str, Any]) -> Any:
        """``POST spreadsheets/{id}/developerMetadata:search`` (gspread has no call for it)."""
        url = SPREADSHEET_URL % spreadsheet_id + "/developerMetadata:search"
        return self.request("post", url, json=body).json()


def _replayable(method: str, endpoint: str) -> bool:
    """Safe to send twice: reads (a metadata search and a read by data filter are POSTs),
    and value writes with explicit A1 ranges.

    Everything else (a structural batch with row deletions, an append, a file
    creation, a pricing write-back addressed by grid range, whose rows may have
    moved since) may have been applied before the failure, so it is not replayed.
    """
    verb, path = method.upper(), endpoint.split("?", 1)[0]
    if verb == "GET":
        return True
    if verb == "PUT" and "/values/" in path:
        return True
    return verb == "POST" and path.endswith(
        (
            "/values:batchUpdate",
            "/values:batchClear",
            "/values:batchGetByDataFilter",
            "/developerMetadata:search",
        )
    )


def _encode(
    data: bytes | None, payload: Mapping[str, Any] | None, headers: MutableMapping[str, str] | None
) -> tuple[bytes | None, dict[str, str]]:
    """Serialise JSON once, compactly, so the bytes we count are the bytes we send.

    UTF-8 rather than ``\\uXXXX`` escapes: :func:`.bodies.pack` sizes bodies that
    way, and escapes (6 bytes a character) would push accented text past the cap.
    """
    out = dict(headers or {})
    if payload is None:
        return data, out
    out["Content-Type"] = "application/json"
    return json.dumps(
        payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode(), out


def _describe(response: requests.Response) -> tuple[int, str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return response.status_code, response.text[:200] or response.reason, None
    error = payload.get("error", {}) if isinstance(payload, dict) else {}
    message = error.get("message") if isinstance(error, dict) else None
    return response.status_code, str(message or response.reason), payload


def _retry_after(response: requests.Response, now: float) -> float | None:
    """``Retry-After`` in seconds or as an HTTP date (RFC 7231); None when absent or unreadable.

    A date is turned into seconds from ``now`` (the wall clock); one in the past is 0.
    """
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 850/asctime forms carry no zone: HTTP dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


def _error(
    method: str, endpoint: str, failure: _Failure, attempts: int, why: str
) -> TransientSheetsAPIError:
    message = (
        f"Sheets API {method.upper()} {_path(endpoint)} failed after {attempts} attempt(s) "
        f"({why}): {failure.message}"
    )
    return TransientSheetsAPIError(message, failure.status, failure.body)


def _path(endpoint: str) -> str:
    """The URL without host or query: enough to say which call failed, nothing secret."""
    return "/" + endpoint.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else ""
