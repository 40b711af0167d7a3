"""`Dashboard` headline figures: the as-of day, week and month to date, against target.

Checked on SQLite and PostgreSQL against a plain-Python computation of the
definitions (docs/design.md §4 and the `dashboard_headline` docstring) over
hand-written orders and targets: one order at a time, exact fractions, the
pro-rated target summed day by day, the ship rate over the orders created
``ship_maturity_days`` before each period.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from helpers import order, shipped_template
from kpi_data import CATEGORY, frame, load, random_orders, records

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.headline import METRICS, PERIODS

DASHBOARD = shipped_template("dashboard")
AS_OF = dt.date(2026, 1, 2)  # a Friday: its week began on Monday 29 December
D = dt.datetime
RATE_TARGETS = {"ship_rate": 0.65, "counter_offer_rate": 0.25, "sla_rate": 0.85, "csat": 4.2}
SHIP = "Ship rate (%)"
LABELS = {SHIP: "Ship rate (%), orders 14+ days old"}
"""The row label a metric shows when it differs from its name: the ship rate's cohort age."""
VOLUME_OF = {SHIP: "matured", "Counter-offer rate (%)": "inspected",
             "Inspection SLA rate (%)": "inspected", "CSAT (1–5)": "rated"}  # fmt: skip


def tab(**params: Any):
    """The shipped Dashboard with some params changed."""
    return dataclasses.replace(DASHBOARD, params={**DASHBOARD.params, **params})


JUDGE_ALL = tab(min_volume=0)
"""Every rate judged however few its orders: hand-written data has a handful per period."""


def _paid(order_id: str, created: D, paid: D, price: str, csat: int | None = None, **fields: Any):
    """An order that went all the way to payment, inspected 20 h after reception."""
    received = created + dt.timedelta(days=1)
    return order(
        order_id, created, status="paid", shipped_at=created + dt.timedelta(hours=5),
        received_at=received, inspected_at=received + dt.timedelta(hours=20),
        inspected_grade="good", paid_at=paid, paid_price=Decimal(price), csat=csat, **fields,
    )  # fmt: skip


def _inspected(order_id: str, inspected: D, hours: float, **fields: Any):
    """An order inspected at ``inspected``, ``hours`` after its reception."""
    received = inspected - dt.timedelta(hours=hours)
    return order(
        order_id, received - dt.timedelta(days=3), status="validated",
        shipped_at=received - dt.timedelta(days=2), received_at=received, inspected_at=inspected,
        inspected_grade="good", **fields,
    )  # fmt: skip


HAND_WRITTEN = [
    # created on the as-of day: one shipped the same day, one later than as-of, one not yet
    order("A1", D(2026, 1, 2, 9), shipped_at=D(2026, 1, 2, 18), status="shipped"),
    order("A2", D(2026, 1, 2, 10), shipped_at=D(2026, 1, 3, 8), status="shipped"),
    order("A3", D(2026, 1, 2, 23, 59), country="DE", product_id="P3"),
    # 14 days before (the Day's matured cohort): shipped, shipped after as-of, never shipped
    order("M1", D(2025, 12, 19, 0, 0), shipped_at=D(2025, 12, 20), status="shipped"),
    order("M2", D(2025, 12, 19, 12), shipped_at=D(2026, 1, 3, 8), status="shipped"),
    order("M3", D(2025, 12, 19, 23, 59, 59), country="DE", cancelled_at=D(2026, 1, 2),
          status="cancelled"),
    # the week's and the month's cohorts only (15–18 December), and just outside them
    order("M4", D(2025, 12, 15, 0, 0), shipped_at=D(2025, 12, 16), status="shipped"),
    order("M5", D(2025, 12, 18, 8), seller_id="S2", shipped_at=D(2025, 12, 18, 20),
          status="shipped"),
    order("M6", D(2025, 12, 14, 23, 59, 59), shipped_at=D(2025, 12, 15), status="shipped"),
    order("M7", D(2025, 12, 20, 0, 0)),
    # created earlier in the week (December) and in the month (1 January)
    order("B1", D(2025, 12, 29, 0, 0), shipped_at=D(2025, 12, 30), status="shipped"),
    order("B2", D(2025, 12, 31, 23, 59, 59), country="DE", cancelled_at=D(2026, 1, 1),
          status="cancelled"),
    order("B3", D(2026, 1, 1, 0, 0), seller_id="S2", shipped_at=D(2026, 1, 1, 12),
          status="shipped"),
    # before the week: counts in no period
    order("C1", D(2025, 12, 28, 23, 59, 59), shipped_at=D(2025, 12, 29), status="shipped"),
    # inspections: within the SLA, exactly 48 h, 48 h + 1 s, with counter-offers
    _inspected("I1", D(2026, 1, 2, 8), 10),
    _inspected("I2", D(2026, 1, 2, 9), 48, counter_offer_price=Decimal("80.00")),
    _inspected("I3", D(2026, 1, 1, 9), 48 + 1 / 3600, country="DE"),
    _inspected("I4", D(2025, 12, 30, 9), 60, counter_offer_price=Decimal("70.00"),
               product_id="P3"),
    _inspected("I5", D(2025, 12, 27, 9), 5),
    # payments, with CSAT (and one without)
    _paid("P1", D(2025, 12, 20), D(2026, 1, 2, 11), "120.50", csat=5),
    _paid("P2", D(2025, 12, 21), D(2026, 1, 2, 12), "99.99", csat=3, country="DE"),
    _paid("P3", D(2025, 12, 22), D(2025, 12, 31, 22), "300.00", csat=4, seller_id="S3"),
    _paid("P4", D(2025, 12, 23), D(2026, 1, 1, 8), "45.01", product_id="P3"),
    _paid("P5", D(2025, 12, 10), D(2025, 12, 28, 23), "500.00", csat=1),
]  # fmt: skip

