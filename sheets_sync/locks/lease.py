"""SQLite: a destination's lock is a lease row in ``sync_locks`` (docs/design.md §6).

Taken by one atomic upsert that only replaces an *expired* lease; a heartbeat
renews it while the run lasts, so a long sync keeps it, and a crashed run's
lease lapses after ``lease_seconds`` and is taken over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync.clock import utcnow
from sheets_sync.locks.heartbeat import POLL_SECONDS, Heartbeat
from sheets_sync.locks.holder import Holder, busy, lost, note_values
from sheets_sync.schema import sync_locks


@contextlib.contextmanager
def lease_lock(
    engine: Engine, me: Holder, token: str, destination: str, wait: float, lease: float
) -> Iterator[Holder]:
    """Hold the lease for the ``with`` block, renewed every third of ``lease`` seconds."""
    deadline = time.monotonic() + wait
    while (holder := _take_lease(engine, me, token, lease)) is None:
        if time.monotonic() >= deadline:
            raise busy(engine, destination, wait)
        time.sleep(POLL_SECONDS)
    beat = Heartbeat(
        me.destination, lease / 3, lambda: _renew(engine, me.destination, token, lease)
    )
    try:
        yield holder
    finally:
        beat.stop()
        _delete_note(engine, me.destination, token)
    if beat.lost:
        raise lost(
            destination,
            f"its lease lapsed (the database could not be reached for {lease:g} s, "
            "SHEETS_SYNC_LOCK_LEASE_SECONDS)",
        )


def _take_lease(engine: Engine, me: Holder, token: str, lease: float) -> Holder | None:
    """Take the lease if it is free or expired, in one atomic upsert; None if another holds it."""
    now = utcnow()
    mine = note_values(me, token, now, now + dt.timedelta(seconds=lease))
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


def _delete_note(engine: Engine, key: str, token: str) -> None:
    """Give the lease back; if the database is unreachable now, it lapses on its own."""
    mine = (sync_locks.c.destination == key) & (sync_locks.c.token == token)
    with contextlib.suppress(SQLAlchemyError), engine.begin() as conn:
        conn.execute(delete(sync_locks).where(mine))
