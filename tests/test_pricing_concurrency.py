"""Two pushes at once on PostgreSQL, each on its own connection: no update is lost.

The race is made certain, not likely: push A reads its listings (``FOR
UPDATE``), then starts push B on another engine and waits until PostgreSQL
shows B blocked on a row lock; only then does A write and commit. B must
then judge its edit against A's result.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from pricing_data import USER, changes, edit, grid, key, load_pricing
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from sheets_sync.db import make_engine
from sheets_sync.pricing.apply import decide_and_apply
from sheets_sync.pricing.model import Kind, Outcome, Rules, SheetRow

BOB = "bob@example.com"
WAIT_SECONDS = 30


def _wait_until_blocked(engine: Engine, thread: threading.Thread) -> None:
    """Until another session of this database waits on a lock (fails after WAIT_SECONDS).

    Each poll is its own transaction: PostgreSQL snapshots ``pg_stat_activity``
    once per transaction, so polling inside one would never see B start waiting.
    """
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + WAIT_SECONDS
    with engine.connect() as conn:
        while conn.execute(query).scalar_one() == 0:
            conn.rollback()
            assert thread.is_alive(), "push B ended without waiting for push A's row locks"
            assert time.monotonic() < deadline, "push B never waited for push A's row locks"
            time.sleep(0.02)


def _race(db_url: str, first: SheetRow, second: SheetRow) -> tuple[Outcome, Outcome]:
    engine_a, engine_b, watcher = make_engine(db_url), make_engine(db_url), make_engine(db_url)
    result_b: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: result_b.extend(decide_and_apply(engine_b, [second], Rules(), BOB))
    )

    def after_read(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FOR UPDATE" in statement and not thread.is_alive() and not result_b:
            thread.start()
            _wait_until_blocked(watcher, thread)

    event.listen(engine_a, "after_cursor_execute", after_read)
    try:
        [outcome_a] = decide_and_apply(engine_a, [first], Rules(), USER)
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive()
    finally:
        for engine in (engine_a, engine_b, watcher):
            engine.dispose()
    return outcome_a, result_b[0]


@pytest.fixture
def pg_url(db_kind: str, db_url: str) -> str:
    if db_kind != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL (SQLite: test_pricing_apply)")
    engine = make_engine(db_url)
    load_pricing(engine)
    engine.dispose()
    return db_url


def test_two_pushes_of_one_row_apply_one_and_report_the_other_as_a_conflict(pg_url: str) -> None:
    a, b = _race(pg_url, edit(key(), "130"), edit(key(), "125"))
    assert (a.kind, b.kind) == (Kind.APPLIED, Kind.CONFLICT)
    assert f"now 130.00 (version 2, this row shows 1), by {USER}" in b.detail
    engine = make_engine(pg_url)
    assert grid(engine)[key()] == (Decimal("130.00"), 2, USER)
    assert [(c["new_price"], c["changed_by"]) for c in changes(engine)] == [
        (Decimal("130.00"), USER)
    ]
    engine.dispose()


def test_two_pushes_on_one_seller_product_market_keep_grade_order(pg_url: str) -> None:
    """Each edit is valid alone; together cracked would pay more than good."""
    a, b = _race(pg_url, edit(key(grade="cracked"), "119", "stock"), edit(key(), "100"))
    assert (a.kind, b.kind) == (Kind.APPLIED, Kind.REJECTED)
    assert "grade order: good at 100 would pay less than cracked at 119.00" in b.detail
    engine = make_engine(pg_url)
    prices = {k[2]: v[0] for k, v in grid(engine).items() if k[:2] == ("S1", "P1")}
    assert prices == {"flawless": Decimal("150"), "good": Decimal("120"), "cracked": Decimal("119")}
    engine.dispose()
