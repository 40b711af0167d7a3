"""Who holds a destination's lock, and what a run is told about it.

Both kinds of lock (:mod:`sheets_sync.locks.lease` on SQLite,
:mod:`sheets_sync.locks.advisory` on PostgreSQL) note their holder in
``sync_locks`` the same way and fail with the same :class:`BusyError`
messages, so the note, the keys and the messages live here, once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync.errors import BusyError
from sheets_sync.schema import sync_locks


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


def note_values(
    me: Holder, token: str, acquired: dt.datetime, expires: dt.datetime | None
) -> dict[str, Any]:
    """The ``sync_locks`` row noting ``me``: both kinds of lock write the same note."""
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


def lost(destination: str, why: str) -> BusyError:
    """The error of a run that finished without its lock: its write may have raced another."""
    return BusyError(
        f"{destination}: this run lost its lock while it ran ({why}), so another run may "
        "have written at the same time; run it again",
        destination,
    )


def busy(engine: Engine, destination: str, wait: float) -> BusyError:
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
