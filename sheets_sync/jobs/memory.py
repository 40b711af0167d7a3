"""The instance's memory budget: as many syncs at once as the instance's memory holds.

docs/design.md §8, docs/scaling.md ("Memory"). One sync of every tab of the
full-size demo peaks near 275 MB in its process; ``app.yaml``'s F2 instance
has 768 MB for its gunicorn workers and every sync they start. So each sync
*reserves* its estimated peak (:func:`estimate_mb`) from
``SHEETS_SYNC_MEMORY_BUDGET_MB`` before it starts, and gives it back when it
ends; one that would not fit waits, its run still ``queued`` (and joinable),
with the reason noted on the run. Waiters are served first come, first served
(a later one goes first only if everyone ahead of it fits too), so a Pricing
sync is not passed for ever by the small syncs arriving behind it;
one bigger than the whole budget runs once nothing else does: alone, never
refused.

The budget holds across the processes of one instance (its gunicorn
workers, each with its executor and task requests; app.yaml runs one, but
nothing here assumes it), so it lives where only they meet: a folder of the
instance's own disk (``/tmp`` on App Engine is the instance's), not the database, which every instance shares and which would
need each reservation to be swept after its process died. Each reservation is
a small file its process holds an exclusive ``flock`` on for as long as the
sync runs: the kernel lets go of it when the process ends, however it ends, so
a killed worker's reservation is free at once, and a reader tells a live
reservation from a dead one by trying the lock. A mutex file serialises the
look-ups; waiting is a poll of that folder (a handful of files).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import functools
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from sheets_sync.clock import utcnow
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.config.parts import JobsSettings
from sheets_sync.jobs import runs

log = logging.getLogger(__name__)

SYNC_BASE_MB = 113
"""A sync process's resident size before it computes anything (its imports; measured 113 MB)."""
TAB_SHARES: dict[str, float] = {
    "Pricing": 0.89,
    "Pricing opportunities": 0.10,
    "KPI Daily": 0.14,
    "KPI Weekly": 0.05,
    "KPI Monthly": 0.05,
    "Seller Scorecard": 0.03,
    "Quality": 0.03,
}
"""Each tab's share of a full sync's peak above :data:`SYNC_BASE_MB`. Pricing's and KPI
Daily's are measured (``bench/sync_memory.py`` at 1,000,000 orders, bench/RESULTS.md,
"Sync memory": 255 and 41 of a full sync's 285 MB above the imports); Pricing is the
widest tab, one row per ``price_grid`` row, and holds the win model's market grid.
Pricing opportunities (which shares that grid when both are synced) and the small
tabs' are allowances, not measured one by one."""
OTHER_SHARE = 0.03
"""A tab not in :data:`TAB_SHARES` (the small built-in ones, a team's own template)."""
POLL_SECONDS = 0.5
WAITING = "waiting for memory"
"""How the note on a run waiting for memory starts (then replaced by how long it waited)."""


def estimate_mb(jobs: JobsSettings, tabs: Sequence[str] | None) -> int:
    """The peak a sync of ``tabs`` (None or empty: every tab) is expected to reach, in MB.

    ``SHEETS_SYNC_SYNC_MEMORY_MB`` is a sync of every tab; fewer tabs cost the
    base plus their shares of the rest (never more than every tab).
    """
    full = jobs.sync_memory_mb
    if not tabs:
        return full
    share = min(1.0, sum(TAB_SHARES.get(t, OTHER_SHARE) for t in tabs))
    return min(full, round(SYNC_BASE_MB + (full - SYNC_BASE_MB) * share))


@dataclass(frozen=True)
class Waiting:
    """Why a sync waits: what it needs, what the running syncs hold, of what budget."""

    mb: int
    used: int
    budget: int
    running: int
    ahead: int

    def reason(self) -> str:
        queue = f", behind {self.ahead} other waiting sync(s)" if self.ahead else ""
        return (
            f"{WAITING}: needs ~{self.mb} MB; {self.running} sync(s) running on this "
            f"instance hold {self.used} of {self.budget} MB ({ENV_PREFIX}MEMORY_BUDGET_MB)"
            f"{queue}; it starts when they end"
        )

    def waited(self, seconds: float) -> str:
        return (
            f"waited {seconds:.1f} s for memory: needed ~{self.mb} MB while {self.running} "
            f"sync(s) on its instance held {self.used} of {self.budget} MB "
            f"({ENV_PREFIX}MEMORY_BUDGET_MB)"
        )