TARGETS = [
    {"month": dt.date(2025, 12, 1), "country": "FR", "category": "smartphone",
     "orders_target": 310, "paid_amount_target": Decimal("9300.00")},
    {"month": dt.date(2025, 12, 1), "country": "DE", "category": "laptop",
     "orders_target": 62, "paid_amount_target": Decimal("1550.00")},
    {"month": dt.date(2026, 1, 1), "country": "FR", "category": "smartphone",
     "orders_target": 93, "paid_amount_target": Decimal("3100.00")},
    {"month": dt.date(2026, 1, 1), "country": "DE", "category": "smartphone",
     "orders_target": 31, "paid_amount_target": Decimal("620.00")},
    {"month": dt.date(2026, 2, 1), "country": "FR", "category": "smartphone",
     "orders_target": 1000, "paid_amount_target": Decimal("99999.00")},
]  # fmt: skip


# -- the reference: one order at a time, exact fractions --


def _spans(as_of: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    monday = as_of - dt.timedelta(days=as_of.weekday())
    spans = ((as_of, as_of), (monday, as_of), (as_of.replace(day=1), as_of))
    return dict(zip(PERIODS, spans, strict=True))


def _on(ts: D | None, span: tuple[dt.date, dt.date]) -> bool:
    return ts is not None and span[0] <= ts.date() <= span[1]


def _frac(num: Any, den: Any, scale: int = 1) -> Fraction | None:
    return None if not den else Fraction(num) * scale / Fraction(den)


def _earlier(span: tuple[dt.date, dt.date], days: int) -> tuple[dt.date, dt.date]:
    return span[0] - dt.timedelta(days=days), span[1] - dt.timedelta(days=days)


def _volumes(orders: list[dict[str, Any]], span, maturity: int) -> dict[str, int]:
    """How many orders each rate rests on: the matured cohort, inspected, CSAT answers."""
    cohort = _earlier(span, maturity)
    return {
        "matured": sum(_on(o["created_at"], cohort) for o in orders),
        "inspected": sum(_on(o["inspected_at"], span) for o in orders),
        "rated": sum(_on(o["paid_at"], span) and o["csat"] is not None for o in orders),
    }


def _values(orders: list[dict[str, Any]], span, as_of, maturity) -> dict[str, Fraction | None]:
    created = [o for o in orders if _on(o["created_at"], span)]
    matured = [o for o in orders if _on(o["created_at"], _earlier(span, maturity))]
    shipped = [o for o in matured if o["shipped_at"] and o["shipped_at"].date() <= as_of]
    inspected = [o for o in orders if _on(o["inspected_at"], span)]
    in_sla = [
        o for o in inspected if o["inspected_at"] - o["received_at"] <= dt.timedelta(hours=48)
    ]
    countered = [o for o in inspected if o["counter_offer_price"] is not None]
    paid = [o for o in orders if _on(o["paid_at"], span)]
    rated = [o["csat"] for o in paid if o["csat"] is not None]
    return dict(zip(METRICS, (
        Fraction(len(created)),
        sum((Fraction(o["paid_price"]) for o in paid), Fraction(0)),
        _frac(len(shipped), len(matured), 100),
        _frac(len(countered), len(inspected), 100),
        _frac(len(in_sla), len(inspected), 100),
        _frac(sum(rated), len(rated)),
    ), strict=True))  # fmt: skip


def _volume_target(targets, span, measure: str) -> Fraction | None:
    """Each day's share of its month's target, summed over the period's days."""
    total, found, day = Fraction(0), False, span[0]
    while day <= span[1]:
        length = calendar.monthrange(day.year, day.month)[1]
        for t in targets:
            if t["month"] == day.replace(day=1):
                total += Fraction(t[measure]) / length
                found = True
        day += dt.timedelta(days=1)
    return total if found else None


def _status(value, target, lower: bool, volume, params) -> tuple[Fraction | None, str]:
    green, amber = params["status"]["green"], params["status"]["amber"]
    if value is None:
        return None, "NO DATA"
    attainment = None
    if target and not (lower and value == 0):
        attainment = target / value if lower else value / target
    if volume is not None and volume < params["min_volume"]:
        return attainment, "LOW VOLUME"
    if not target:
        return None, "NO TARGET"
    if lower and value == 0:
        return None, "GREEN"
    shown = round(attainment, 6)  # the status reads the attainment as the tab shows it
    if shown >= Fraction(str(green)):
        return attainment, "GREEN"
    return attainment, "AMBER" if shown >= Fraction(str(amber)) else "RED"


def reference(orders, targets, as_of=AS_OF, template=DASHBOARD) -> list[dict[str, Any]]:
    """The tab's rows, metric by metric, each period in order."""
    params = {**template.params}
    rate_targets, maturity = params["rate_targets"], params["ship_maturity_days"]
    scales = (("ship_rate", 100), ("counter_offer_rate", 100), ("sla_rate", 100), ("csat", 1))
    goals = {
        m: Fraction(str(rate_targets[k])) * s for m, (k, s) in zip(METRICS[2:], scales, strict=True)
    }
    spans = _spans(as_of)
    per_period = {p: _values(orders, span, as_of, maturity) for p, span in spans.items()}
    rows = []
    for metric in METRICS:
        for period, span in spans.items():
            value, volume = per_period[period][metric], None
            if metric in METRICS[:2]:
                measure = "orders_target" if metric == METRICS[0] else "paid_amount_target"
                target = _volume_target(targets, span, measure)
            else:
                target = goals[metric]
                volume = _volumes(orders, span, maturity)[VOLUME_OF[metric]]
            lower = metric == "Counter-offer rate (%)"
            attainment, status = _status(value, target, lower, volume, params)
            days = _earlier(span, maturity) if metric == SHIP else span
            rows.append({
                "Metric": _label(metric, maturity), "Period": period, "From": days[0],
                "To": days[1], "Value": value, "Target": target, "Attainment": attainment,
                "Status": status,
            })  # fmt: skip
    return rows


def _label(metric: str, maturity: int) -> str:
    return LABELS[metric].replace("14+", f"{maturity}+") if metric in LABELS else metric


def _cents(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


def assert_matches(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Exact labels, days, values (to the cent) and status; targets and attainment to rounding."""
    assert [(r["Metric"], r["Period"]) for r in got] == [(r["Metric"], r["Period"]) for r in want]
    for g, w in zip(got, want, strict=True):
        where = (w["Metric"], w["Period"])
        assert (g["From"], g["To"], g["Status"]) == (w["From"], w["To"], w["Status"]), where
        assert g["Value"] == _cents(w["Value"]), where
        if w["Target"] is None:
            assert g["Target"] is None, where
        else:
            assert float(g["Target"]) == pytest.approx(float(w["Target"]), abs=0.0051), where
        if w["Attainment"] is None:
            assert g["Attainment"] is None, where
        else:
            assert g["Attainment"] == pytest.approx(float(w["Attainment"]), abs=2e-6), where


# -- the tests --


def test_hand_written_orders_match_the_reference(engine):
    load(engine, HAND_WRITTEN, TARGETS)
    got = records(frame(engine, JUDGE_ALL, as_of=AS_OF))
    want = reference(HAND_WRITTEN, TARGETS, template=JUDGE_ALL)
    assert_matches(got, want)
    by_key = {(r["Metric"], r["Period"]): r for r in got}
    ship = {p: by_key[(LABELS[SHIP], p)] for p in PERIODS}
    # the hand-computed figures the rows above are built to show
    assert by_key[("Orders created", "Day")]["Value"] == Decimal("3.00")
    assert by_key[("Orders created", "Week to date")]["Value"] == Decimal("7.00")  # I1 too
    assert by_key[("Orders created", "Month to date")]["Value"] == Decimal("4.00")
    # the ship rate of the orders created 14 days earlier: M2 shipped after as-of, M3 never
    assert (ship["Day"]["Value"], ship["Day"]["From"], ship["Day"]["To"]) == (
        Decimal("33.33"), dt.date(2025, 12, 19), dt.date(2025, 12, 19)
    )  # fmt: skip
    assert (ship["Week to date"]["Value"], ship["Week to date"]["From"]) == (
        Decimal("60.00"), dt.date(2025, 12, 15)
    )  # M1–M5  # fmt: skip
    assert ship["Month to date"]["Value"] == Decimal("50.00")  # M1, M2, M3, M5
    assert by_key[("Inspection SLA rate (%)", "Week to date")]["Value"] == Decimal("50.00")
    assert by_key[("Paid amount", "Month to date")]["Value"] == Decimal("265.50")
    assert by_key[("CSAT (1–5)", "Week to date")]["Value"] == Decimal("4.00")
    # the week takes 3 December days of 31 and 2 January days of 31
    week_target = Fraction(3 * (310 + 62) + 2 * (93 + 31), 31)
    assert float(by_key[("Orders created", "Week to date")]["Target"]) == pytest.approx(
        float(week_target), abs=0.005
    )


def test_rows_come_metric_by_metric_in_period_order(engine):
    load(engine, HAND_WRITTEN, TARGETS)
    got = records(frame(engine, DASHBOARD, as_of=AS_OF))
    labels = [LABELS.get(m, m) for m in METRICS]
    assert [(r["Metric"], r["Period"]) for r in got] == [(m, p) for m in labels for p in PERIODS]


@pytest.mark.parametrize(
    "template", [DASHBOARD, tab(ship_maturity_days=7, min_volume=0)], ids=["shipped", "7-days"]
)
@pytest.mark.parametrize(
    "as_of",
    # mid-month, a Monday; across the new year; a Sunday; the data's first days (no cohort yet)
    [dt.date(2025, 12, 15), dt.date(2026, 1, 2), dt.date(2026, 2, 1), dt.date(2025, 11, 26)],
)
def test_a_mixed_dataset_matches_the_reference(engine, as_of, template):
    orders = random_orders(260, dt.date(2025, 11, 20), days=75)
    load(engine, orders, TARGETS)
    assert_matches(
        records(frame(engine, template, as_of=as_of)),
        reference(orders, TARGETS, as_of, template),
    )


def test_a_market_sheet_counts_its_markets_and_their_targets_only(engine):
    orders = random_orders(260, dt.date(2025, 11, 20), days=75)
    load(engine, orders, TARGETS)
    got = records(frame(engine, DASHBOARD, as_of=AS_OF, filters={"country": ("DE",)}))
    de_only = [o for o in orders if o["country"] == "DE"]
    assert_matches(got, reference(de_only, [t for t in TARGETS if t["country"] == "DE"]))


def test_a_category_filter_applies_to_orders_and_targets(engine):
    load(engine, HAND_WRITTEN, TARGETS)
    got = records(frame(engine, JUDGE_ALL, as_of=AS_OF, filters={"category": ("laptop",)}))
    laptops = [o for o in HAND_WRITTEN if CATEGORY[o["product_id"]] == "laptop"]
    goals = [t for t in TARGETS if t["category"] == "laptop"]
    assert_matches(got, reference(laptops, goals, template=JUDGE_ALL))


def test_a_seller_sheet_has_no_volume_target(engine):
    load(engine, HAND_WRITTEN, TARGETS)
    got = records(frame(engine, JUDGE_ALL, as_of=AS_OF, filters={"seller_id": ("S1",)}))
    mine = [o for o in HAND_WRITTEN if o["seller_id"] == "S1"]
    assert_matches(got, reference(mine, [], template=JUDGE_ALL))
    volumes = [r for r in got if r["Metric"] in METRICS[:2]]
    assert {r["Status"] for r in volumes} == {"NO TARGET"}


def test_no_orders_gives_zero_volumes_and_no_rates(engine):
    load(engine, [], TARGETS)
    got = records(frame(engine, DASHBOARD, as_of=AS_OF))
    assert_matches(got, reference([], TARGETS))
    assert {r["Status"] for r in got if r["Metric"] in METRICS[2:]} == {"NO DATA"}
    assert {r["Value"] for r in got if r["Metric"] in METRICS[:2]} == {Decimal("0.00")}


@pytest.mark.parametrize(
    ("ship_target", "status"),
    [(0.30, "GREEN"), (1 / 3, "GREEN"), (0.34, "AMBER"), (0.37, "AMBER"), (0.371, "RED")],
)
def test_status_follows_the_template_limits_at_and_around_them(engine, ship_target, status):
    """Day ship rate is 1/3: attainment 1 or more is GREEN, from 0.9 AMBER, below RED."""
    load(engine, HAND_WRITTEN, TARGETS)
    judged = tab(min_volume=0, rate_targets={**RATE_TARGETS, "ship_rate": ship_target})
    rows = records(frame(engine, judged, as_of=AS_OF))
    day = next(r for r in rows if r["Metric"] == LABELS[SHIP])
    assert day["Status"] == status


def test_a_counter_offer_rate_under_target_is_green_and_zero_is_green(engine):
    """Lower is better: attainment is target / value; no counter-offer at all is on target."""
    load(engine, [_inspected("Z1", D(2026, 1, 2, 8), 3)], [])
    rows = records(frame(engine, JUDGE_ALL, as_of=AS_OF))
    day = next(r for r in rows if r["Metric"] == "Counter-offer rate (%)")
    assert (day["Value"], day["Attainment"], day["Status"]) == (Decimal("0.00"), None, "GREEN")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rate_targets": {"ship_rate": 0.6}}, "params.rate_targets: must give a target for each"),
        ({"rate_targets": {**RATE_TARGETS, "csat": "high"}},
         "params.rate_targets.csat: 'high' is not a number ≥ 0. Fix:"),
        ({"status": {"green": 1.0}}, "params.status: needs exactly `green` and `amber`"),
        ({"status": {"green": 0.8, "amber": 0.9}}, "params.status: amber 0.9 is above green 0.8"),
        ({"ship_maturity_days": 0}, "params.ship_maturity_days: 0 is not a whole number ≥ 1"),
        ({"ship_maturity_days": "two weeks"},
         "params.ship_maturity_days: 'two weeks' is not a whole number ≥ 1"),
        ({"min_volume": -1}, "params.min_volume: -1 is not a whole number ≥ 0"),
    ],
)  # fmt: skip
def test_bad_params_name_the_key_and_the_fix(engine, params, message):
    with pytest.raises(TemplateError, match=f"^{re.escape(message)}") as raised:
        frame(engine, tab(**params), as_of=AS_OF)
    assert "Fix: " in str(raised.value)


@pytest.mark.parametrize(
    "month",
    [dt.date(2025, 7, 1), dt.date(2024, 2, 1), dt.date(2025, 2, 1)],
    ids=["31-days", "leap-february", "february"],
)
def test_the_month_target_is_pro_rated_by_the_month_s_real_length(engine, month):
    """12 orders a day over the whole month: 10 days to date is 120, whatever its length."""
    length = calendar.monthrange(month.year, month.month)[1]
    target = {"month": month, "country": "FR", "category": "smartphone",
              "orders_target": 12 * length, "paid_amount_target": Decimal(5 * length)}  # fmt: skip
    load(engine, [], [target])
    got = records(frame(engine, DASHBOARD, as_of=month.replace(day=10)))
    by_key = {(r["Metric"], r["Period"]): r for r in got}
    assert float(by_key[("Orders created", "Month to date")]["Target"]) == pytest.approx(120)
    assert float(by_key[("Orders created", "Day")]["Target"]) == pytest.approx(12)
    assert float(by_key[("Paid amount", "Month to date")]["Target"]) == pytest.approx(50)
