"""One run per spreadsheet at a time, whatever starts it (docs/design.md §6).

A CLI sync, a webhook refresh, the nightly cron and a pricing push may all aim
at the same destination from different processes or hosts; the database they
share is the only thing they all see, so the lock lives there:

- **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a
  connection held for the whole run. The server releases it when that session
  ends, so a crashed or killed run never blocks the next one.
- **SQLite**: a lease row in ``sync_locks`` taken by one atomic upsert that
  only replaces an *expired* lease. A heartbeat thread renews it while the run
  lasts, so a long sync keeps it; a crashed run's lease lapses after
  ``lease_seconds`` and is taken over.

Either way the holder is noted in ``sync_locks`` (run id, who, host, pid,
since), so a run that waited in vain fails with a :class:`BusyError` naming it.
On PostgreSQL the heartbeat pings the lock's session instead. A run that
finds at the end that it lost its lock (lease lapsed and taken over, session
dropped) fails with a :class:`BusyError` too rather than report a clean write.

A run is alive exactly while it holds its lock (:func:`run_holds_lock`): the
lock is taken, its owner recorded with it, before the run is marked running,
so a ``running`` run whose lock is free is a dead one (killed, crashed) and
is failed rather than joined (:mod:`sheets_sync.jobs.queue`). On PostgreSQL the
owner is the lock's session itself: it is named after the run
(``application_name``) before it takes the lock, and the name and the lock
end together with the session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync.clock import utcnow
from sheets_sync.errors import BusyError
from sheets_sync.schema import sync_locks

POLL_SECONDS = 0.1
"""How often a waiting run tries again: short, since a sync's tail is short too."""

RUN_SESSION = "sheets-sync run "
"""On PostgreSQL, ``application_name`` of the session holding a run's lock: this + the run id
(52 characters with a UUID, within PostgreSQL's 63)."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a destination's lock, as noted in ``sync_locks``."""

    destination: str
    owner: str
    run_id: str | None
    host: str
    pid: int
    acquired_at: dt.datetime
    expires_at: dt.datetime | None

    def describe(self) -> str:
        """``run R (cli by ana, host h, pid 42) has held it since …``, for messages."""
        run = f"run {self.run_id}" if self.run_id else "a run"
        since = self.acquired_at.strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{run} ({self.owner}, host {self.host}, pid {self.pid}) has held it since {since} UTC"
        )


def lock_key(destination: str) -> str:
    """The name a destination is locked under: one name per spreadsheet or workbook file.

    A workbook is keyed by its resolved absolute path, so ``xlsx:a.xlsx``,
    ``xlsx:./a.xlsx`` and a symlink to it are the same lock.
    """
    kind, sep, target = destination.strip().partition(":")
    if sep and kind.lower() == "xlsx":
        return "xlsx:" + os.path.realpath(os.path.expanduser(target.strip()))
    if sep:
        return f"{kind.lower()}:{target.strip()}"
    return destination.strip()