OnWait = Callable[[Waiting], None]


@dataclass(frozen=True)
class _Entry:
    """A live reservation or waiter, as its file says."""

    path: Path
    mb: int
    run_id: str


class MemoryBudget:
    """``budget_mb`` shared by every process reserving in ``directory``; 0: no budget."""

    def __init__(self, budget_mb: int, directory: Path, poll_seconds: float = POLL_SECONDS):
        self.budget_mb = budget_mb
        self.directory = directory
        self.poll_seconds = poll_seconds

    @classmethod
    def from_settings(cls, jobs: JobsSettings) -> MemoryBudget:
        return cls(jobs.memory_budget_mb, jobs.memory_budget_dir or default_directory())

    @contextlib.contextmanager
    def reserve(
        self, run_id: str, mb: int, on_wait: OnWait | None = None, wait: bool = True
    ) -> Iterator[float | None]:
        """Hold ``mb`` for the block; yields the seconds waited (None: not admitted).

        ``on_wait`` is told once, when the sync first has to wait. With
        ``wait=False`` a sync that does not fit at once is told so and not
        admitted (the block gets None and must not run it): a Cloud Tasks
        delivery hands the run back to its queue rather than hold a request thread.
        """
        if self.budget_mb <= 0:
            yield 0.0
            return
        started = time.monotonic()
        held = self._admit(run_id, mb, on_wait, wait)
        if held is None:
            yield None
            return
        fd, path = held
        try:
            yield time.monotonic() - started
        finally:
            path.unlink(missing_ok=True)
            os.close(fd)  # the lock goes with it (and with the process, however it ends)

    def _admit(
        self, run_id: str, mb: int, on_wait: OnWait | None, wait: bool
    ) -> tuple[int, Path] | None:
        """Queue a waiter's file, then poll until it is first and fits; it becomes the hold."""
        fd, path = self._enqueue(run_id, mb)
        told = False
        try:
            while True:
                waiting = self._try_hold(path, mb)
                if waiting is None:
                    return fd, path
                if on_wait is not None and not told:
                    on_wait(waiting)
                    told = True
                if not wait:
                    path.unlink(missing_ok=True)
                    os.close(fd)
                    return None
                time.sleep(self.poll_seconds)
        except BaseException:
            path.unlink(missing_ok=True)
            os.close(fd)
            raise

    def _enqueue(self, run_id: str, mb: int) -> tuple[int, Path]:
        """A file named to sort by arrival, locked by this process for the waiter's life."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        path = self.directory / name
        with self._mutex():
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps({"run_id": run_id, "mb": mb, "held": False}).encode())
        return fd, path

    def _try_hold(self, path: Path, mb: int) -> Waiting | None:
        """Turn the waiter into a reservation if it fits beside the reservations *and* every
        waiter ahead of it (passing them then delays none of them), or if it is first and
        nothing runs (it runs alone); otherwise say why it waits.

        Counting the waiters ahead rather than demanding to be first matters for two
        syncs arriving together that both fit: the later one may look before the
        earlier one has, and a delivery that does not wait would be refused for it.
        """
        with self._mutex():
            held, waiters = self._entries()
            used = sum(e.mb for e in held)
            ahead = next((i for i, e in enumerate(waiters) if e.path == path), len(waiters))
            ahead_mb = sum(e.mb for e in waiters[:ahead])
            if (not held and ahead == 0) or used + ahead_mb + mb <= self.budget_mb:
                _mark_held(path)
                return None
            return Waiting(mb, used, self.budget_mb, len(held), ahead)

    def _entries(self) -> tuple[list[_Entry], list[_Entry]]:
        """The live reservations and the live waiters (oldest first); dead ones are removed."""
        held: list[_Entry] = []
        waiters: list[_Entry] = []
        for path in sorted(self.directory.glob("*.json")):
            entry = _read_live(path)
            if entry is not None:
                (held if entry[1] else waiters).append(entry[0])
        return held, waiters

    @contextlib.contextmanager
    def _mutex(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / "budget.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def holders(self) -> list[str]:
        """The run ids holding memory now (for tests and diagnostics)."""
        with self._mutex():
            return [e.run_id for e in self._entries()[0]]


@contextlib.contextmanager
def admitted(
    budget: MemoryBudget, engine: Engine, jobs: JobsSettings, run_id: str, wait: bool = True
) -> Iterator[bool]:
    """The queued run's estimated peak held for the block (True; False: not admitted, with
    ``wait=False``). Why it waits is noted on the run while it waits, then how long it did.

    The tabs are read from the run as it is now, so a run widened since it was
    handed over counts what it will compute.
    """
    run = runs.get_run(engine, run_id)
    if run is None or run["status"] != "queued":
        yield True  # nothing to run: run_queued will say so
        return
    mb = estimate_mb(jobs, run["tabs"].split(", ") if run["tabs"] else None)
    told: list[Waiting] = []

    def on_wait(waiting: Waiting) -> None:
        told.append(waiting)
        runs.note_queued(engine, run_id, waiting.reason())
        log.info("run %s is %s", run_id, waiting.reason())

    with budget.reserve(run_id, mb, on_wait, wait) as waited:
        if waited is not None and told:
            runs.note_queued(engine, run_id, told[0].waited(waited))
        elif waited is not None and str(run["warnings"] or "").startswith(WAITING):
            runs.note_queued(engine, run_id, _handed_back(run["queued_at"]))
        yield waited is not None


def _handed_back(queued_at: dt.datetime) -> str:
    """What a run handed back to its queue for memory says once a delivery found room."""
    seconds = (utcnow() - queued_at).total_seconds()
    return (
        f"waited for memory: handed back to its queue while the instance had no room "
        f"({ENV_PREFIX}MEMORY_BUDGET_MB); started {seconds:.1f} s after it was queued"
    )


def _read_live(path: Path) -> tuple[_Entry, bool] | None:
    """The entry and whether it holds memory, if its process still locks it; else removed.

    A separate open of the file cannot take the lock while the process that made
    it holds it (``flock`` locks belong to the open file, even within one process).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            data = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return _Entry(path, int(data["mb"]), str(data["run_id"])), bool(data["held"])
        path.unlink(missing_ok=True)  # its process let go (ended, or ended the reservation)
        return None
    finally:
        os.close(fd)


