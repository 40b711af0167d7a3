"""`KPI Weekly` and `KPI Monthly`: sums per period, rates as ratios of sums, targets.

Checked on SQLite and PostgreSQL against a straightforward Python computation
of docs/design.md §4 over the same hand-built orders.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from helpers import order, shipped_template
from kpi_data import (
    expected_period_rows,
    frame,
    load,
    random_orders,
    records,
    reference_periods,
)

D = dt.datetime
KPI_WEEKLY = shipped_template("kpi_weekly")
KPI_MONTHLY = shipped_template("kpi_monthly")


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _week_label(day: dt.date) -> str:
    return day.strftime("%G-W%V")


def _month_label(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _last_day(orders):
    return max(o[c].date() for o in orders for c in o if c.endswith("_at") and o[c])


def _inspected(order_id, day, hours, **fields):
    received = D.combine(day, dt.time(8))
    return order(
        order_id, received - dt.timedelta(days=2), status="validated",
        shipped_at=received - dt.timedelta(days=1), received_at=received,
        inspected_at=received + dt.timedelta(hours=hours), inspected_grade="good", **fields,
    )  # fmt: skip


def test_weekly_matches_reference_on_a_mixed_dataset(engine):
    orders = random_orders(220, dt.date(2025, 10, 1), days=130)
    load(engine, orders)
    as_of = _last_day(orders)
    start = _monday(as_of - dt.timedelta(days=90))
    table = reference_periods(orders, start, as_of, _monday)
    result = frame(engine, KPI_WEEKLY)
    assert list(result.rows) == expected_period_rows(table, _week_label)
    assert result.rows[0][1] == start  # the first week of the window is complete


def test_monthly_matches_reference_with_targets(engine):
    orders = random_orders(220, dt.date(2025, 10, 1), days=130)
    as_of = _last_day(orders)
    targets = [
        {"month": dt.date(2025, 11, 1), "country": "FR", "category": "smartphone",
         "orders_target": 20, "paid_amount_target": Decimal("3000.00")},
        {"month": dt.date(2025, 12, 1), "country": "DE", "category": "laptop",
         "orders_target": 7, "paid_amount_target": Decimal("1234.56")},
        {"month": dt.date(2025, 12, 1), "country": "NL", "category": "tablet",
         "orders_target": 5, "paid_amount_target": Decimal("500.00")},
    ]  # fmt: skip
    load(engine, orders, targets)
    table = reference_periods(
        orders, _first(as_of - dt.timedelta(days=364)), as_of, _first, targets
    )
    result = records(frame(engine, KPI_MONTHLY))
    expected = expected_period_rows(table, _month_label, with_targets=True)
    assert [tuple(r.values()) for r in result] == expected
    no_orders = [r for r in result if r["Country"] == "NL"]
    assert no_orders[0]["Orders target"] == 5 and no_orders[0]["Orders attainment"] == 0.0
    assert no_orders[0]["Ship rate"] is None


def test_iso_week_spanning_new_year_is_one_row(engine):
    load(engine, [
        order("O1", D(2025, 12, 29, 9)),
        order("O2", D(2026, 1, 2, 18)),
        order("O3", D(2026, 1, 4, 23, 59, 59)),
        order("O4", D(2026, 1, 5, 0, 0, 0)),
    ])  # fmt: skip
    rows = records(frame(engine, KPI_WEEKLY))
    assert [(r["Week"], r["Week start"], r["Orders created"]) for r in rows] == [
        ("2026-W01", dt.date(2025, 12, 29), 3),
        ("2026-W02", dt.date(2026, 1, 5), 1),
    ]


def test_rates_are_ratios_of_sums_not_averages_of_daily_rates(engine):
    monday = dt.date(2026, 3, 2)
    load(engine, [
        _inspected("A", monday, hours=2),
        _inspected("B", monday + dt.timedelta(days=1), hours=72),
        _inspected("C", monday + dt.timedelta(days=1), hours=72),
        _inspected("D", monday + dt.timedelta(days=1), hours=72, counter_offer_price=Decimal("1")),
    ])  # fmt: skip
    rows = [r for r in records(frame(engine, KPI_WEEKLY)) if r["Week start"] == monday]
    assert len(rows) == 1
    assert rows[0]["Inspected"] == 4 and rows[0]["Inspected within SLA"] == 1
    assert rows[0]["SLA rate"] == 0.25  # the mean of the daily rates would be 0.5
    assert rows[0]["Counter-offer rate"] == 0.25


SLA = dt.timedelta(hours=48)
SECOND = dt.timedelta(seconds=1)


def _received_then_inspected(order_id, received, delay):
    return order(
        order_id, received - dt.timedelta(days=2), status="validated",
        shipped_at=received - dt.timedelta(days=1), received_at=received,
        inspected_at=received + delay, inspected_grade="good",
    )  # fmt: skip


def _around_the_sla():
    """Inspections either side of 48 h; two received on a Saturday in February, inspected
    on the Monday 2 March, so the SLA counts in the inspection's week and month."""
    monday = D(2026, 3, 2, 8)
    delays = [SLA - SECOND, SLA, SLA, SLA + SECOND, SLA + SECOND, 3 * SLA]
    orders = [_received_then_inspected(f"T{i}", monday, d) for i, d in enumerate(delays)]
    saturday = D(2026, 2, 28, 12)
    orders.append(_received_then_inspected("EDGE_IN", saturday, SLA))
    orders.append(_received_then_inspected("EDGE_OUT", saturday, SLA + SECOND))
    return orders


