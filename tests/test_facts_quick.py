"""The quick consistency check: daily totals of the facts against the orders', per measure.

It must be clean on facts that follow the orders (a fresh build, changes pending
in the log) and name the day, the measure and both amounts of a planted drift:
a fact cell altered by hand, an order written while the triggers were off.
Every measure is planted in turn, so a check that skips one fails here. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import order
from kpi_data import load, random_orders
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from sheets_sync import facts
from sheets_sync.cli import main
from sheets_sync.facts.quick import (
    BY_REASON,
    Difference,
    differences_in,
    quick_check,
    window,
)
from sheets_sync.facts.triggers import create_triggers, drop_triggers
from sheets_sync.schema import (
    FACT_MEASURES,
    kpi_daily_facts,
    kpi_fact_changes,
    kpi_suspension_facts,
    tradein_orders,
)

START = dt.date(2025, 3, 1)
LAST = dt.date(2025, 4, 30)
"""The random orders' events all fall between START and LAST."""
ALL = (START, LAST)
EVERY_MEASURE = (*FACT_MEASURES, BY_REASON)
"""The schema's measures, not the check's own list: a measure the check forgets fails here."""


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    rows = random_orders(120, START, 40, seed=3)
    inspected = [row for row in rows if row["inspected_at"] is not None]
    for i, row in enumerate(inspected[:9]):  # one and two grades down, one suspension
        row["inspected_grade"] = ("used", "cracked", "good")[i % 3]
    inspected[0]["suspended_reason"] = "IMEI blacklisted"
    load(engine, rows)
    facts.refresh(engine)
    return engine


def _busiest_cell(engine: Engine, measure: str) -> dict[str, Any]:
    """The stored fact row (or suspension row) with the largest value of ``measure``."""
    table = kpi_suspension_facts if measure == BY_REASON else kpi_daily_facts
    column = table.c.suspended if measure == BY_REASON else table.c[measure]
    with engine.connect() as conn:
        row = conn.execute(select(table).order_by(column.desc()).limit(1)).mappings().one()
    return dict(row)


def _add_to_cell(engine: Engine, measure: str, cell: dict[str, Any], amount: int) -> None:
    table = kpi_suspension_facts if measure == BY_REASON else kpi_daily_facts
    column = "suspended" if measure == BY_REASON else measure
    keys = [table.c[c.name] == cell[c.name] for c in table.primary_key.columns]
    with engine.begin() as conn:
        conn.execute(update(table).where(*keys).values({column: table.c[column] + amount}))


def test_clean_on_a_fresh_build(loaded: Engine) -> None:
    facts.rebuild(loaded)
    assert quick_check(loaded, *ALL) == []


@pytest.mark.parametrize("measure", EVERY_MEASURE)
def test_a_fact_altered_by_hand_is_named_by_day_measure_and_amounts(
    loaded: Engine, measure: str
) -> None:
    cell = _busiest_cell(loaded, measure)
    stored = cell["suspended" if measure == BY_REASON else measure]
    assert stored > 0, "the data must exercise every measure"
    _add_to_cell(loaded, measure, cell, 7)
    day_total = _day_total(loaded, measure, cell["day"])
    assert quick_check(loaded, *ALL) == [Difference(cell["day"], measure, day_total, day_total - 7)]


def _day_total(engine: Engine, measure: str, day: dt.date) -> int:
    table = kpi_suspension_facts if measure == BY_REASON else kpi_daily_facts
    column = table.c.suspended if measure == BY_REASON else table.c[measure]
    with engine.connect() as conn:
        return int(sum(conn.execute(select(column).where(table.c.day == day)).scalars()))


