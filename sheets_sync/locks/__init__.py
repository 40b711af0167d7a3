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

This package's ``__init__`` is the entry: :func:`destination_lock` picks the
kind of lock by dialect (:mod:`.lease`, :mod:`.advisory`) and
:func:`run_holds_lock` asks either whether a run is alive; the holder's note
and the messages are in :mod:`.holder`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection, Engine

from sheets_sync.clock import utcnow
from sheets_sync.locks.advisory import RUN_SESSION, advisory_lock
from sheets_sync.locks.holder import Holder, lock_key
from sheets_sync.locks.lease import lease_lock
from sheets_sync.schema import sync_locks


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
        held = advisory_lock(engine, me, token, destination, wait_seconds, lease_seconds)
    else:
        held = lease_lock(engine, me, token, destination, wait_seconds, lease_seconds)
    with held as holder:
        yield holder


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