@pytest.mark.parametrize(
    ("tab", "period_of", "label", "start_header"),
    [
        (KPI_WEEKLY, _monday, _week_label, "Week start"),
        (KPI_MONTHLY, _first, _month_label, "Month start"),
    ],
    ids=["weekly", "monthly"],
)
def test_inspection_sla_is_48_hours_inclusive(engine, tab, period_of, label, start_header):
    orders = _around_the_sla()
    load(engine, orders)
    result = frame(engine, tab)
    as_of = _last_day(orders)
    table = reference_periods(
        orders, period_of(as_of - dt.timedelta(days=tab.window_days - 1)), as_of, period_of
    )
    assert list(result.rows) == expected_period_rows(table, label, with_targets=tab is KPI_MONTHLY)

    expected: dict[dt.date, list[int]] = {}
    for o in orders:  # plain Python: exactly 48 h is within, 48 h + 1 s is late
        counts = expected.setdefault(period_of(o["inspected_at"].date()), [0, 0])
        counts[0] += 1
        counts[1] += int(o["inspected_at"] - o["received_at"] <= SLA)
    assert expected == {period_of(dt.date(2026, 3, 2)): [8, 4]}  # the data straddles the SLA
    inspected = [r for r in records(result) if r["Inspected"]]
    got = {r[start_header]: [r["Inspected"], r["Inspected within SLA"]] for r in inspected}
    assert got == expected
    assert [r["SLA rate"] for r in inspected] == [0.5]


def test_zero_denominators_give_empty_rates(engine):
    load(engine, [order("O1", D(2026, 5, 4, 10)), order("O2", D(2026, 5, 5, 10))])
    (row,) = records(frame(engine, KPI_WEEKLY))
    assert row["Orders created"] == 2 and row["Ship rate"] == 0.0
    for rate in (
        "Counter-offer rate",
        "Counter acceptance",
        "SLA rate",
        "Average paid price",
        "CSAT",
    ):
        assert row[rate] is None, rate


def ship_cohort(sunday: dt.datetime) -> list[dict[str, Any]]:
    """Three orders around a Sunday: shipped the next day, not shipped, shipped that day."""
    return [
        order("O1", sunday, status="shipped", shipped_at=sunday + dt.timedelta(days=1)),
        order("O2", sunday, status="created"),
        order("O3", sunday - dt.timedelta(days=3), status="shipped", shipped_at=sunday),
    ]


