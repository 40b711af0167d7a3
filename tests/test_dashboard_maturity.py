"""A red cell on the Dashboard means something is wrong, never that orders had no time.

A healthy operation, seen as of any day: every order ships (or not) a day or two
after it is created, 70 % of them ship against a 65 % target, inspections are within
the SLA, few are countered, customers are happy. The orders created on the as-of day
have not shipped yet — they will tomorrow. Every rate must then be GREEN, on both
databases, whatever the day; the ship rate of the period's own orders (the old
definition) would be 0 % and RED on the day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from helpers import order, shipped_template
from kpi_data import frame, load, records

DASHBOARD = shipped_template("dashboard")
SHIP = "Ship rate (%), orders 14+ days old"
RATES = {SHIP, "Counter-offer rate (%)", "Inspection SLA rate (%)", "CSAT (1–5)"}
PER_DAY = 30
AS_OF_DAYS = [dt.date(2026, 1, 2), dt.date(2025, 12, 1), dt.date(2026, 3, 31)]
"""A Friday whose week began in the old year, a Monday that is the 1st, a month's last day."""


def _as_known_on(row: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    """The order as the source holds it at the end of ``as_of``: later events not yet."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    events = ("shipped_at", "received_at", "inspected_at", "paid_at", "cancelled_at")
    for name in events:
        if row[name] is not None and row[name] >= end:
            row[name] = None
    if row["inspected_at"] is None:
        row.update(inspected_grade=None, counter_offer_price=None)
    if row["paid_at"] is None:
        row.update(paid_price=None, csat=None)
    done = [n for n in events if row[n] is not None]
    row["status"] = {"shipped_at": "shipped", "received_at": "received",
                     "inspected_at": "validated", "paid_at": "paid",
                     "cancelled_at": "cancelled"}.get(done[-1] if done else "", "created")  # fmt: skip
    return row


def _healthy(order_id: str, created: dt.datetime, i: int, as_of: dt.date) -> dict[str, Any]:
    """Seven in ten ship the next day; received a day later, inspected within 20 h, paid
    a day after; one in ten of those shipped is countered; the rest expire after 14 days."""
    if i % 10 >= 7:
        return _as_known_on(
            order(order_id, created, cancelled_at=created + dt.timedelta(14)), as_of
        )
    shipped = created + dt.timedelta(days=1, hours=i % 3)
    inspected = shipped + dt.timedelta(days=1, hours=20)
    row = order(
        order_id, created, shipped_at=shipped, received_at=shipped + dt.timedelta(days=1),
        inspected_at=inspected, inspected_grade="good",
        counter_offer_price=Decimal("80.00") if i % 10 == 0 else None,
        paid_at=inspected + dt.timedelta(days=1), paid_price=Decimal("100.00"), csat=5,
    )  # fmt: skip
    return _as_known_on(row, as_of)


def healthy_history(as_of: dt.date, days: int = 45) -> list[dict[str, Any]]:
    """``PER_DAY`` orders a day for ``days`` days up to and including ``as_of``."""
    rows = []
    for back in range(days + 1):
        day = dt.datetime.combine(as_of - dt.timedelta(days=back), dt.time(8))
        for i in range(PER_DAY):
            created = day + dt.timedelta(minutes=i)
            rows.append(_healthy(f"H{back:02d}-{i:02d}", created, i, as_of))
    return rows


@pytest.mark.parametrize("as_of", AS_OF_DAYS)
def test_orders_that_had_no_time_to_ship_never_make_a_rate_red(engine, as_of) -> None:
    orders = healthy_history(as_of)
    today = [o for o in orders if o["created_at"].date() == as_of]
    assert len(today) == PER_DAY and not any(o["shipped_at"] for o in today)  # none yet
    load(engine, orders)
    rows = records(frame(engine, DASHBOARD, as_of=as_of))
    rates = [r for r in rows if r["Metric"] in RATES]
    assert len(rates) == 12
    assert {(r["Metric"], r["Period"]): r["Status"] for r in rates} == {
        (r["Metric"], r["Period"]): "GREEN" for r in rates
    }
    ship = [r for r in rates if r["Metric"] == SHIP]
    assert {r["Value"] for r in ship} == {Decimal("70.00")}
    assert {r["To"] for r in ship} == {as_of - dt.timedelta(days=14)}


def test_a_matured_cohort_too_small_to_judge_is_low_volume_not_red(engine) -> None:
    """Five orders created 14 days ago, none shipped: 0 % says nothing about 5 orders."""
    as_of = AS_OF_DAYS[0]
    created = dt.datetime.combine(as_of - dt.timedelta(days=14), dt.time(9))
    lonely = [order(f"L{i}", created, cancelled_at=created + dt.timedelta(days=3),
                    status="cancelled") for i in range(5)]  # fmt: skip
    load(engine, lonely)
    ship = {r["Period"]: r for r in records(frame(engine, DASHBOARD, as_of=as_of))
            if r["Metric"] == SHIP}  # fmt: skip
    assert {p: (r["Value"], r["Status"]) for p, r in ship.items()} == {
        p: (Decimal("0.00"), "LOW VOLUME") for p in ("Day", "Week to date", "Month to date")
    }
    judged = dataclasses.replace(DASHBOARD, params={**DASHBOARD.params, "min_volume": 5})
    day = next(r for r in records(frame(engine, judged, as_of=as_of)) if r["Metric"] == SHIP)
    assert day["Status"] == "RED"  # five orders, if the team says five are enough


def test_a_cohort_before_the_first_order_has_no_data(engine) -> None:
    """A new source: ten days of orders, none yet 14 days old, so no ship rate to judge."""
    as_of = AS_OF_DAYS[0]
    load(engine, healthy_history(as_of, days=10))
    ship = [r for r in records(frame(engine, DASHBOARD, as_of=as_of)) if r["Metric"] == SHIP]
    assert [(r["Value"], r["Status"]) for r in ship] == [(None, "NO DATA")] * 3
