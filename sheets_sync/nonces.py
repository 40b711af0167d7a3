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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import ReturningInsert

from sheets_sync.errors import DatabaseError
from sheets_sync.schema import hmac_nonces

SWEEP_SECONDS = 30.0
"""How often a process deletes the nonces that have left the window (:class:`NonceSweep`)."""


def insert_new(dialect: str) -> ReturningInsert[Any]:
    """The multi-row insert that skips recorded nonces and returns the new ones."""
    returned = (hmac_nonces.c.expires_unix, hmac_nonces.c.digest)
    if dialect == "postgresql":
        return postgresql.insert(hmac_nonces).on_conflict_do_nothing().returning(*returned)
    if dialect == "sqlite":
        return sqlite.insert(hmac_nonces).on_conflict_do_nothing().returning(*returned)
    raise DatabaseError(f"HMAC nonces need SQLite or PostgreSQL, not {dialect}")


@dataclass
class _Claim:
    """One request's signature, waiting for the batch that records it."""

    key: tuple[int, bytes]
    first_use: bool | None = None
    error: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self.first_use is not None or self.error is not None


class NonceLedger:
    """This process's door to ``hmac_nonces``: concurrent requests share one transaction.

    The first request to arrive while no batch is being written writes its own
    claim at once (alone, when the service is quiet: no waiting for company);
    requests arriving meanwhile queue, and when that write ends one of them
    writes every queued claim in one statement. Under load each request waits
    for at most the batch before its own, and the database sees one
    transaction per batch instead of one per request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statement = insert_new(engine.dialect.name)
        self._turn = threading.Condition()
        self._queued: list[_Claim] = []
        self._writing = False

    def remember_once(self, signature: str, expires_unix: int) -> bool:
        """Record ``signature``; False when it was already recorded (a replay)."""
        claim = _Claim((expires_unix, hashlib.sha256(signature.encode()).digest()))
        batch = self._wait_or_lead(claim)
        if batch:
            self._write(batch)
            with self._turn:
                self._writing = False
                self._turn.notify_all()
        if claim.error is not None:
            first_line = str(claim.error).splitlines()[0] if str(claim.error) else ""
            raise DatabaseError(f"cannot record the signature: {first_line}") from claim.error
        return bool(claim.first_use)

    def _wait_or_lead(self, claim: _Claim) -> list[_Claim]:
        """Wait until ``claim`` is settled by another's batch (returns []), or take the queue."""
        with self._turn:
            self._queued.append(claim)
            while self._writing and not claim.settled:
                self._turn.wait()
            if claim.settled:
                return []
            batch, self._queued, self._writing = self._queued, [], True
            return batch

    def _write(self, batch: list[_Claim]) -> None:
        """Settle every claim of ``batch``: new, replay (also twice in one batch), or error."""
        fresh: dict[tuple[int, bytes], _Claim] = {}
        for claim in batch:
            if claim.key in fresh:
                claim.first_use = False  # the same signature twice at once: one is a replay
            else:
                fresh[claim.key] = claim
        rows = [{"expires_unix": k[0], "digest": k[1]} for k in fresh]
        try:
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                result = conn.execute(self._statement, rows)
                recorded = {(int(r.expires_unix), bytes(r.digest)) for r in result}
        except Exception as error:  # every waiter must wake, whatever went wrong
            for claim in fresh.values():
                claim.error = error
            return
        for key, claim in fresh.items():
            claim.first_use = key in recorded


def forget_expired(engine: Engine, now: float | None = None) -> int:
    """Delete the nonces whose window has passed; the number deleted."""
    cutoff = int(time.time() if now is None else now)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        expired = hmac_nonces.c.expires_unix < cutoff
        return int(conn.execute(delete(hmac_nonces).where(expired)).rowcount)


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