def test_ship_rate_is_a_cohort_of_orders_created_in_the_period(engine):
    sunday = D(2026, 6, 7, 20)
    load(engine, ship_cohort(sunday))
    rows = records(frame(engine, KPI_WEEKLY))
    assert [(r["Week"], r["Orders created"], r["Shipped"], r["Created & shipped"], r["Ship rate"])
            for r in rows] == [
        ("2026-W23", 3, 1, 2, 0.666667),
        ("2026-W24", 0, 1, 0, None),
    ]  # fmt: skip


@pytest.mark.parametrize("filters", [None, {"seller_id": ("S1",), "category": ("smartphone",)}])
def test_ship_rate_as_of_a_past_day_leaves_out_later_shipments(engine, filters):
    """The cohort counts shipments up to as_of only, though the facts count every one."""
    sunday = D(2026, 6, 7, 20)
    load(engine, ship_cohort(sunday))
    rows = records(frame(engine, KPI_WEEKLY, as_of=sunday.date(), filters=filters))
    assert [(r["Week"], r["Orders created"], r["Shipped"], r["Created & shipped"], r["Ship rate"])
            for r in rows] == [("2026-W23", 3, 1, 1, 0.333333)]  # fmt: skip


def test_average_paid_price_and_csat(engine):
    paid = dict(status="paid", paid_at=D(2026, 7, 1, 12))
    load(engine, [
        order("O1", D(2026, 7, 1), paid_price=Decimal("100.01"), csat=5, **paid),
        order("O2", D(2026, 7, 1), paid_price=Decimal("100.00"), csat=4, **paid),
        order("O3", D(2026, 7, 1), paid_price=Decimal("0.02"), **paid),
    ])  # fmt: skip
    (row,) = records(frame(engine, KPI_MONTHLY))
    assert row["Paid"] == 3 and row["Paid amount"] == Decimal("200.03")
    assert row["Average paid price"] == Decimal("66.68")
    assert row["CSAT"] == Decimal("4.50")
    assert row["Month"] == "2026-07" and row["Month start"] == dt.date(2026, 7, 1)


@pytest.mark.parametrize(
    ("target", "attainment"),
    [(None, None), (0, None), (4, 0.5), (3, 0.666667)],
)
def test_orders_attainment(engine, target, attainment):
    targets = []
    if target is not None:
        targets = [{"month": dt.date(2026, 8, 1), "country": "FR", "category": "smartphone",
                    "orders_target": target, "paid_amount_target": Decimal("0")}]  # fmt: skip
    load(engine, [order("O1", D(2026, 8, 3)), order("O2", D(2026, 8, 20))], targets)
    (row,) = records(frame(engine, KPI_MONTHLY))
    assert row["Orders created"] == 2
    assert row["Orders target"] == target
    assert row["Orders attainment"] == attainment
    assert row["Paid amount attainment"] is None  # no target, or a zero one


def test_a_seller_filter_drops_market_targets(engine):
    targets = [{"month": dt.date(2026, 8, 1), "country": "FR", "category": "smartphone",
                "orders_target": 10, "paid_amount_target": Decimal("100")}]  # fmt: skip
    load(engine, [order("O1", D(2026, 8, 3)), order("O2", D(2026, 8, 4), seller_id="S2")], targets)
    (market,) = records(frame(engine, KPI_MONTHLY))
    (seller,) = records(frame(engine, KPI_MONTHLY, filters={"seller_id": ("S2",)}))
    assert (market["Orders created"], market["Orders target"]) == (2, 10)
    assert (seller["Orders created"], seller["Orders target"], seller["Orders attainment"]) == (
        1, None, None,
    )  # fmt: skip


def test_monthly_window_starts_on_a_month_boundary(engine):
    load(engine, [order("OLD", D(2026, 1, 31, 23)), order("IN", D(2026, 2, 1)),
                  order("NEW", D(2026, 4, 10))])  # fmt: skip
    quarter = dataclasses.replace(KPI_MONTHLY, window_days=60)  # 60 days back is 2026-02-10
    rows = records(frame(engine, quarter))
    assert [(r["Month"], r["Orders created"]) for r in rows] == [("2026-02", 1), ("2026-04", 1)]