def advisory_key(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.sha256(b"sheets-sync lock:" + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def destination_lock(
    engine: Engine,
    destination: str,
    owner: str,
    *,
    run_id: str | None = None,
    wait_seconds: float = 30.0,
    lease_seconds: float = 120.0,
) -> Iterator[Holder]:
    """Hold ``destination``'s lock for the ``with`` block; raise :class:`BusyError` after the wait.

    The lock is released on exit, exception or not. ``owner`` says who runs
    (e.g. ``cli by ana``); ``run_id`` ties the lock to a ``sync_runs`` row.
    ``lease_seconds`` is how soon a crashed holder's SQLite lease lapses; the
    heartbeat renews (or, on PostgreSQL, pings) every third of it.
    """
    now = utcnow()
    me = Holder(lock_key(destination), owner, run_id, socket.gethostname(), os.getpid(), now, None)
    token = uuid.uuid4().hex
    if engine.dialect.name == "postgresql":
        held = _advisory_lock(engine, me, token, destination, wait_seconds, lease_seconds)
    else:
        held = _lease(engine, me, token, destination, wait_seconds, lease_seconds)
    with held as holder:
        yield holder


def read_holder(engine: Engine, destination: str) -> Holder | None:
    """The holder noted for ``destination``, if any (for messages and status displays)."""
    key = lock_key(destination)
    with engine.connect() as conn:
        row = conn.execute(select(sync_locks).where(sync_locks.c.destination == key)).first()
    if row is None:
        return None
    values = row._mapping
    return Holder(
        key,
        values["owner"],
        values["run_id"],
        values["host"],
        values["pid"],
        values["acquired_at"],
        values["expires_at"],
    )


def run_holds_lock(conn: Connection, run_id: str) -> bool:
    """Whether run ``run_id`` holds a destination's lock right now: whether it is alive.

    Found by the run, not by the destination, so it does not matter how another
    process spells the destination (a workbook's relative path). PostgreSQL: a
    session named for the run (:data:`RUN_SESSION`, set before it took the lock)
    holds an advisory lock in this database — the server ends both with the
    session, so a killed run's lock is free at once. SQLite: the run's lease is
    noted and not expired (a live run renews it; a killed one lapses within
    ``lease_seconds``).
    """
    if conn.dialect.name != "postgresql":
        now = utcnow()
        leases = conn.execute(_RUN_LEASES, {"run_id": run_id}).scalars()
        return any(expires is not None and expires > now for expires in leases)
    return bool(conn.execute(_RUN_SESSION_HOLDS, {"name": RUN_SESSION + run_id}).scalar())


_RUN_LEASES = select(sync_locks.c.expires_at).where(sync_locks.c.run_id == bindparam("run_id"))
_RUN_SESSION_HOLDS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = :name "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)


# -- SQLite: a lease row -------------------------------------------------------


@contextlib.contextmanager
def _lease(
    engine: Engine, me: Holder, token: str, destination: str, wait: float, lease: float
) -> Iterator[Holder]:
    deadline = time.monotonic() + wait
    while (holder := _take_lease(engine, me, token, lease)) is None:
        if time.monotonic() >= deadline:
            raise _busy(engine, destination, wait)
        time.sleep(POLL_SECONDS)
    beat = _Heartbeat(
        me.destination, lease / 3, lambda: _renew(engine, me.destination, token, lease)
    )
    try:
        yield holder
    finally:
        beat.stop()
        _delete_note(engine, me.destination, token)
    if beat.lost:
        raise _lost(
            destination,
            f"its lease lapsed (the database could not be reached for {lease:g} s, "
            "SHEETS_SYNC_LOCK_LEASE_SECONDS)",
        )


def _take_lease(engine: Engine, me: Holder, token: str, lease: float) -> Holder | None:
    """Take the lease if it is free or expired, in one atomic upsert; None if another holds it."""
    now = utcnow()
    mine = _note_values(me, token, now, now + dt.timedelta(seconds=lease))
    stmt = sqlite.insert(sync_locks).values(**mine)
    stmt = stmt.on_conflict_do_update(
        index_elements=[sync_locks.c.destination],
        set_={name: stmt.excluded[name] for name in mine if name != "destination"},
        where=sync_locks.c.expires_at < now,
    )
    with engine.begin() as conn:
        conn.execute(stmt)
        holder = conn.execute(
            select(sync_locks.c.token).where(sync_locks.c.destination == me.destination)
        ).scalar()
    if holder != token:
        return None
    return dataclasses.replace(me, acquired_at=now, expires_at=mine["expires_at"])


def _renew(engine: Engine, key: str, token: str, lease: float) -> bool:
    """Push the lease's expiry forward; False once another run has taken it over.

    A renewal that fails (database locked, unreachable) counts as kept: the
    next beat tries again, and the lease only lapses after three misses.
    """
    expires = utcnow() + dt.timedelta(seconds=lease)
    mine = (sync_locks.c.destination == key) & (sync_locks.c.token == token)
    try:
        with engine.begin() as conn:
            result = conn.execute(update(sync_locks).where(mine).values(expires_at=expires))
    except SQLAlchemyError:
        return True
    return result.rowcount == 1


class _Heartbeat(threading.Thread):
    """Calls ``keep`` every ``interval`` seconds while the run lasts; ``lost`` once it says no.

    A daemon thread rather than renewals at phase boundaries: a single long
    phase (one big tab's query, one slow upload) must not outlive the lease.
    """

    def __init__(self, key: str, interval: float, keep: Callable[[], bool]) -> None:
        super().__init__(name=f"sheets-sync lock {key}", daemon=True)
        self.interval, self.keep = interval, keep
        self.lost = False
        self._stopped = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self.keep():
                self.lost = True
                return

    def stop(self) -> None:
        self._stopped.set()
        self.join()


# -- PostgreSQL: a session advisory lock ----------------------------------------


@contextlib.contextmanager
def _advisory_lock(
    engine: Engine, me: Holder, token: str, destination: str, wait: float, lease: float
) -> Iterator[Holder]:
    key = advisory_key(me.destination)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    named: str | None = None
    try:
        named = _name_session(conn, me.run_id)  # before the lock: never held unnamed
        deadline = time.monotonic() + wait
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline:
                raise _busy(engine, destination, wait)
            time.sleep(POLL_SECONDS)
    except BaseException:
        _give_back(conn, named)
        raise
    try:
        holder = _note_holder(conn, me, token)
    except BaseException:
        _unlock(conn, key, me.destination, token, named)
        raise
    beat = _Heartbeat(me.destination, lease / 3, lambda: _ping(conn))
    try:
        yield holder
    finally:
        beat.stop()
        _unlock(conn, key, me.destination, token, named)
    if beat.lost:
        raise _lost(destination, "its database session, which held the lock, ended")


def _name_session(conn: Connection, run_id: str | None) -> str | None:
    """Name the lock's session after the run (:func:`run_holds_lock`); the name it had before.

    None when there is no run to name it after (the session is left as it is).
    """
    if run_id is None:
        return None
    previous = conn.execute(text("SELECT current_setting('application_name')")).scalar()
    conn.execute(
        text("SELECT set_config('application_name', :name, false)"),
        {"name": RUN_SESSION + run_id},
    )
    return str(previous or "")


def _give_back(conn: Connection, named: str | None) -> None:
    """Return the lock's connection to the pool with its own name, or end its session.

    A pooled connection still named after a run would make that run look alive.
    """
    if named is not None:
        try:
            conn.execute(
                text("SELECT set_config('application_name', :name, false)"), {"name": named}
            )
        except SQLAlchemyError:
            conn.invalidate()
    conn.close()


def _ping(conn: Connection) -> bool:
    """Whether the session holding the lock is still alive (the lock lives as long as it).

    The ping also keeps an otherwise idle connection from being dropped by an
    idle timeout on the way to the server during a long run.
    """
    try:
        return bool(conn.execute(text("SELECT 1")).scalar() == 1)
    except SQLAlchemyError:
        return False


def _note_holder(conn: Connection, me: Holder, token: str) -> Holder:
    """Overwrite whatever a previous holder left (a crashed one cannot clean up)."""
    now = utcnow()
    mine = _note_values(me, token, now, None)
    stmt = postgresql.insert(sync_locks).values(**mine)
    stmt = stmt.on_conflict_do_update(
        index_elements=[sync_locks.c.destination],
        set_={name: stmt.excluded[name] for name in mine if name != "destination"},
    )
    conn.execute(stmt)
    return dataclasses.replace(me, acquired_at=now)


def _unlock(conn: Connection, key: int, destination: str, token: str, named: str | None) -> None:
    """Release on the session that took the lock; if that fails, end the session instead.

    A connection still holding the lock must never go back to the pool, where
    the next borrower would hold it unknowingly; one released goes back under
    its own name (:func:`_give_back`).
    """
    try:
        conn.execute(
            delete(sync_locks).where(
                (sync_locks.c.destination == destination) & (sync_locks.c.token == token)
            )
        )
        released = conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key}).scalar()
    except SQLAlchemyError:
        released = False
    if not released:
        conn.invalidate()
        conn.close()
        return
    _give_back(conn, named)