def test_an_order_written_with_the_triggers_off_is_found_on_its_days(loaded: Engine) -> None:
    created = dt.datetime(2025, 3, 10, 8)
    paid = dt.datetime(2025, 3, 12, 9)
    with loaded.begin() as conn:
        drop_triggers(conn)
        conn.execute(insert(tradein_orders).values(order(
            "LOST", created, seller_id="S1", product_id="P1", country="FR", status="paid",
            paid_at=paid, paid_price=10, csat=5)))  # fmt: skip
        create_triggers(conn)
    found = {(d.day, d.measure): d.orders - d.stored for d in quick_check(loaded, *ALL)}
    assert found == {
        (created.date(), "orders_created"): 1, (created.date(), "offered_cents"): 10_000,
        (paid.date(), "paid"): 1, (paid.date(), "paid_cents"): 1_000,
        (paid.date(), "csat_sum"): 5, (paid.date(), "csat_responses"): 1,
    }  # fmt: skip


def test_changes_waiting_in_the_log_are_not_drift(loaded: Engine) -> None:
    """A sync's writes land between refreshes: the log's deltas count as applied."""
    with loaded.begin() as conn:
        conn.execute(insert(tradein_orders).values(order(
            "NEW", dt.datetime(2025, 3, 11, 8), seller_id="S2", product_id="P9",
            country="DE")))  # fmt: skip
        conn.execute(update(tradein_orders).where(tradein_orders.c.csat == 5).values(csat=1))
        conn.execute(tradein_orders.delete().where(tradein_orders.c.order_id == "R0003"))
    with loaded.connect() as conn:
        assert _log_rows(conn) > 0
        assert differences_in(conn, *ALL) == []  # no refresh: the log counted as applied


def _log_rows(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(kpi_fact_changes)).scalar_one())


def test_facts_awaiting_a_full_rebuild_are_not_drift(loaded: Engine) -> None:
    """A bulk load leaves the facts unbuilt: the next refresh builds them from every order."""
    with loaded.begin() as conn, facts.bulk_load(conn):
        conn.execute(insert(tradein_orders).values(order("BULK", dt.datetime(2025, 3, 9, 8))))
    with loaded.connect() as conn:
        assert differences_in(conn, *ALL) == []
    assert quick_check(loaded, *ALL) == []  # refreshed (built) first
    with loaded.connect() as conn:
        assert conn.execute(select(func.sum(kpi_daily_facts.c.orders_created))).scalar() == 121


def test_only_the_window_is_read(loaded: Engine) -> None:
    cell = _busiest_cell(loaded, "orders_created")
    _add_to_cell(loaded, "orders_created", cell, 1)
    before = window(cell["day"] - dt.timedelta(days=1), 28)
    after = (cell["day"] + dt.timedelta(days=1), LAST)
    assert quick_check(loaded, *before) == quick_check(loaded, *after) == []
    assert [d.day for d in quick_check(loaded, *window(cell["day"], 1))] == [cell["day"]]


def test_cli_quick_check_lists_the_differences_and_exits_1(loaded: Engine, runner) -> None:
    url = loaded.url.render_as_string(hide_password=False)
    args = ["facts", "check", "--quick", "--days", "61", "--as-of", LAST.isoformat()]
    ok = runner.invoke(main, [*args, "--database-url", url])
    assert ok.exit_code == 0, ok.output
    assert "2025-03-01 to 2025-04-30: the facts equal the orders" in ok.output
    cell = _busiest_cell(loaded, "paid_cents")
    _add_to_cell(loaded, "paid_cents", cell, -250)
    bad = runner.invoke(main, [*args, "--database-url", url])
    assert bad.exit_code == 1
    total = _day_total(loaded, "paid_cents", cell["day"])
    assert f"{cell['day'].isoformat()} paid_cents: facts {total:,}, orders {total + 250:,}" in (
        bad.output
    )
    assert "sheets-sync facts rebuild" in bad.output


def test_cli_window_options_without_quick_are_refused(runner) -> None:
    result = runner.invoke(main, ["facts", "check", "--days", "7"])
    assert result.exit_code == 2
    assert "--days and --as-of only apply to `facts check --quick`" in result.output
