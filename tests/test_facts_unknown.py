"""A sync says when orders count under ``unknown``: their product is not in the catalogue.

The order feed often lands before the catalogue feed. Those orders still count
(category ``unknown``), and the sync's warnings say how many, which products and
what to check; once the products arrive, the next sync moves the orders and the
warning goes. Through the real sync (xlsx destination), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fixtures_sync import LAST_DAY, at
from helpers import order
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from test_sync import sheet_records

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.facts.unknown import UnknownProducts, unknown_products
from sheets_sync.jobs.run import sync_now

CATALOGUE = "not in the catalogue"


def _orders(engine: Engine, *rows: tuple[str, str, dt.datetime]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders), [
            order(key, created, product_id=product, seller_id="S1")
            for key, product, created in rows
        ])  # fmt: skip


def _product(engine: Engine, product: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.products).values(
            product_id=product, category="tablet", brand="Acme", model=product,
            release_year=2023))  # fmt: skip


def _said(warnings: list[str]) -> list[str]:
    return [w for w in warnings if CATALOGUE in w]


def test_an_order_before_its_product_is_warned_until_the_product_arrives(
    loaded: Engine, settings: Settings, tmp_path: Path
) -> None:
    book = f"xlsx:{tmp_path / 'ops.xlsx'}"
    assert _said(sync_now(loaded, settings, book, tabs=["KPI Daily"]).warnings) == []
    _orders(loaded, ("EARLY1", "TAB-9", at(3)), ("EARLY2", "TAB-9", at(1)))
    said = _said(sync_now(loaded, settings, book, tabs=["KPI Daily"]).warnings)
    assert said == [
        f"2 order(s) created from {(LAST_DAY - dt.timedelta(days=3)).isoformat()} to "
        f"{LAST_DAY.isoformat()} have a product_id that is not in the catalogue (table "
        "products), e.g. TAB-9 (2 order(s)): the KPI tabs count them under category "
        "'unknown'. Check that the catalogue feed has loaded these products; once they are "
        "in products, the next sync moves the orders to their category by itself (no "
        "rebuild needed)"
    ]
    assert "unknown" in {r["Category"] for r in sheet_records(tmp_path / "ops.xlsx", "KPI Daily")}
    _product(loaded, "TAB-9")
    after = sync_now(loaded, settings, book, tabs=["KPI Daily"])
    assert _said(after.warnings) == []
    categories = {r["Category"] for r in sheet_records(tmp_path / "ops.xlsx", "KPI Daily")}
    assert "unknown" not in categories and "tablet" in categories


def test_a_sync_without_a_kpi_tab_from_the_facts_says_nothing_of_them(
    loaded: Engine, settings: Settings, tmp_path: Path
) -> None:
    _orders(loaded, ("EARLY1", "TAB-9", at(1)))
    result = sync_now(loaded, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", tabs=["Onboarding"])
    assert _said(result.warnings) == []


def test_counted_up_to_the_as_of_day_most_orders_first(loaded: Engine, settings: Settings) -> None:
    from sheets_sync import facts

    _orders(
        loaded,
        ("A1", "TAB-1", at(9)), ("A2", "TAB-2", at(5)), ("A3", "TAB-2", at(4)),
        ("A4", "TAB-3", at(2)), ("LATER", "TAB-4", at(0)),
    )  # fmt: skip
    facts.refresh(loaded)
    with loaded.connect() as conn:
        found = unknown_products(conn, LAST_DAY - dt.timedelta(days=1))
        none = unknown_products(conn, LAST_DAY - dt.timedelta(days=10))
    assert found == UnknownProducts(
        4, LAST_DAY - dt.timedelta(days=9), [("TAB-2", 2), ("TAB-1", 1), ("TAB-3", 1)]
    )
    assert none is None
