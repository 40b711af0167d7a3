"""The HMAC replay ledger (sheets_sync/nonces.py): each signature accepted once, in batches.

A process records its requests' signatures together (one transaction per
batch), so it must still answer each request alone: a new signature once, a
replay never — also when the two arrive in the same batch, when many
threads arrive at once, and across ledgers sharing the database. Both
databases.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db
from sheets_sync.errors import DatabaseError
from sheets_sync.nonces import NonceLedger, NonceSweep, forget_expired


def later() -> int:
    """Five minutes from now, read when the test runs: a constant taken at collection
    was already in the past when the suite ran longer than five minutes, so the
    ledger rightly forgot the "replayed" signatures as expired."""
    return int(time.time()) + 300


@pytest.fixture
def ledger_engine(engine: Engine) -> Engine:
    init_db(engine)
    return engine


def test_a_signature_is_new_once_then_a_replay(ledger_engine) -> None:
    ledger = NonceLedger(ledger_engine)
    assert ledger.remember_once("t=1,v1=aa", later())
    assert not ledger.remember_once("t=1,v1=aa", later())
    assert ledger.remember_once("t=1,v1=bb", later())
    assert not NonceLedger(ledger_engine).remember_once("t=1,v1=bb", later())  # another process


@pytest.mark.parametrize("ledgers", [1, 2])
def test_many_threads_at_once_each_signature_is_accepted_exactly_once(
    ledger_engine, ledgers
) -> None:
    doors = [NonceLedger(ledger_engine) for _ in range(ledgers)]
    accepted: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(48)

    def send(index: int) -> None:
        signature = f"t=1,v1={index % 12:02d}"  # every signature sent four times
        start.wait()
        first = doors[index % ledgers].remember_once(signature, later())
        with lock:
            accepted[signature] += first

    threads = [threading.Thread(target=send, args=(i,)) for i in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accepted == Counter({f"t=1,v1={i:02d}": 1 for i in range(12)})
    with ledger_engine.connect() as conn:
        assert len(conn.execute(select(schema.hmac_nonces)).all()) == 12


def test_a_database_that_cannot_be_written_fails_every_waiting_request(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/nonces.db")
    ledger = NonceLedger(engine)
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            ledger.remember_once(f"t=1,v1={index}", later())
        except DatabaseError as error:
            errors.append(error)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 8 and "cannot record the signature" in str(errors[0])


def test_expired_nonces_are_forgotten_and_live_ones_kept(ledger_engine) -> None:
    swept = NonceSweep(interval=3600)  # the ledger's own sweep, spent: forget_expired is tried
    assert swept.maybe_forget_expired(ledger_engine) == 0
    ledger, now = NonceLedger(ledger_engine, swept), int(time.time())
    ledger.remember_once("old", now - 1)
    ledger.remember_once("live", now + 60)
    assert forget_expired(ledger_engine, now) == 1
    assert not ledger.remember_once("live", now + 60)
    sweep = NonceSweep(interval=3600)
    assert sweep.maybe_forget_expired(ledger_engine) == 0
    assert sweep.maybe_forget_expired(ledger_engine) is None  # not again within the interval


def test_an_accepted_signature_now_and_then_deletes_the_expired_ones(ledger_engine) -> None:
    ledger, now = NonceLedger(ledger_engine), int(time.time())
    assert ledger.remember_once("old", now - 1)  # recorded, then swept at once (expired)
    assert ledger.remember_once("older", now - 1)  # not swept again within the interval
    with ledger_engine.connect() as conn:
        assert len(conn.execute(select(schema.hmac_nonces)).all()) == 1
