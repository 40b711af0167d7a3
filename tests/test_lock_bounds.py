"""The run lock's time bounds, on SQLite and PostgreSQL, asserted without timing anything.

- A take refused by a live holder gives up after *its wait*, never after the
  lease: a wait of 0 is one try, whatever the lease; with a lease of 11 days,
  a wait computed from the lease would never come back, and this test's own
  timeout (pytest-timeout) fails it instead of hanging the suite. (The 0.5 s
  wait beside a long lease is tests/test_locks.py's
  ``test_a_refused_take_returns_after_its_wait_not_the_lease``.)
- The heartbeat really beats while a run holds its lock: the SQLite lease's
  expiry moves forward; on PostgreSQL the lock's session is pinged (its last
  statement changes). Watched for a bounded number of beats: a heartbeat that
  never runs fails here, it does not hang.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sheets_sync.errors import BusyError
from sheets_sync.locks import destination_lock
from sheets_sync.locks.holder import advisory_key, lock_key, read_holder

SHEET = "gsheets:1AbCdEfGhIjKlMnOpQrStUv"
HUGE_LEASE = 1_000_000.0  # 11.6 days
LEASE = 0.3  # a beat every 0.1 s
BEATS_WATCHED = 50  # 50 beat intervals: 5 s of a heartbeat that should beat every 0.1 s


def take(engine: Engine, owner: str, **options: Any) -> None:
    """Take and give back SHEET's lock at once: raises BusyError while another holds it."""
    with destination_lock(engine, SHEET, owner, **options):
        pass


@pytest.mark.timeout(30)
def test_a_zero_wait_is_one_try(engine: Engine) -> None:
    with (
        destination_lock(engine, SHEET, "holder", wait_seconds=0, lease_seconds=HUGE_LEASE),
        pytest.raises(BusyError, match=r"waited 0 s\."),
    ):
        take(engine, "late", wait_seconds=0, lease_seconds=HUGE_LEASE)


def _lock_session_activity(engine: Engine) -> Any:
    """PostgreSQL: when the session holding SHEET's advisory lock last started a statement."""
    unsigned = advisory_key(lock_key(SHEET)) & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT a.query_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi "
                "AND l.objid = :lo AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
        ).scalar_one()


def _beat_seen(engine: Engine, first: Any) -> bool:
    if engine.dialect.name == "postgresql":
        return bool(_lock_session_activity(engine) > first)
    note = read_holder(engine, SHEET)
    return note is not None and note.expires_at is not None and note.expires_at > first


@pytest.mark.timeout(60)
def test_the_heartbeat_beats_while_the_lock_is_held(engine: Engine) -> None:
    with destination_lock(engine, SHEET, "long run", run_id="LONG", lease_seconds=LEASE) as me:
        first = _lock_session_activity(engine) if engine.dialect.name == "postgresql" else None
        first = first if first is not None else me.expires_at
        for _ in range(BEATS_WATCHED):
            if _beat_seen(engine, first):
                break
            time.sleep(LEASE / 3)
        else:
            pytest.fail(f"no heartbeat in {BEATS_WATCHED} beat intervals of {LEASE / 3:g} s")
