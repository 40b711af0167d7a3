"""The per-test database (tests/fresh_databases.py) is what ``init_db`` leaves, whatever
the previous test did: rows, sequences moved, triggers dropped, tables added.

Every other test relies on it: a leftover row or a missing trigger would make
tests pass or fail by the order they run in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fresh_databases import fresh_postgres
from helpers import order
from sqlalchemy import func, insert, inspect, select, text

from sheets_sync import schema
from sheets_sync.db import make_engine

DAY = dt.datetime(2025, 6, 1, 10)


def _dirty(url: str, change_shape: bool) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders), [order("O1", DAY)])
        conn.execute(
            insert(schema.sellers),
            [
                {
                    "seller_id": "S9",
                    "name": "Left over",
                    "country": "FR",
                    "status": "active",
                    "created_at": DAY,
                }
            ],
        )
        if change_shape:
            conn.execute(text("DROP TRIGGER kpi_facts_orders_insert ON tradein_orders"))
            conn.execute(text("CREATE TABLE stray (x int)"))
    engine.dispose()


@pytest.mark.parametrize("change_shape", [False, True], ids=["rows", "shape"])
def test_the_next_test_finds_the_database_init_db_leaves(
    pg_session_url: str, change_shape: bool
) -> None:
    fresh_postgres(pg_session_url)
    _dirty(pg_session_url, change_shape)
    fresh_postgres(pg_session_url)
    engine = make_engine(pg_session_url)
    with engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
        conn.execute(insert(schema.tradein_orders), [order("O2", DAY)])
        logged = select(func.count()).select_from(schema.kpi_fact_changes)
        assert conn.execute(logged).scalar_one() == 1, "the facts trigger is installed"
        assert conn.execute(select(func.min(schema.kpi_fact_changes.c.change_id))).scalar() == 1
    assert "stray" not in inspect(engine).get_table_names()
    engine.dispose()
