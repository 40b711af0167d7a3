"""PostgreSQL: a destination's lock is a session advisory lock (docs/design.md §6).

Held on a connection kept for the whole run; the server releases it when that
session ends, so a crashed or killed run never blocks the next one. The
session is named after the run (:data:`RUN_SESSION`) before it takes the
lock, so the name and the lock end together with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator

from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync.clock import utcnow
from sheets_sync.locks.heartbeat import POLL_SECONDS, Heartbeat
from sheets_sync.locks.holder import Holder, advisory_key, busy, lost, note_values
from sheets_sync.schema import sync_locks

RUN_SESSION = "sheets-sync run "
"""On PostgreSQL, ``application_name`` of the session holding a run's lock: this + the run id
(52 characters with a UUID, within PostgreSQL's 63)."""


@contextlib.contextmanager
def advisory_lock(
    engine: Engine, me: Holder, token: str, destination: str, wait: float, lease: float
) -> Iterator[Holder]:
    """Hold the advisory lock for the ``with`` block, its session pinged every third of ``lease``."""
    key = advisory_key(me.destination)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    named: str | None = None
    try:
        named = _name_session(conn, me.run_id)  # before the lock: never held unnamed
        deadline = time.monotonic() + wait
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline:
                raise busy(engine, destination, wait)
            time.sleep(POLL_SECONDS)
    except BaseException:
        _give_back(conn, named)
        raise
    try:
        holder = _note_holder(conn, me, token)
    except BaseException:
        _unlock(conn, key, me.destination, token, named)
        raise
    beat = Heartbeat(me.destination, lease / 3, lambda: _ping(conn))
    try:
        yield holder
    finally:
        beat.stop()
        _unlock(conn, key, me.destination, token, named)
    if beat.lost:
        raise lost(destination, "its database session, which held the lock, ended")


def _name_session(conn: Connection, run_id: str | None) -> str | None:
    """Name the lock's session after the run (:func:`sheets_sync.locks.run_holds_lock`); the name it had before.

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
    mine = note_values(me, token, now, None)
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
