"""The queue: queue-or-join a sync per destination, and the dead-run sweep.

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
  queue of two, see :func:`sheets_sync.jobs.run.sync_now` — would then break
  it.) On SQLite the section is ``BEGIN IMMEDIATE``: the whole database's
  write lock, taken before the look-up, which SQLite has anyway.
- Joining needs no write: the oldest active run is read first, outside the
  critical section, and joined when it is alive (:func:`_live_run`). Only a
  request that finds none, or a dead one, enters the section, so under a
  burst of refreshes nearly all of them take no lock at all.
- A run is alive only while it holds its destination's lock
  (:func:`sheets_sync.locks.run_holds_lock`; PostgreSQL: a session named for
  the run holds the advisory lock, SQLite: its lease is renewed). The runner
  (:mod:`sheets_sync.jobs.run`) takes the lock, with the run's id, *before* it
  marks the run running, and records the run's end before letting go, so a
  ``running`` sync whose lock is free is dead — killed or crashed — from that
  moment, however recently it started (:func:`_why_dead`). A ``queued`` one
  holds no lock yet (it waits in an executor, a Cloud Tasks queue, or for the
  lock) and is dead only when older than ``SHEETS_SYNC_JOB_TIMEOUT_SECONDS``.
  A dead run is never joined: it is marked failed inside the critical section
  before a run is queued, at start-up (:func:`sweep_stale`), and by the next
  run that takes its destination's lock (:func:`fail_dead_running`, whoever
  starts it: the CLI too).

The writes themselves (queue, widen, fail) are :mod:`sheets_sync.jobs.runs`'s;
this module decides them. It never imports Flask: the webhook, the CLI and
tests share it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection, Engine, RowMapping

from sheets_sync.batching import GroupCall
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db import sqlite_immediate
from sheets_sync.destinations import parse_destination
from sheets_sync.jobs import runs
from sheets_sync.jobs.runs import ACTIVE, KIND
from sheets_sync.locks import run_holds_lock
from sheets_sync.locks.holder import advisory_key, lock_key
from sheets_sync.schema import sync_runs

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


def destination_name(spec: str) -> str:
    """The destination as a run records it in ``sync_runs.spreadsheet`` (its backend's name)."""
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
        now = utcnow()
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
        if run["status"] == "queued" and runs.widen_run(
            conn, str(run["run_id"]), run["tabs"], wanted
        ):
            return Ticket(str(run["run_id"]), joined=True)
    return None


def covers(recorded: str | None, wanted: Sequence[str]) -> bool:
    """Whether a run of ``recorded`` tabs (``sync_runs.tabs``; None = all) syncs ``wanted``."""
    if recorded is None:
        return True
    return bool(wanted) and set(wanted) <= set(recorded.split(", "))


def sweep_stale(engine: Engine, settings: Settings, destination: str | None = None) -> list[str]:
    """Mark dead runs failed (all destinations, or one); return their ids."""
    with engine.begin() as conn:
        return _sweep(conn, settings, destination)


def fail_dead_running(engine: Engine, settings: Settings, destination: str) -> list[str]:
    """Mark failed the ``running`` syncs of ``destination`` that do not hold its lock.

    Called by the runner (:mod:`sheets_sync.jobs.run`) once it holds the lock
    itself, so the next run of a spreadsheet — a CLI sync as much as a refresh —
    fails a run killed while it held it. Queued runs are left alone: one may be the caller's own, delivered late.
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
    """Fail dead runs (of ``statuses``) inside the caller's transaction, by :func:`_why_dead`."""
    holds_lock = functools.partial(run_holds_lock, conn)

    def why_dead(run: RowMapping, now: dt.datetime) -> str | None:
        return _why_dead(settings, run, now, holds_lock)

    return runs.sweep(conn, why_dead, destination, statuses)


def _why_dead(
    settings: Settings, run: RowMapping, now: dt.datetime, holds_lock: Callable[[str], bool]
) -> str | None:
    """Why an active run is dead (then it is failed, never joined), or None while it lives.

    A queued run has not taken its lock yet: it is dead once it waited longer
    than any executor or queue would keep it. A running run is alive exactly
    while it holds its lock (``holds_lock(run_id)``, :func:`locks.run_holds_lock`):
    its runner took the lock before marking it running, so there is no
    moment when a live running run is without it, and no grace to wait out.
    """
    if run["status"] == "queued":
        if run["queued_at"] >= now - dt.timedelta(seconds=settings.jobs.job_timeout_seconds):
            return None
        return (
            f"never started within {settings.jobs.job_timeout_seconds:g} s "
            "(SHEETS_SYNC_JOB_TIMEOUT_SECONDS): the process that queued it stopped"
        )
    return None if holds_lock(str(run["run_id"])) else DIED
