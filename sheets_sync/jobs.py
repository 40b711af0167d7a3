"""Refresh jobs: queue-or-join a sync per destination, and run it in this process.

docs/design.md §8. A menu click, a script and the nightly cron may all ask for
the same spreadsheet within seconds, from several gunicorn workers or
instances. A second request must get the run already on its way, not a twin:

- :func:`queue_or_join` looks for a ``queued`` or ``running`` sync of that
  destination in ``sync_runs`` and returns it (joined), or records a new
  queued run, as one critical section shared by every process. On
  PostgreSQL the section is a *transaction-scoped* advisory lock
  (``pg_advisory_xact_lock``) keyed on the destination: the look-up and the
  insert happen under it, and commit releases it, so the next caller's look-up
  (a fresh READ COMMITTED snapshot) sees the row. It needs no schema change
  and serialises only requests for the same destination. (A partial unique
  index on ``spreadsheet WHERE status IN ('queued','running')`` would also
  work, but a CLI run queued while a refresh is running — a legitimate
  queue of two, see :func:`sheets_sync.sync.run_sync` — would then break
  it.) On SQLite the section is ``BEGIN IMMEDIATE``: the whole database's
  write lock, taken before the look-up, which SQLite has anyway.
- Joining needs no write: the oldest active run is read first, outside the
  critical section, and joined when it is alive (:func:`_live_run`). Only a
  request that finds none, or a dead one, enters the section, so under a
  burst of refreshes nearly all of them take no lock at all.
- A run whose process died must not be joined forever: a ``running`` sync
  whose destination lock is no longer held by it, and a ``queued`` one older
  than ``SHEETS_SYNC_JOB_TIMEOUT_SECONDS``, are dead (:func:`_why_dead`):
  never joined, and marked failed inside the critical section before a new
  run is queued (and at start-up, :func:`sweep_stale`). ``run_sync`` holds
  the destination lock (:mod:`sheets_sync.locks`) from ``running`` to the
  end, so a running run without its lock is a dead one.
- :class:`InProcessExecutor` runs queued runs on a bounded thread pool, so a
  run outlives the HTTP request that asked for it and still records its
  result; the pool's threads are joined at interpreter exit.

This module never imports Flask: the webhook, the CLI and tests share it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from sheets_sync import runs
from sheets_sync.config import Settings
from sheets_sync.destinations import parse_destination
from sheets_sync.locks import advisory_key, lock_key
from sheets_sync.schema import sync_locks, sync_runs

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
POLL_SECONDS = 1.0
"""How often a follow-up (the nightly alerts) checks whether its runs have ended."""
KIND = "sync"

OLDEST_ACTIVE = (
    select(sync_runs)
    .where(
        (sync_runs.c.spreadsheet == bindparam("name"))
        & (sync_runs.c.kind == KIND)
        & sync_runs.c.status.in_(ACTIVE)
    )
    .order_by(sync_runs.c.queued_at)
    .limit(1)
)
"""The run a refresh joins. Built once, like :data:`LOCK_NOTE`: on the path every
refresh takes, building a statement anew cost more CPU than running it."""
LOCK_NOTE = select(sync_locks).where(sync_locks.c.destination == bindparam("key"))


@dataclass(frozen=True)
class Ticket:
    """The run a request got: ``joined`` when it was already queued or running."""

    run_id: str
    joined: bool


@dataclass(frozen=True)
class Job:
    """What the executor needs to run a queued run (``tabs`` empty = every tab)."""

    run_id: str
    destination: str
    tabs: tuple[str, ...] = ()
    trigger: str = "api"
    requested_by: str | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    request_id: str | None = None
    """The id of the request that queued the run, stamped on the run's log lines."""


RUN_CONTEXT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("run", default=None)
"""The job the current executor thread runs, for log lines made outside any request."""


def destination_name(spec: str) -> str:
    """The destination as ``run_sync`` records it in ``sync_runs.spreadsheet``."""
    destination = parse_destination(spec)
    if destination.kind == "xlsx":
        return f"xlsx:{Path(destination.target).expanduser()}"
    return str(destination)


