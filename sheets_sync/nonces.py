"""Signatures accepted once: the replay ledger behind the webhook's HMAC callers.

A signed request may be sent again by anyone who saw it, for as long as its
timestamp stays inside the window. Each accepted signature is therefore
recorded in ``hmac_nonces`` until it leaves the window, and the primary key
refuses the second insert — in any process or instance sharing the database,
which is why this lives in the database and not in a process's memory.

Requests arriving together are recorded together (:class:`NonceLedger`, a
group commit): one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``,
autocommitted, answers for all of them — one transaction instead of one per
request. On SQLite that is one turn at the database's write lock, held only
inside that call; on PostgreSQL one commit, so one WAL flush. The key leads
with the expiry, so inserts append and the sweep trims the other end.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import ReturningInsert

from sheets_sync.batching import GroupCall
from sheets_sync.db import make_engine, retry_while_locked
from sheets_sync.errors import DatabaseError
from sheets_sync.schema import hmac_nonces

SWEEP_SECONDS = 30.0
"""How often a process deletes the nonces that have left the window (:class:`NonceSweep`)."""


Key = tuple[int, bytes]
"""A recorded signature: (expiry in Unix seconds, SHA-256 of the signature)."""


def insert_new(dialect: str) -> ReturningInsert[Any]:
    """The multi-row insert that skips recorded nonces and returns the new ones."""
    returned = (hmac_nonces.c.expires_unix, hmac_nonces.c.digest)
    if dialect == "postgresql":
        return postgresql.insert(hmac_nonces).on_conflict_do_nothing().returning(*returned)
    if dialect == "sqlite":
        return sqlite.insert(hmac_nonces).on_conflict_do_nothing().returning(*returned)
    raise DatabaseError(f"HMAC nonces need SQLite or PostgreSQL, not {dialect}")


class NonceLedger:
    """This process's door to ``hmac_nonces``: concurrent requests share one transaction.

    The signatures of requests arriving together are recorded by one statement
    (:class:`~sheets_sync.batching.GroupCall`): under load each request waits
    for at most the batch before its own, and the database sees one
    transaction per batch instead of one per request.
    """

    def __init__(self, engine: Engine, sweep: NonceSweep | None = None) -> None:
        url = engine.url.render_as_string(hide_password=False)
        # Its own small pool, autocommit from connect (no isolation toggling at each use);
        # on SQLite it waits for the write lock in short pauses (retry_while_locked).
        self.engine = make_engine(url, busy_seconds=0, autocommit=True)
        self._statement = insert_new(engine.dialect.name)
        self._record = GroupCall(self._record_batch)
        self.sweep = sweep or NonceSweep()

    def remember_once(self, signature: str, expires_unix: int) -> bool:
        """Record ``signature``; False when it was already recorded (a replay).

        Now and then (:class:`NonceSweep`) an accepted one also deletes the nonces
        past the window.
        """
        key = (expires_unix, hashlib.sha256(signature.encode()).digest())
        try:
            first_use = self._record(key)
        except Exception as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DatabaseError(f"cannot record the signature: {first_line}") from error
        if first_use:
            self.sweep.maybe_forget_expired(self.engine)
        return first_use

    def _record_batch(self, keys: Sequence[Key]) -> list[bool]:
        """For each key, whether it is new; the same key twice at once is new only once."""
        unique = list(dict.fromkeys(keys))
        recorded = retry_while_locked(lambda: self._insert(unique))
        first: set[Key] = set()
        answers = []
        for key in keys:
            answers.append(key in recorded and key not in first)
            first.add(key)
        return answers

    def _insert(self, keys: list[Key]) -> set[Key]:
        """One autocommitted statement: the keys it recorded (a replay's is left out)."""
        rows = [{"expires_unix": expires, "digest": digest} for expires, digest in keys]
        with self.engine.connect() as conn:
            result = conn.execute(self._statement, rows)
            return {(int(r.expires_unix), bytes(r.digest)) for r in result}


def forget_expired(engine: Engine, now: float | None = None) -> int:
    """Delete the nonces whose window has passed; the number deleted."""
    statement = delete(hmac_nonces).where(
        hmac_nonces.c.expires_unix < int(time.time() if now is None else now)
    )

    def forget() -> int:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            return int(conn.execute(statement).rowcount)

    return retry_while_locked(forget)


class NonceSweep:
    """Deletes expired nonces at most once per ``interval`` seconds per process.

    An expired row only takes room: its signature is outside the time window,
    so it is refused before the table is asked. Deleting on every request was
    a second write per request, on every process, on the same rows.
    """

    def __init__(self, interval: float = SWEEP_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next = 0.0

    def maybe_forget_expired(self, engine: Engine) -> int | None:
        """Delete the expired nonces if the interval has passed (rows deleted), else None."""
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                return None
            self._next = now + self.interval
        return forget_expired(engine)