def _mark_held(path: Path) -> None:
    """Rewrite the waiter's file as a reservation (under the mutex, the lock kept)."""
    fd = os.open(path, os.O_RDWR)
    try:
        data = json.loads(os.pread(fd, 4096, 0))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({**data, "held": True}).encode(), 0)
    finally:
        os.close(fd)


def default_directory() -> Path:
    """Where the reservations live unless ``SHEETS_SYNC_MEMORY_BUDGET_DIR`` says: the
    temporary folder every process of the instance shares (``/tmp`` on App Engine)."""
    return Path(tempfile.gettempdir()) / "sheets-sync-memory"


def give_back_freed() -> None:
    """Return the heap's freed pages to the system (glibc's ``malloc_trim``; elsewhere nothing).

    A gunicorn worker lives on after a pricing push; what the push allocated
    (the Pricing tab it read, the preview's market grid) is freed when it ends,
    but glibc keeps the pages for the process: over a soak of menu pushes each
    worker grew ~50 MB and stayed there (bench/soak.py), memory the budget no
    longer saw. Trimmed, the worker goes back to its resting size.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` among the symbols the process already has (None elsewhere):
    looked up once, not per push (``ctypes.util.find_library`` would run ``ldconfig``)."""
    return getattr(ctypes.CDLL(None), "malloc_trim", None)