def queue_or_join(
    engine: Engine,
    settings: Settings,
    destination: str,
    *,
    trigger: str,
    requested_by: str | None = None,
    tabs: Sequence[str] = (),
) -> Ticket:
    """The active sync of ``destination`` (joined), else a newly queued one.

    A join ignores ``tabs``: one sync of a spreadsheet at a time is the point,
    so a refresh of all tabs arriving while a one-tab refresh is queued gets
    that run (its ``tabs`` say what it covers).
    """
    name = destination_name(destination)
    live = _live_run(engine, settings, name)
    if live is not None:
        return Ticket(live, joined=True)
    with _exclusive(engine, name) as conn:
        _sweep(conn, settings, name)
        active = _oldest_active(conn, name)
        if active is not None:
            return Ticket(str(active["run_id"]), joined=True)
        run_id = runs.queue_run(
            engine, name, trigger, requested_by, tabs, kind=KIND, connection=conn
        )
    return Ticket(run_id, joined=False)


def _live_run(engine: Engine, settings: Settings, name: str) -> str | None:
    """The run a request would join, found by reads alone; None sends it to the locked path.

    Most refreshes of a busy spreadsheet join a run on its way, and a join
    writes nothing: only the queue-or-insert needs the exclusive section (on
    SQLite the whole database's write lock, which every request waited for
    under load). The run is judged alive by the very rule the sweep uses
    (:func:`_why_dead`), so a dead run is never joined here: its request goes
    on to the locked path, which sweeps it and queues afresh. Autocommitted
    reads: on PostgreSQL no BEGIN and ROLLBACK round trips around them.
    """
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        run = _oldest_active(conn, name)
        if run is None or _why_dead(conn, settings, run, runs.utcnow()) is not None:
            return None
        return str(run["run_id"])


def _oldest_active(conn: Connection, name: str) -> RowMapping | None:
    """The queued or running sync of ``name`` a request joins (the oldest, if two are queued)."""
    return conn.execute(OLDEST_ACTIVE, {"name": name}).mappings().first()


def sweep_stale(engine: Engine, settings: Settings, destination: str | None = None) -> list[str]:
    """Mark dead runs failed (all destinations, or one); return their ids."""
    with engine.begin() as conn:
        return _sweep(conn, settings, destination)


@contextlib.contextmanager
def _exclusive(engine: Engine, name: str) -> Iterator[Connection]:
    """One transaction at a time per destination, across processes (see the module doc)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            key = advisory_key("queue " + lock_key(name))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            yield conn
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")  # we issue BEGIN ourselves
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def _sweep(conn: Connection, settings: Settings, destination: str | None) -> list[str]:
    """Fail dead runs inside the caller's transaction."""
    now = runs.utcnow()
    where = (sync_runs.c.kind == KIND) & sync_runs.c.status.in_(ACTIVE)
    if destination is not None:
        where &= sync_runs.c.spreadsheet == destination
    candidates = conn.execute(select(sync_runs).where(where)).mappings().all()
    swept = []
    for run in candidates:
        why = _why_dead(conn, settings, run, now)
        if why is None:
            continue
        _fail(conn, run, now, f"marked failed: {why}; request the sync again")
        swept.append(str(run["run_id"]))
    if swept:
        log.warning("marked %d dead run(s) failed: %s", len(swept), ", ".join(swept))
    return swept


def _why_dead(
    conn: Connection, settings: Settings, run: RowMapping, now: dt.datetime
) -> str | None:
    """Why an active run is dead (then it is failed, never joined), or None while it lives."""
    if run["status"] == "queued":
        if run["queued_at"] >= now - dt.timedelta(seconds=settings.job_timeout_seconds):
            return None
        return (
            f"never started within {settings.job_timeout_seconds:g} s "
            "(SHEETS_SYNC_JOB_TIMEOUT_SECONDS): the process that queued it stopped"
        )
    running_grace = dt.timedelta(seconds=settings.lock_lease_seconds)
    if (run["started_at"] or now) >= now - running_grace or _lock_held_by(
        conn, run["spreadsheet"], run["run_id"]
    ):
        return None
    return "its process stopped while it ran (it no longer holds the spreadsheet's lock)"


def _fail(conn: Connection, run: RowMapping, now: dt.datetime, message: str) -> None:
    started = run["started_at"]
    conn.execute(
        update(sync_runs)
        .where((sync_runs.c.run_id == run["run_id"]) & sync_runs.c.status.in_(ACTIVE))
        .values(
            status="failed",
            finished_at=now,
            duration_seconds=round((now - started).total_seconds(), 3) if started else None,
            error=message,
        )
    )


