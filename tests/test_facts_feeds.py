"""The daily facts follow the orders whatever order the feeds land in.

The order feed often lands before the catalogue feed: an order whose product is
not yet in ``products`` must still count (under ``unknown``), and move to its
product's category when the product arrives, without ``facts rebuild``. Orders,
products and sellers are inserted in random order (hypothesis), refreshing in
between; after every refresh the stored facts equal a full computation and count
every order of the table, the quick check (daily totals) finds nothing, and the
orders a sync would warn about under ``unknown`` are exactly those whose product
has not landed yet; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, inspect, select
from sqlalchemy.engine import Engine

from sheets_sync import facts
from sheets_sync.db_init import init_db
from sheets_sync.facts.measures import UNKNOWN_CATEGORY
from sheets_sync.facts.quick import differences_in
from sheets_sync.facts.triggers import drop_triggers
from sheets_sync.facts.unknown import unknown_products
from sheets_sync.schema import (
    kpi_daily_facts,
    kpi_suspension_facts,
    products,
    sellers,
    tradein_orders,
)

DAY = dt.datetime(2025, 3, 3, 9)
SPAN = (DAY.date(), DAY.date() + dt.timedelta(days=10))
"""Every event of the orders below falls in these days."""
CATEGORY = {"P0": "smartphone", "P1": "tablet", "P2": "laptop"}


def _order(key: str, product: str, seller: str, days: int) -> dict[str, Any]:
    created = DAY + dt.timedelta(days=days)
    return {
        "order_id": key, "seller_id": seller, "product_id": product, "country": "FR",
        "declared_grade": "good", "offered_price": Decimal("120.50"), "currency": "EUR",
        "status": "paid", "created_at": created, "inspected_at": created + dt.timedelta(days=2),
        "inspected_grade": "used", "suspended_reason": "IMEI blacklisted",
        "paid_at": created + dt.timedelta(days=3), "paid_price": Decimal("99.99"), "csat": 4,
    }  # fmt: skip


def _product(key: str) -> dict[str, Any]:
    return {"product_id": key, "category": CATEGORY[key], "brand": "Acme", "model": key,
            "release_year": 2022}  # fmt: skip


def _seller(key: str) -> dict[str, Any]:
    return {"seller_id": key, "name": key, "country": "FR", "status": "active",
            "created_at": DAY}  # fmt: skip


def _insert(engine: Engine, kind: str, row: dict[str, Any]) -> None:
    table = {"order": tradein_orders, "product": products, "seller": sellers}[kind]
    with engine.begin() as conn:
        conn.execute(insert(table).values(row))


def _empty(engine: Engine) -> None:
    """A fresh start for each example (the engine fixture is per test, not per example)."""
    with engine.begin() as conn:
        for table in (tradein_orders, products, sellers):
            conn.execute(delete(table))
    facts.rebuild(engine)


def _assert_facts_follow_the_orders(engine: Engine) -> None:
    """Equal to a full computation, and every order of the table counted once."""
    with engine.connect() as conn:  # before check() refreshes: as a sync leaves them
        assert differences_in(conn, *SPAN) == []
    reports = facts.check(engine)
    assert [(r.table, r.missing, r.extra, r.samples) for r in reports] == [
        (r.table, 0, 0, []) for r in reports
    ]
    with engine.connect() as conn:
        counted = conn.execute(select(func.sum(kpi_daily_facts.c.orders_created))).scalar()
        orders = conn.execute(select(func.count()).select_from(tradein_orders)).scalar()
    assert (counted or 0) == orders


def _categories(engine: Engine) -> dict[str, int]:
    f = kpi_daily_facts.c
    with engine.connect() as conn:
        rows = conn.execute(select(f.category, func.sum(f.orders_created)).group_by(f.category))
        return {category: int(n) for category, n in rows if n}


orders = st.lists(
    st.tuples(st.sampled_from(sorted(CATEGORY)), st.sampled_from(["S0", "S1"]),
              st.integers(0, 3)),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), specs=orders)
def test_facts_equal_a_rebuild_whatever_order_the_feeds_land_in(
    engine: Engine, data: st.DataObject, specs: list[tuple[str, str, int]]
) -> None:
    _empty(engine)
    steps: list[tuple[str, Any]] = [
        ("order", _order(f"O{i}", product, seller, days))
        for i, (product, seller, days) in enumerate(specs)
    ]
    steps += [("product", _product(p)) for p in sorted(CATEGORY)]
    steps += [("seller", _seller(s)) for s in ("S0", "S1")]
    steps += [("refresh", None)] * 3
    landed: list[tuple[str, Any]] = []
    for kind, row in data.draw(st.permutations(steps)):
        if kind == "refresh":
            facts.refresh(engine)
            _assert_facts_follow_the_orders(engine)
            _assert_warned_about(engine, landed)
        else:
            _insert(engine, kind, row)
            landed.append((kind, row))
    facts.refresh(engine)
    _assert_facts_follow_the_orders(engine)
    _assert_warned_about(engine, landed)
    assert UNKNOWN_CATEGORY not in _categories(engine)


def _assert_warned_about(engine: Engine, landed: list[tuple[str, Any]]) -> None:
    """The sync's ``unknown`` warning counts the orders whose product has not landed, per product."""
    have = {row["product_id"] for kind, row in landed if kind == "product"}
    waiting = Counter(row["product_id"] for kind, row in landed
                      if kind == "order" and row["product_id"] not in have)  # fmt: skip
    with engine.connect() as conn:
        found = unknown_products(conn, SPAN[1])
    if not waiting:
        assert found is None
        return
    assert found is not None
    assert (found.orders, dict(found.samples)) == (sum(waiting.values()), dict(waiting))


