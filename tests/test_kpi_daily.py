"""`KPI Daily` matches docs/design.md §4 exactly, on SQLite and PostgreSQL.

Each test loads a few hand-built orders with explicit timestamps and checks the
tab the sync engine would get against a straightforward Python computation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from helpers import order, shipped_template
from kpi_data import MEASURES, expected_daily_rows, frame, load, random_orders, records

D = dt.datetime
KPI_DAILY = shipped_template("kpi_daily")


def _only(rows, day):
    """The one row of a day, and the measures that are non-zero on it."""
    matching = [r for r in rows if r["Date"] == day]
    assert len(matching) == 1, matching
    headers = KPI_DAILY.headers[7:]
    return {h: matching[0][h] for h in headers if matching[0][h]}


def test_matches_reference_on_a_mixed_dataset(engine):
    orders = random_orders(160, dt.date(2025, 9, 20), days=120)
    load(engine, orders)
    result = frame(engine, KPI_DAILY)
    as_of = max(o[c].date() for o in orders for c in o if c.endswith("_at") and o[c])
    assert list(result.rows) == expected_daily_rows(orders, as_of - dt.timedelta(days=89), as_of)
    assert result.headers[:7] == [
        "Date",
        "Week",
        "Month",
        "Country",
        "Seller ID",
        "Seller",
        "Category",
    ]
    assert len(result.rows) > 100


def test_each_measure_counts_on_the_day_of_its_own_event(engine):
    created = D(2026, 1, 5, 23, 59, 59)
    load(engine, [order(
        "O1", created, status="paid", offered_price=Decimal("250.10"),
        shipped_at=D(2026, 1, 6, 0, 0, 0), received_at=D(2026, 1, 8, 10),
        inspected_at=D(2026, 1, 9, 9), inspected_grade="good",
        counter_offer_price=Decimal("200.00"), counter_offer_status="accepted",
        counter_answered_at=D(2026, 1, 10, 12), paid_at=D(2026, 1, 12, 8),
        paid_price=Decimal("200.00"), csat=4,
    )])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    assert [r["Date"] for r in rows] == [dt.date(2026, 1, d) for d in (5, 6, 8, 9, 10, 12)]
    assert _only(rows, dt.date(2026, 1, 5)) == {
        "Orders created": 1,
        "Offered amount": Decimal("250.10"),
    }
    assert _only(rows, dt.date(2026, 1, 6)) == {"Shipped": 1}
    assert _only(rows, dt.date(2026, 1, 8)) == {"Received": 1}
    assert _only(rows, dt.date(2026, 1, 9)) == {
        "Inspected": 1, "Inspected within SLA": 1, "Counter-offers": 1,
    }  # fmt: skip
    assert _only(rows, dt.date(2026, 1, 10)) == {"Counter-offers accepted": 1}
    assert _only(rows, dt.date(2026, 1, 12)) == {
        "Paid": 1, "Paid amount": Decimal("200.00"), "CSAT sum": 4, "CSAT responses": 1,
    }  # fmt: skip
    assert rows[0]["Seller"] == "Recommerce Pro" and rows[0]["Category"] == "smartphone"


@pytest.mark.parametrize(
    ("inspection_delay", "within_sla"),
    [
        (dt.timedelta(hours=47, minutes=59, seconds=59), 1),
        (dt.timedelta(hours=48), 1),
        (dt.timedelta(hours=48, seconds=1), 0),
        (dt.timedelta(days=5), 0),
    ],
)
def test_inspection_sla_is_48_hours_inclusive(engine, inspection_delay, within_sla):
    received = D(2026, 2, 2, 15, 30)
    load(engine, [order(
        "O1", D(2026, 1, 28), status="validated", shipped_at=D(2026, 1, 29),
        received_at=received, inspected_at=received + inspection_delay, inspected_grade="good",
    )])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    inspected = _only(rows, (received + inspection_delay).date())
    assert inspected.get("Inspected") == 1
    assert inspected.get("Inspected within SLA", 0) == within_sla


def test_refused_and_expired_counter_offers_both_count_as_refused(engine):
    def countered(order_id, status, answered):
        return order(
            order_id, D(2026, 3, 1), status="returned" if status != "accepted" else "paid",
            shipped_at=D(2026, 3, 2), received_at=D(2026, 3, 3), inspected_at=D(2026, 3, 4),
            inspected_grade="cracked", counter_offer_price=Decimal("40.00"),
            counter_offer_status=status, counter_answered_at=answered,
            returned_at=answered if status != "accepted" else None,
        )  # fmt: skip

    load(engine, [
        countered("O1", "refused", D(2026, 3, 5, 9)),
        countered("O2", "expired", D(2026, 3, 5, 23, 59, 59)),
        countered("O3", "accepted", D(2026, 3, 6)),
    ])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    assert _only(rows, dt.date(2026, 3, 4)) == {
        "Inspected": 3, "Inspected within SLA": 3, "Counter-offers": 3,
    }  # fmt: skip
    assert _only(rows, dt.date(2026, 3, 5)) == {"Counter-offers refused": 2, "Returned": 2}
    assert _only(rows, dt.date(2026, 3, 6)) == {"Counter-offers accepted": 1}


def test_a_day_without_activity_has_no_row(engine):
    load(engine, [
        order("O1", D(2026, 4, 1, 10), status="cancelled", cancelled_at=D(2026, 4, 3, 11)),
        order("O2", D(2026, 4, 1, 12), product_id="P3", country="DE", seller_id="S2"),
    ])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    assert [(r["Date"], r["Country"], r["Category"]) for r in rows] == [
        (dt.date(2026, 4, 1), "DE", "laptop"),
        (dt.date(2026, 4, 1), "FR", "smartphone"),
        (dt.date(2026, 4, 3), "FR", "smartphone"),
    ]
    assert all(any(r[h] for h in KPI_DAILY.headers[7:]) for r in rows)


def test_default_window_is_90_days_up_to_the_data_last_day(engine):
    as_of = dt.date(2026, 5, 31)
    day_90, day_91 = as_of - dt.timedelta(days=89), as_of - dt.timedelta(days=90)
    load(engine, [
        order("IN", D.combine(day_90, dt.time(0, 0))),
        order("OUT", D.combine(day_91, dt.time(23, 59, 59)), seller_id="S2"),
        order("LAST", D.combine(as_of, dt.time(23, 59, 59)), seller_id="S3"),
    ])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    assert [(r["Date"], r["Seller ID"]) for r in rows] == [(day_90, "S1"), (as_of, "S3")]


def test_window_days_and_as_of_are_configurable(engine):
    orders = random_orders(60, dt.date(2026, 1, 1), days=30)
    load(engine, orders)
    weekly_window = dataclasses.replace(KPI_DAILY, window_days=7)
    as_of = dt.date(2026, 1, 20)
    result = frame(engine, weekly_window, as_of=as_of)
    assert list(result.rows) == expected_daily_rows(orders, dt.date(2026, 1, 14), as_of)
    assert {r[0] for r in result.rows} <= {dt.date(2026, 1, d) for d in range(14, 21)}


def test_week_and_month_labels_follow_iso_weeks_across_new_year(engine):
    load(engine, [
        order("O1", D(2025, 12, 28, 12)),
        order("O2", D(2025, 12, 29, 12)),
        order("O3", D(2026, 1, 4, 12)),
        order("O4", D(2026, 1, 5, 12)),
    ])  # fmt: skip
    rows = records(frame(engine, KPI_DAILY))
    assert [(r["Date"].isoformat(), r["Week"], r["Month"]) for r in rows] == [
        ("2025-12-28", "2025-W52", "2025-12"),
        ("2025-12-29", "2026-W01", "2025-12"),
        ("2026-01-04", "2026-W01", "2026-01"),
        ("2026-01-05", "2026-W02", "2026-01"),
    ]


def test_filters_restrict_sellers_and_markets(engine):
    orders = random_orders(80, dt.date(2026, 1, 1), days=20)
    load(engine, orders)
    result = frame(engine, KPI_DAILY, filters={"seller_id": ("S2",), "country": ("DE",)})
    subset = [o for o in orders if o["seller_id"] == "S2" and o["country"] == "DE"]
    as_of = max(o[c].date() for o in orders for c in o if c.endswith("_at") and o[c])
    assert result.rows
    assert list(result.rows) == expected_daily_rows(subset, as_of - dt.timedelta(days=89), as_of)


def test_values_are_typed_for_the_sheet(engine):
    load(engine, random_orders(40, dt.date(2026, 1, 1), days=10))
    row = records(frame(engine, KPI_DAILY))[0]
    assert type(row["Date"]) is dt.date
    assert all(type(row[m]) is int for m in ("Orders created", "Shipped", "CSAT responses"))
    assert all(type(row[m]) is Decimal for m in ("Offered amount", "Paid amount"))
    assert row["Offered amount"].as_tuple().exponent == -2
    assert len(MEASURES) == len(KPI_DAILY.headers) - 7