def _lock_held_by(conn: Connection, destination: str, run_id: str) -> bool:
    """Whether ``run_id`` still holds ``destination``'s run lock (a live process).

    Read on the caller's connection: a second one per request could exhaust the
    pool while twenty requests wait for the queue lock.
    """
    key = lock_key(destination)
    note = conn.execute(LOCK_NOTE, {"key": key}).first()
    if note is None or note.run_id != run_id:
        return False
    if conn.dialect.name != "postgresql":
        return note.expires_at is not None and note.expires_at > runs.utcnow()
    unsigned = advisory_key(key) & 0xFFFFFFFFFFFFFFFF
    query = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
    )
    return bool(conn.execute(query, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).scalar())


class InProcessExecutor:
    """Runs queued runs on at most ``workers`` threads of this process.

    A run is started only if it is still queued (a sweep may have failed it);
    whatever happens, it ends succeeded or failed in ``sync_runs``.
    """

    def __init__(self, engine: Engine, settings: Settings, workers: int = 4) -> None:
        self.engine, self.settings = engine, settings
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheets-sync-job")
        self._lock = threading.Lock()
        self._follow_ups: list[threading.Thread] = []

    def submit(self, job: Job) -> Future[None]:
        with self._lock:
            return self._pool.submit(self._run, job)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let the queued runs and follow-ups finish."""
        self._pool.shutdown(wait=wait)
        for follow_up in list(self._follow_ups) if wait else []:
            follow_up.join()

    def after(self, run_ids: Sequence[str], name: str, task: Callable[[], object]) -> None:
        """Run ``task`` once every run of ``run_ids`` has ended (whichever process runs it).

        On a thread of its own, not the pool's: waiting on a pool thread could
        hold the very worker the runs wait for.
        """

        def follow_up() -> None:
            try:
                wait_for_runs(self.engine, run_ids, self.settings.job_timeout_seconds)
                task()
            except Exception as error:
                log.error("%s failed: %s", name, runs.describe_error(error))

        thread = threading.Thread(target=follow_up, name=f"sheets-sync-{name}")
        self._follow_ups.append(thread)
        thread.start()

    def _run(self, job: Job) -> None:
        token = RUN_CONTEXT.set(job)
        try:
            self._start(job)
        finally:
            RUN_CONTEXT.reset(token)

    def _start(self, job: Job) -> None:
        from sheets_sync.sync import run_sync

        run = runs.get_run(self.engine, job.run_id)
        if run is None or run["status"] != "queued":
            log.warning("run %s is no longer queued; not started", job.run_id)
            return
        try:
            run_sync(
                self.engine,
                self.settings,
                job.destination,
                tabs=list(job.tabs) or None,
                trigger=job.trigger,
                requested_by=job.requested_by,
                filters=job.filters or None,
                run_id=job.run_id,
            )
        except BaseException as error:
            _fail_if_still_queued(self.engine, job.run_id, error)
            log.error("run %s failed: %s", job.run_id, runs.describe_error(error))
            return
        log.info("run %s succeeded", job.run_id)


def wait_for_runs(engine: Engine, run_ids: Sequence[str], timeout: float) -> None:
    """Return once none of ``run_ids`` is queued or running (polled: other processes run some)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            query = select(sync_runs.c.run_id).where(
                sync_runs.c.run_id.in_(list(run_ids)) & sync_runs.c.status.in_(ACTIVE)
            )
            if conn.execute(query).first() is None:
                return
        time.sleep(POLL_SECONDS)


def _fail_if_still_queued(engine: Engine, run_id: str, error: BaseException) -> None:
    """``run_sync`` raises some errors (bad tab, no schema) before it takes the run over."""
    with contextlib.suppress(Exception):
        run = runs.get_run(engine, run_id)
        if run is not None and run["status"] == "queued":
            runs.mark_failed(engine, run_id, error)


def request_sync(
    engine: Engine,
    settings: Settings,
    executor: InProcessExecutor,
    job: Job,
) -> Ticket:
    """Queue-or-join ``job.destination``; a new run is handed to ``executor``."""
    ticket = queue_or_join(
        engine,
        settings,
        job.destination,
        trigger=job.trigger,
        requested_by=job.requested_by,
        tabs=job.tabs,
    )
    if not ticket.joined:
        executor.submit(dataclasses.replace(job, run_id=ticket.run_id))
    return ticket
