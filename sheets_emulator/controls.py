"""Test controls: counters, fault injection and per-minute quotas.

Served under ``/_emulator/`` (never counted, never faulted, never quota'd) so
tests and benchmarks can steer and observe the emulator over plain HTTP.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from sheets_emulator.apierror import ApiError, bad_request

FAULT_KINDS = (
    "429",
    "500",
    "503",
    "hang",
    "drop",
    "drop_after_apply",
    "500_after_apply",
    "503_after_apply",
    "pause",
)
"""``*_after_apply``: the request is applied (and committed), then the answer is lost.
``pause``: the request is held until released (or ``hang_seconds``), then served normally."""


@dataclass
class Counters:
    """What a benchmark wants to know about the traffic."""

    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    batch_requests: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    cells_written: int = 0
    deprecated_fields: Counter[str] = field(default_factory=Counter)
    """``"<method> <body path>"`` → uses of a field Google's discovery document marks
    deprecated (e.g. ``spreadsheets.batchUpdate requests.repeatCell.cell.userEnteredFormat
    .backgroundColor``), so a test can show the product sends none."""

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        for key in ("by_kind", "batch_requests", "by_status", "deprecated_fields"):
            body[key] = dict(sorted(getattr(self, key).items()))
        return body


@dataclass
class Fault:
    """Fail the ``nth`` matching request (1-based), then the next ``times - 1`` ones too."""

    kind: str
    nth: int = 1
    times: int = 1
    method: str | None = None
    path: str | None = None
    request_kind: str | None = None
    retry_after: float | str | None = None  # a string (an HTTP date) is sent verbatim
    hang_seconds: float = 30.0
    seen: int = 0
    fired: int = 0
    holding: int = 0  # requests a ``pause`` fault holds right now

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        kind = str(body.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise bad_request(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        fault = cls(
            kind=kind,
            nth=int(body.get("nth", 1)),
            times=int(body.get("times", 1)),
            method=(body.get("method") or None) and str(body["method"]).upper(),
            path=body.get("path"),
            request_kind=body.get("request_kind"),
            retry_after=_retry_after(body.get("retry_after")),
            hang_seconds=float(body.get("hang_seconds", 30.0)),
        )
        if fault.nth < 1 or fault.times < 1:
            raise bad_request("nth and times must be at least 1")
        if fault.path:
            re.compile(fault.path)
        return fault

    @property
    def after_apply(self) -> bool:
        return self.kind.endswith("_after_apply")

    @property
    def status(self) -> str:
        """The HTTP status an error fault answers with (``"500"`` for ``500_after_apply``)."""
        return self.kind.removesuffix("_after_apply")

    def matches(self, method: str, path: str, kind: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.path is None or re.search(self.path, path) is not None)
            and (self.request_kind is None or self.request_kind == kind)
        )


def _retry_after(value: Any) -> float | str | None:
    """Seconds (a number) or any text, e.g. an RFC 7231 date ``Wed, 21 Oct 2026 07:28:00 GMT``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request("retry_after must be a number of seconds or a string (an HTTP date)")
    return value


class Quotas:
    """Per-user sliding one-minute windows for read and write requests (off when None)."""

    def __init__(self) -> None:
        self.read_per_minute: int | None = None
        self.write_per_minute: int | None = None
        self.window_seconds = 60.0
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def configure(self, body: dict[str, Any]) -> None:
        for key in ("read_per_minute", "write_per_minute"):
            if key in body:
                value = body[key]
                setattr(self, key, None if value is None else int(value))
        if "window_seconds" in body:
            self.window_seconds = float(body["window_seconds"])
        self._hits.clear()

    def as_json(self) -> dict[str, Any]:
        return {
            "read_per_minute": self.read_per_minute,
            "write_per_minute": self.write_per_minute,
            "window_seconds": self.window_seconds,
        }

    def check(self, user: str, write: bool) -> None:
        limit = self.write_per_minute if write else self.read_per_minute
        if limit is None:
            return
        metric = "Write" if write else "Read"
        hits = self._hits.setdefault((user, metric), deque())
        now = time.monotonic()
        while hits and now - hits[0] >= self.window_seconds:
            hits.popleft()
        if len(hits) >= limit:
            raise ApiError(
                429,
                f"Quota exceeded for quota metric '{metric} requests' and limit '{metric} requests "
                f"per minute per user' of service 'sheets.googleapis.com' for consumer "
                f"'project_number:000000000000'.",
            )
        hits.append(now)


class Controls:
    """Counters, faults and quotas, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters = Counters()
        self.faults: list[Fault] = []
        self.quotas = Quotas()
        self.release = threading.Event()
        self.unpause = threading.Event()

    def reset(self) -> None:
        with self.lock:
            self.counters = Counters()
            self.quotas = Quotas()
        self.clear_faults()

    def count_deprecated(self, used: list[str]) -> None:
        """Count the deprecated fields a request used (``"<method> <body path>"`` each)."""
        if used:
            with self.lock:
                self.counters.deprecated_fields.update(used)

    def clear_faults(self) -> None:
        """Remove every fault; hung requests end and paused ones are served."""
        with self.lock:
            self.faults = []
            self.release.set()
            self.release = threading.Event()
        self.release_held()

    def hold(self, fault: Fault) -> None:
        """Hold a request a ``pause`` fault caught, before it takes the store lock (other
        requests go on), until :meth:`release_held` or ``hang_seconds`` (a test never hangs)."""
        with self.lock:
            fault.holding += 1
            gate = self.unpause
        try:
            gate.wait(fault.hang_seconds)
        finally:
            with self.lock:
                fault.holding -= 1

    def release_held(self) -> int:
        """Let every held request go on; returns how many the current faults held."""
        with self.lock:
            held = sum(f.holding for f in self.faults)
            self.unpause.set()
            self.unpause = threading.Event()
        return held

    def add_fault(self, body: dict[str, Any]) -> Fault:
        fault = Fault.from_json(body)
        with self.lock:
            self.faults.append(fault)
        return fault

    def fault_for(self, method: str, path: str, kind: str) -> Fault | None:
        """The fault that fires on this request, if any (each matching fault counts it)."""
        with self.lock:
            firing = None
            for fault in self.faults:
                if fault.fired >= fault.times or not fault.matches(method, path, kind):
                    continue
                fault.seen += 1
                if fault.seen >= fault.nth and firing is None:
                    fault.fired += 1
                    firing = fault
            return firing