# -- shared ----------------------------------------------------------------------


def _note_values(
    me: Holder, token: str, acquired: dt.datetime, expires: dt.datetime | None
) -> dict[str, Any]:
    return {
        "destination": me.destination,
        "token": token,
        "owner": me.owner,
        "run_id": me.run_id,
        "host": me.host,
        "pid": me.pid,
        "acquired_at": acquired,
        "expires_at": expires,
    }


def _delete_note(engine: Engine, key: str, token: str) -> None:
    """Give the lease back; if the database is unreachable now, it lapses on its own."""
    mine = (sync_locks.c.destination == key) & (sync_locks.c.token == token)
    with contextlib.suppress(SQLAlchemyError), engine.begin() as conn:
        conn.execute(delete(sync_locks).where(mine))


def _lost(destination: str, why: str) -> BusyError:
    """The error of a run that finished without its lock: its write may have raced another."""
    return BusyError(
        f"{destination}: this run lost its lock while it ran ({why}), so another run may "
        "have written at the same time; run it again",
        destination,
    )


def _busy(engine: Engine, destination: str, wait: float) -> BusyError:
    """The one-line error of a run that waited ``wait`` seconds in vain."""
    holder = read_holder(engine, destination)
    who = holder.describe() if holder else "another run holds it"
    if engine.dialect.name == "postgresql":
        crashed = "a crashed run's lock is released as soon as its database session ends"
    elif holder and holder.expires_at:
        expires = holder.expires_at.strftime("%Y-%m-%d %H:%M:%S")
        crashed = f"a crashed run's lease expires at {expires} UTC"
    else:
        crashed = "a crashed run's lease expires on its own"
    return BusyError(
        f"{destination} is busy: {who}; waited {wait:g} s. Wait for it to finish, "
        f"or retry; {crashed} (SHEETS_SYNC_LOCK_WAIT_SECONDS sets how long to wait)",
        destination,
        holder,
    )
