"""One client's door to the shared Sheets quota: a place before each request, waited for.

A :class:`QuotaGovernor` belongs to one HTTP client, so to one run (a sync, a
push): it waits for a place in the window of the request's kind
(:mod:`.store`), sleeping until the earliest counted request leaves the window,
and adds up what the run waited. A run waits at most ``max_wait_seconds`` in
all (``SHEETS_SYNC_QUOTA_WAIT_SECONDS``): past that the request fails with a
:class:`~sheets_sync.errors.QuotaWaitError`, so a run never outlives the
request or task that runs it just waiting.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.config.parts import SheetsSettings
from sheets_sync.errors import QuotaWaitError
from sheets_sync.quota import store
from sheets_sync.quota.store import Bucket

log = logging.getLogger(__name__)

IN_FLIGHT_POLL_SECONDS = 0.25
"""How often a waiter looks again while the earliest counted request is still in flight
(its answer may come any moment, and its place a window after)."""
SETTLE_LOCK_SECONDS = 5.0
"""How long settling waits for SQLite's write lock; after that the pessimistic end stays
(the place frees a little later, never sooner)."""


@dataclass(frozen=True)
class QuotaRules:
    """Requests per window by kind (0: not governed), the window, and a run's longest wait."""

    limits: Mapping[str, int]
    window_seconds: float = 60.0
    max_wait_seconds: float = 300.0

    @classmethod
    def from_settings(cls, sheets: SheetsSettings) -> QuotaRules:
        limits = {"read": sheets.quota_reads_per_minute, "write": sheets.quota_writes_per_minute}
        return cls(limits, sheets.quota_window_seconds, sheets.quota_wait_seconds)


@dataclass(frozen=True)
class Place:
    """A request's place in the window, to settle once its answer came."""

    bucket: Bucket
    end: str


class QuotaGovernor:
    """Takes a place in ``account``'s shared quota before each request, waiting its turn."""

    def __init__(
        self,
        engine: Engine,
        account: str,
        rules: QuotaRules,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine, self.account, self.rules = engine, account, rules
        self.clock, self.sleep = clock, sleep
        self.waited_seconds = 0.0
        """All this governor's requests waited, a failed wait included."""
        self.taken: Counter[str] = Counter()

    def take(self, kind: str, hold_seconds: float) -> Place | None:
        """A place for one ``kind`` request, which may last ``hold_seconds``; None when the
        kind is not governed. Waits while the window is full, within the run's budget."""
        limit = self.rules.limits.get(kind, 0)
        if limit <= 0:
            return None
        bucket, started, waited = Bucket(self.account, kind), self.clock(), 0.0
        while True:
            left = self.rules.max_wait_seconds - self.waited_seconds - waited
            taken = store.take(
                self.engine, bucket, limit, self.rules.window_seconds, hold_seconds,
                waited=waited, lock_wait=max(left, 1.0),
            )  # fmt: skip
            if taken.end is not None:
                self.waited_seconds += waited
                self.taken[kind] += 1
                return Place(bucket, taken.end)
            if left <= 0:
                self.waited_seconds += waited
                raise self._gave_up(kind, limit)
            if waited == 0.0:
                log.info("sheets quota: %s's %s window is full; waiting up to %.1f s",
                         self.account, kind, taken.wait_seconds)  # fmt: skip
            pause = taken.wait_seconds if taken.exact else IN_FLIGHT_POLL_SECONDS
            self.sleep(max(min(pause, taken.wait_seconds, left), 0.001))
            waited = self.clock() - started

    def settle(self, place: Place | None) -> None:
        """The request's answer came (or it failed): it counts a window from now. A database
        error is only logged: the pessimistic end stays and lapses on its own."""
        if place is None:
            return
        try:
            store.settle(
                self.engine, place.bucket, place.end, self.rules.window_seconds,
                SETTLE_LOCK_SECONDS,
            )  # fmt: skip
        except SQLAlchemyError as error:
            log.warning("sheets quota: could not settle a %s request (%s)", place.bucket.kind,
                        str(error).splitlines()[0])  # fmt: skip

    def _gave_up(self, kind: str, limit: int) -> QuotaWaitError:
        rules = self.rules
        return QuotaWaitError(
            f"waited {self.waited_seconds:.1f} s for Google Sheets {kind} quota and gave up: "
            f"other syncs and pushes are using all of the {limit} {kind} requests per "
            f"{rules.window_seconds:g} s that {self.account} may send "
            f"({ENV_PREFIX}QUOTA_{kind.upper()}S_PER_MINUTE), longer than a run may wait "
            f"({ENV_PREFIX}QUOTA_WAIT_SECONDS={rules.max_wait_seconds:g}); request the run "
            "again later, or spread the runs out",
            self.waited_seconds,
        )
