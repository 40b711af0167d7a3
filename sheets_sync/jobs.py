"""Refresh jobs: queue-or-join a sync per destination, and run it in this process.

docs/design.md §8. A menu click, a script and the nightly cron may all ask for
the same spreadsheet within seconds, from several gunicorn workers or
instances. A second request must get the run already on its way, not a twin:

- :func:`queue_or_join` looks for a ``queued`` or ``running`` sync of that
  destination in ``sync_runs`` that covers the tabs asked for and returns it
  (joined); else it widens a queued one to the union of tabs (joined), or
  records a new queued run, as one critical section shared by every process.
  A running run is never widened (it has read its data): a refresh asking for
  more gets a new queued run that follows it. On
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
- A run is alive only while it holds its destination's lock
  (:func:`sheets_sync.locks.run_holds_lock`; PostgreSQL: a session named for
  the run holds the advisory lock, SQLite: its lease is renewed). ``run_sync``
  takes the lock, with the run's id, *before* it marks the run running, and
  records the run's end before letting go, so a ``running`` sync whose lock is
  free is dead — killed or crashed — from that moment, however recently it
  started (:func:`_why_dead`). A ``queued`` one holds no lock yet (it waits in
  an executor, a Cloud Tasks queue, or for the lock) and is dead only when
  older than ``SHEETS_SYNC_JOB_TIMEOUT_SECONDS``. A dead run is never joined:
  it is marked failed inside the critical section before a run is queued, at
  start-up (:func:`sweep_stale`), and by the next run that takes its
  destination's lock (``run_sync``, whoever starts it: the CLI too).
- :class:`InProcessExecutor` runs queued runs on a bounded thread pool, so a
  run outlives the HTTP request that asked for it and still records its
  result; the pool's threads are joined at interpreter exit. The Cloud Tasks
  executor (:mod:`sheets_sync.tasks`) hands the run to a queue instead; both
  end in :func:`run_queued`, which starts a run only if it is still queued with
  the tabs it read (:func:`runs.claim_run`), so a run delivered twice runs once.

This module never imports Flask: the webhook, the CLI and tests share it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync import runs
from sheets_sync.batching import GroupCall
from sheets_sync.config import Settings
from sheets_sync.db import sqlite_immediate
from sheets_sync.destinations import parse_destination
from sheets_sync.errors import DatabaseError, NotStarted, RunChanged, TransientError
from sheets_sync.locks import advisory_key, lock_key, run_holds_lock
from sheets_sync.schema import sync_runs
from sheets_sync.sync_processes import SyncProcesses

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
POLL_SECONDS = 1.0
"""How often a follow-up (the nightly alerts) checks whether its runs have ended."""
KIND = "sync"

IS_ACTIVE = (sync_runs.c.status == ACTIVE[0]) | (sync_runs.c.status == ACTIVE[1])
"""``status IN ('queued', 'running')`` without a list SQLAlchemy expands at each execution."""
RUN_STATE = tuple(
    sync_runs.c[name]
    for name in ("run_id", "spreadsheet", "status", "tabs", "queued_at", "started_at")
)
"""What joining and the liveness rule read of a run: each column more is driver work per row."""
ACTIVE_RUNS = (
    select(*RUN_STATE)
    .where((sync_runs.c.spreadsheet == bindparam("name")) & (sync_runs.c.kind == KIND) & IS_ACTIVE)
    .order_by(sync_runs.c.queued_at)
)
"""The runs a refresh may join. Built once: on the path every refresh takes,
building a statement anew cost more CPU than running it."""
ACTIVE_RUNS_OF = (
    select(*RUN_STATE)
    .where(
        sync_runs.c.spreadsheet.in_(bindparam("names", expanding=True))
        & (sync_runs.c.kind == KIND)
        & IS_ACTIVE
    )
    .order_by(sync_runs.c.queued_at)
)
"""The same for several destinations: the read a batch of refreshes shares."""

DIED = (
    "the process running it stopped (killed or crashed), as it no longer holds "
    "the spreadsheet's lock"
)
"""Why a ``running`` run whose lock is free is failed (:func:`_why_dead`)."""


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
    """The active sync of ``destination`` covering ``tabs`` (joined), else a queued one.

    ``tabs`` empty means every tab. A run joins only a run that covers what it
    asks for: a queued run that does not is widened to the union of both (it has
    not read anything yet); a running one is not, and a new queued run follows it.
    """
    name = destination_name(destination)
    wanted = tuple(tabs)
    live = _live_run(engine, settings, name, wanted)
    if live is not None:
        return Ticket(live, joined=True)
    with _exclusive(engine, name) as conn:
        _sweep(conn, settings, name)
        joined = _join(conn, name, wanted)
        if joined is not None:
            return joined
        run_id = runs.queue_run(
            engine, name, trigger, requested_by, tabs, kind=KIND, connection=conn
        )
    return Ticket(run_id, joined=False)


def _live_run(engine: Engine, settings: Settings, name: str, wanted: tuple[str, ...]) -> str | None:
    """The run a request would join, found by reads alone; None sends it to the locked path.

    Most refreshes of a busy spreadsheet join a run on its way that covers
    their tabs, and such a join writes nothing: only widening a queued run or
    queueing a new one needs the exclusive section (on SQLite the whole
    database's write lock, which every request waited for under load). The
    run is the one :func:`_join` would pick (the first active run covering
    ``wanted``), taken only when every active run of the destination is alive
    by the very rule the sweep uses (:func:`_why_dead`): if any is dead, the
    request goes on to the locked path, which sweeps it and joins, widens or
    queues afresh — so a dead run is never joined, and is failed as soon as a
    refresh of its spreadsheet comes, as before.

    The requests of a process asking at the same time share one read
    (:class:`~sheets_sync.batching.GroupCall`), which starts after all of them
    asked: each sees the runs as they were after its request arrived.
    """
    return _live_reader(engine)((settings, name, wanted))


LiveAsk = tuple[Settings, str, tuple[str, ...]]
_LIVE_READERS: weakref.WeakKeyDictionary[Engine, GroupCall[LiveAsk, str | None]] = (
    weakref.WeakKeyDictionary()
)
_LIVE_READERS_LOCK = threading.Lock()


def _live_reader(engine: Engine) -> GroupCall[LiveAsk, str | None]:
    with _LIVE_READERS_LOCK:
        reader = _LIVE_READERS.get(engine)
        if reader is None:
            reader = _LIVE_READERS[engine] = GroupCall(functools.partial(_live_runs, engine))
        return reader


def _live_runs(engine: Engine, asks: Sequence[LiveAsk]) -> list[str | None]:
    """:func:`_live_run` for a batch of asks, in one read outside any transaction.

    PostgreSQL reads in autocommit (no BEGIN and ROLLBACK round trips); SQLite's
    driver opens no transaction for a SELECT, and asking it for autocommit would
    cost two statements when the connection goes back to the pool.
    """
    names = sorted({name for _, name, _ in asks})
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        if len(names) == 1:  # the usual batch: no list to expand into the statement
            rows = conn.execute(ACTIVE_RUNS, {"name": names[0]}).mappings().all()
        else:
            rows = conn.execute(ACTIVE_RUNS_OF, {"names": names}).mappings().all()
        now = runs.utcnow()
        active: dict[str, list[RowMapping]] = {name: [] for name in names}
        for row in rows:
            active[row["spreadsheet"]].append(row)
        # each running run's lock looked at once, however many asks share the read
        running = (str(row["run_id"]) for row in rows if row["status"] == "running")
        held = {run_id for run_id in running if run_holds_lock(conn, run_id)}
        return [
            _joinable(settings, active[name], held.__contains__, wanted, now)
            for settings, name, wanted in asks
        ]


def _joinable(
    settings: Settings,
    active: Sequence[RowMapping],
    holds_lock: Callable[[str], bool],
    wanted: tuple[str, ...],
    now: dt.datetime,
) -> str | None:
    if any(_why_dead(settings, run, now, holds_lock) is not None for run in active):
        return None  # the locked path sweeps it, as every refresh did before
    run = next((r for r in active if covers(r["tabs"], wanted)), None)
    return None if run is None else str(run["run_id"])


def _active_runs(conn: Connection, name: str) -> Sequence[RowMapping]:
    """The queued and running syncs of ``name``, oldest first."""
    return conn.execute(ACTIVE_RUNS, {"name": name}).mappings().all()


def _join(conn: Connection, name: str, wanted: tuple[str, ...]) -> Ticket | None:
    """The first active run covering ``wanted``, else a queued run widened to it, else None."""
    active = _active_runs(conn, name)
    for run in active:
        if covers(run["tabs"], wanted):
            return Ticket(str(run["run_id"]), joined=True)
    for run in active:
        if run["status"] == "queued" and _widen(conn, str(run["run_id"]), run["tabs"], wanted):
            return Ticket(str(run["run_id"]), joined=True)
    return None


def covers(recorded: str | None, wanted: Sequence[str]) -> bool:
    """Whether a run of ``recorded`` tabs (``sync_runs.tabs``; None = all) syncs ``wanted``."""
    if recorded is None:
        return True
    return bool(wanted) and set(wanted) <= set(recorded.split(", "))


def _widen(conn: Connection, run_id: str, recorded: str | None, wanted: Sequence[str]) -> bool:
    """Add ``wanted`` to a queued run's tabs, only if it is still queued with ``recorded``.

    Conditional, like :func:`runs.claim_run`: a runner that claimed the run in
    between wins, and the caller queues a new run instead.
    """
    tabs = recorded.split(", ") if recorded else []
    union = ", ".join([*tabs, *(t for t in wanted if t not in tabs)]) if wanted else None
    c = sync_runs.c
    same = c.tabs.is_(None) if recorded is None else c.tabs == recorded
    widened = conn.execute(
        update(sync_runs)
        .where((c.run_id == run_id) & (c.status == "queued") & same)
        .values(tabs=union)
    )
    return widened.rowcount == 1


def sweep_stale(engine: Engine, settings: Settings, destination: str | None = None) -> list[str]:
    """Mark dead runs failed (all destinations, or one); return their ids."""
    with engine.begin() as conn:
        return _sweep(conn, settings, destination)


def fail_dead_running(engine: Engine, settings: Settings, destination: str) -> list[str]:
    """Mark failed the ``running`` syncs of ``destination`` that do not hold its lock.

    Called by ``run_sync`` once it holds the lock itself, so the next run of a
    spreadsheet — a CLI sync as much as a refresh — fails a run killed while it
    held it. Queued runs are left alone: one may be the caller's own, delivered late.
    """
    with engine.begin() as conn:
        return _sweep(conn, settings, destination, statuses=("running",))


@contextlib.contextmanager
def _exclusive(engine: Engine, name: str) -> Iterator[Connection]:
    """One transaction at a time per destination, across processes (see the module doc)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            key = advisory_key("queue " + lock_key(name))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            yield conn
        return
    with engine.connect() as conn, sqlite_immediate(conn):
        yield conn


def _sweep(
    conn: Connection,
    settings: Settings,
    destination: str | None,
    statuses: Sequence[str] = ACTIVE,
) -> list[str]:
    """Fail dead runs (of ``statuses``) inside the caller's transaction."""
    now = runs.utcnow()
    where = (sync_runs.c.kind == KIND) & sync_runs.c.status.in_(statuses)
    if destination is not None:
        where &= sync_runs.c.spreadsheet == destination
    candidates = conn.execute(select(sync_runs).where(where)).mappings().all()
    swept = []
    holds_lock = functools.partial(run_holds_lock, conn)
    for run in candidates:
        why = _why_dead(settings, run, now, holds_lock)
        if why is None:
            continue
        _fail(conn, run, now, f"marked failed: {why}; request the sync again")
        swept.append(str(run["run_id"]))
    if swept:
        log.warning("marked %d dead run(s) failed: %s", len(swept), ", ".join(swept))
    return swept


def _why_dead(
    settings: Settings, run: RowMapping, now: dt.datetime, holds_lock: Callable[[str], bool]
) -> str | None:
    """Why an active run is dead (then it is failed, never joined), or None while it lives.

    A queued run has not taken its lock yet: it is dead once it waited longer
    than any executor or queue would keep it. A running run is alive exactly
    while it holds its lock (``holds_lock(run_id)``, :func:`locks.run_holds_lock`):
    ``run_sync`` took the lock before marking it running, so there is no
    moment when a live running run is without it, and no grace to wait out.
    """
    if run["status"] == "queued":
        if run["queued_at"] >= now - dt.timedelta(seconds=settings.job_timeout_seconds):
            return None
        return (
            f"never started within {settings.job_timeout_seconds:g} s "
            "(SHEETS_SYNC_JOB_TIMEOUT_SECONDS): the process that queued it stopped"
        )
    return None if holds_lock(str(run["run_id"])) else DIED


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


class InProcessExecutor:
    """Runs queued runs on at most ``workers`` threads of this process.

    A run is started only if it is still queued (a sweep may have failed it);
    whatever happens, it ends succeeded or failed in ``sync_runs``.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        workers: int = 4,
        processes: SyncProcesses | None = None,
    ) -> None:
        self.engine, self.settings = engine, settings
        self.processes = processes
        """With ``processes``, each thread waits on a child process running the sync."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheets-sync-job")
        self._lock = threading.Lock()
        self._follow_ups: list[threading.Thread] = []
        self._not_started: dict[str, tuple[Job, float]] = {}
        """Per destination name, the run handed over and not started, and when it came."""

    def submit(self, job: Job) -> Future[None]:
        with self._lock:
            self._not_started[destination_name(job.destination)] = (job, time.monotonic())
            return self._pool.submit(self._run, job)

    def not_started(self, name: str, wanted: Sequence[str]) -> str | None:
        """A run of ``name`` this executor holds and has not started, if it covers ``wanted``.

        Joining it needs no read: it has not read anything yet, and it is struck
        from here before it is claimed, so whoever joins it before that is
        synced by it. (With the pacing interval a run waits here for seconds,
        while the refreshes of a busy sheet keep coming.) A run widened since by
        another process may cover more than ``job.tabs``: asking the database
        then is merely the slower path.
        """
        with self._lock:
            job, submitted = self._not_started.get(name, (None, 0.0))
        if job is None or (job.tabs and not (wanted and set(wanted) <= set(job.tabs))):
            return None
        if time.monotonic() - submitted > self.settings.job_timeout_seconds / 2:
            return None  # the pool is that busy: a sweep may soon take it for dead
        return job.run_id

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let the queued runs and follow-ups finish."""
        self._pool.shutdown(wait=wait)
        if self.processes is not None:
            self.processes.shutdown(wait=wait)
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
        self._pace(job)
        with self._lock:  # from now on it may read: nobody joins it blind
            name = destination_name(job.destination)
            if self._not_started.get(name, (None,))[0] is job:
                del self._not_started[name]
        if self.processes is not None:
            self.processes.run(self.engine, job)
        else:
            run_job(self.engine, self.settings, job)

    def _pace(self, job: Job) -> None:
        """Wait until the spreadsheet's last run started ``min_sync_interval_seconds`` ago.

        A flood of refreshes of one spreadsheet (a script in a loop, a team
        clicking Refresh) would otherwise run one sync after another, each a
        handful of Sheets writes, towards the API's 60 writes a minute per user.
        queue.yaml paces Cloud Tasks (10 a minute, all spreadsheets); this paces
        each spreadsheet on the in-process executor. The run stays queued while
        it waits, so the refreshes arriving meanwhile join it.
        """
        interval = self.settings.min_sync_interval_seconds
        if interval <= 0:
            return
        started = runs.last_start(self.engine, destination_name(job.destination))
        if started is not None:
            wait = (started - runs.utcnow()).total_seconds() + interval
            time.sleep(min(max(wait, 0.0), interval))


def run_job(engine: Engine, settings: Settings, job: Job) -> Outcome:
    """Run a queued job to its end, its log lines stamped with its run and request ids."""
    token = RUN_CONTEXT.set(job)
    try:
        outcome = run_queued(engine, settings, job.run_id, job.filters)
        if not outcome.ran:
            log.warning("run %s is no longer queued; not started", job.run_id)
        elif outcome.status == "succeeded":
            log.info("run %s succeeded", job.run_id)
        return outcome
    finally:
        RUN_CONTEXT.reset(token)


@dataclass(frozen=True)
class Outcome:
    """What :func:`run_queued` did: ``ran`` it, or found it ``status`` (None = no such run)."""

    run_id: str
    status: str | None
    ran: bool


MAX_CLAIMS = 20
"""Tries to start a run whose tabs keep being widened (each widening adds a tab)."""


def run_queued(
    engine: Engine,
    settings: Settings,
    run_id: str,
    filters: Mapping[str, tuple[str, ...]] | None = None,
    *,
    retry_unstarted: bool = False,
) -> Outcome:
    """Run a queued run to its end with the tabs its row holds now; leave any other run be.

    The in-process executor and the Cloud Tasks endpoint share it, so a run
    delivered twice runs once (:func:`runs.claim_run`). With ``retry_unstarted``
    a run that could not start for a passing reason (lock busy, database gone)
    stays queued and the :class:`TransientError` is raised for the queue to retry;
    otherwise (and for other errors) it ends failed.
    """
    for _ in range(MAX_CLAIMS):
        run = runs.get_run(engine, run_id)
        if run is None or run["status"] != "queued":
            return Outcome(run_id, run["status"] if run else None, ran=False)
        try:
            _sync(engine, settings, run, filters)
        except RunChanged:
            continue
        except NotStarted as not_started:
            if not _still_queued(engine, run_id):
                continue  # another delivery took it meanwhile: report its state
            error = not_started.__cause__ or not_started
            if retry_unstarted and _transient(error):
                raise error from None
            return _failed(engine, run_id, error)
        except BaseException as error:
            if retry_unstarted and _transient(error) and _still_queued(engine, run_id):
                raise
            return _failed(engine, run_id, error)
        return Outcome(run_id, "succeeded", ran=True)
    raise RunChanged(f"run {run_id} was changed {MAX_CLAIMS} times while starting; retry")


def _failed(engine: Engine, run_id: str, error: BaseException) -> Outcome:
    _fail_if_still_queued(engine, run_id, error)
    log.error("run %s failed: %s", run_id, runs.describe_error(error))
    return Outcome(run_id, "failed", ran=True)


def _sync(
    engine: Engine,
    settings: Settings,
    run: Mapping[str, Any],
    filters: Mapping[str, tuple[str, ...]] | None,
) -> None:
    from sheets_sync.sync import run_sync

    run_sync(
        engine,
        settings,
        str(run["spreadsheet"]),
        tabs=run["tabs"].split(", ") if run["tabs"] else None,
        trigger=str(run["trigger"]),
        requested_by=run["requested_by"],
        filters=filters or None,
        run_id=str(run["run_id"]),
        fail_unstarted=False,
    )


def _transient(error: BaseException) -> bool:
    return isinstance(error, TransientError | SQLAlchemyError | DatabaseError)


def _still_queued(engine: Engine, run_id: str) -> bool:
    with contextlib.suppress(Exception):
        run = runs.get_run(engine, run_id)
        return run is not None and run["status"] == "queued"
    return True  # the database is gone: nothing was recorded, so it is still queued


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
        runs.mark_failed(engine, run_id, error, only_if="queued")


def request_sync(
    engine: Engine,
    settings: Settings,
    executor: InProcessExecutor,
    job: Job,
) -> Ticket:
    """Queue-or-join ``job.destination``; a new run is handed to ``executor``.

    A run this process's executor holds and has not started is joined without
    asking the database (:meth:`InProcessExecutor.not_started`).
    """
    waiting = executor.not_started(destination_name(job.destination), job.tabs)
    if waiting is not None:
        return Ticket(waiting, joined=True)
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