def test_an_order_before_its_product_counts_then_moves_to_its_category(engine: Engine) -> None:
    _insert(engine, "product", _product("P0"))
    _insert(engine, "order", _order("O1", "P0", "S0", 0))
    _insert(engine, "order", _order("O2", "P1", "S0", 0))
    facts.refresh(engine)
    assert _categories(engine) == {"smartphone": 1, UNKNOWN_CATEGORY: 1}
    _insert(engine, "product", _product("P1"))
    assert facts.refresh(engine).mode == "full"
    assert _categories(engine) == {"smartphone": 1, "tablet": 1}
    _assert_facts_follow_the_orders(engine)
    with engine.connect() as conn:
        reasons = conn.execute(select(kpi_suspension_facts.c.category)).scalars().all()
    assert sorted(reasons) == ["smartphone", "tablet"]


def test_a_product_without_orders_keeps_the_refresh_incremental(engine: Engine) -> None:
    """The catalogue landing first (the demo's order) costs no full rebuild."""
    _insert(engine, "order", _order("O1", "P0", "S0", 0))
    _insert(engine, "product", _product("P0"))
    facts.refresh(engine)
    _insert(engine, "product", _product("P1"))
    _insert(engine, "order", _order("O2", "P1", "S0", 0))
    assert facts.refresh(engine).mode == "incremental"
    assert _categories(engine) == {"smartphone": 1, "tablet": 1}


@pytest.mark.parametrize("pending", [False, True])
def test_init_db_on_an_existing_database_installs_the_product_trigger(
    engine: Engine, pending: bool
) -> None:
    """An existing database (triggers of an older release) gets the new one from ``init_db``."""
    with engine.begin() as conn:
        drop_triggers(conn)
    _insert(engine, "order", _order("O1", "P0", "S0", 0))
    facts.rebuild(engine)
    init_db(engine)
    if pending:
        _insert(engine, "order", _order("O2", "P0", "S0", 1))
    _insert(engine, "product", _product("P0"))
    facts.refresh(engine)
    assert _categories(engine) == {"smartphone": 2 if pending else 1}


def test_after_a_bulk_load_a_product_arriving_with_orders_still_moves_them(engine: Engine) -> None:
    """A bulk load drops the triggers and their index, and puts both back (the product
    trigger's look-up stays an index probe, not a scan of the orders)."""
    with engine.begin() as conn, facts.bulk_load(conn):
        conn.execute(insert(tradein_orders).values(_order("O1", "P2", "S0", 0)))
    indexes = {i["name"] for i in inspect(engine).get_indexes("tradein_orders")}
    assert "ix_orders_product" in indexes
    facts.refresh(engine)
    assert _categories(engine) == {UNKNOWN_CATEGORY: 1}
    _insert(engine, "product", _product("P2"))
    facts.refresh(engine)
    assert _categories(engine) == {"laptop": 1}
