"""Pooled PostgreSQL connections (sheets_sync/db.py): pinged only after sitting idle.

A connection back from idle whose server side is gone is replaced before use;
one in steady use is not pinged (a round trip per checkout was a quarter of a
busy webhook's database wait), so if it dies that one statement fails and the
next gets a fresh connection. The server side is really killed, with
``pg_terminate_backend``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine

from sheets_sync import db

pytestmark = pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)


@pytest.fixture
def pooled(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def kill(db_url: str, pid: int) -> None:
    """End that server process from an engine of its own (not from the pool under test)."""
    other = db.make_engine(db_url)
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    other.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(pooled, db_url, monkeypatch) -> None:
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # every checked-in connection counts as idle
    victim = backend_pid(pooled)
    kill(db_url, victim)
    assert backend_pid(pooled) != victim  # no error: the ping found it dead and reconnected


def test_a_connection_in_steady_use_is_not_pinged_and_one_failure_recovers(pooled, db_url) -> None:
    victim = backend_pid(pooled)
    kill(db_url, victim)
    with pytest.raises(exc.OperationalError), pooled.connect() as conn:
        conn.execute(text("SELECT pg_backend_pid()"))  # just checked in: not pinged, so it fails
    assert backend_pid(pooled) != victim  # and the pool has let it go
