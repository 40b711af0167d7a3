"""Alert conditions evaluated in the database on hand-built data (docs/design.md §9)."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from alerts_data import AS_OF, NOON, NOW, created, fired, insert_rows, inspected, rule, run_row
from helpers import order
from kpi_data import load

from sheets_sync import schema

DAY = dt.timedelta(days=1)


@pytest.fixture
def two_sellers(engine):
    """As of AS_OF, 7-day window: S1 40% counter-offers (4/10), S2 10% (1/10) with 3 late."""
    load(
        engine,
        inspected("A", 10, NOON, counter=4, seller_id="S1")
        + inspected("B", 10, NOON - 2 * DAY, counter=1, late=3, seller_id="S2", country="DE"),
    )
    return engine


@pytest.mark.parametrize(
    ("metric", "condition", "expected"),
    [
        ("counter_offer_rate", ("above", 0.3), [("S1", 0.4, 0.3, 10)]),
        ("counter_offer_rate", ("below", 0.2), [("S2", 0.1, 0.2, 10)]),
        ("counter_offer_rate", ("above", 0.4), []),  # strictly above
        ("inspection_sla_rate", ("below", 0.85), [("S2", 0.7, 0.85, 10)]),
        ("counter_offers", ("above", 3), [("S1", 4.0, 3.0, 4)]),
        ("inspected", ("below", 11), [("S1", 10.0, 11.0, 10), ("S2", 10.0, 11.0, 10)]),
    ],
)
def test_threshold_above_and_below(two_sellers, metric, condition, expected):
    assert fired(two_sellers, rule(metric, "seller", condition)) == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("country", [("DE", 0.1, 0.0, 10), ("FR", 0.4, 0.0, 10)]),
        ("category", [("smartphone", 0.25, 0.0, 20)]),
        ("overall", [("all", 0.25, 0.0, 20)]),
    ],
)
def test_scopes_group_by_their_key(two_sellers, scope, expected):
    assert fired(two_sellers, rule("counter_offer_rate", scope, ("above", 0))) == expected


@pytest.mark.parametrize(("min_volume", "fires"), [(10, True), (11, False)])
def test_minimum_volume_keeps_small_samples_quiet(two_sellers, min_volume, fires):
    found = fired(
        two_sellers, rule("counter_offer_rate", "seller", ("above", 0.3), min_volume=min_volume)
    )
    assert bool(found) is fires


@pytest.mark.parametrize(
    ("window", "expected"),
    [(1, [("S1", 10.0, 0.0, 10)]), (7, [("S1", 10.0, 0.0, 10), ("S2", 10.0, 0.0, 10)])],
)
def test_window_counts_only_its_days(two_sellers, window, expected):
    assert fired(two_sellers, rule("inspected", "seller", ("above", 0), window=window)) == expected


def test_events_after_as_of_are_left_out(engine):
    load(engine, inspected("A", 5, NOON + DAY, counter=5))
    assert fired(engine, rule("counter_offers", "seller", ("above", 0))) == []


@pytest.fixture
def jump(engine):
    """S1: 2 of 20 counter-offers (10%) in the 28 days before the window, 3 of 10 (30%) in it."""
    trailing = inspected("T", 20, NOON - 10 * DAY, counter=2)
    load(engine, trailing + inspected("W", 10, NOON - DAY, counter=3))
    return engine


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (("change_above", 100), [("S1", 0.3, 0.2, 10)]),
        (("change_above", 250), []),
        (("change_below", 10), []),
    ],
)
def test_rate_change_against_its_trailing_rate(jump, condition, expected):
    assert fired(jump, rule("counter_offer_rate", "seller", condition)) == expected


@pytest.mark.parametrize(("min_volume", "fires"), [(10, True), (21, False)])
def test_change_needs_volume_in_the_trailing_period_too(jump, min_volume, fires):
    found = fired(
        jump, rule("counter_offer_rate", "seller", ("change_above", 100), min_volume=min_volume)
    )
    assert bool(found) is fires
    if min_volume == 10:
        # the window has 10 inspected and the trailing period 20: both reach 10
        assert found[0][3] == 10


def test_volume_change_compares_with_the_average_per_window(engine):
    """28 orders over the 28 trailing days is 1 a day; 10 on the as-of day is +900%."""
    trailing = [
        order(f"T{i:02d}", dt.datetime.combine(AS_OF - dt.timedelta(days=i + 1), dt.time(9)))
        for i in range(28)
    ]
    load(engine, trailing + created("N", 10, NOON))
    orders = rule("orders_created", "overall", ("change_above", 500), window=1)
    assert fired(engine, orders) == [("all", 10.0, 6.0, 10)]
    falling = rule("orders_created", "overall", ("change_below", 50), window=1)
    # the day after: none, against 37 orders in the 28 days before it (1.32 a day)
    assert fired(engine, falling, as_of=AS_OF + DAY) == [("all", 0.0, round(37 / 28 / 2, 4), 0)]


def _target(
    month: dt.date, country: str, orders: int, amount: int = 0, category: str = "smartphone"
) -> dict:
    return {"month": month, "country": country, "category": category,
            "orders_target": orders, "paid_amount_target": amount}  # fmt: skip


def test_below_target_pro_rata(engine):
    """On 10 June, a 30-order June target is 10 orders to date; × 0.9 share = 9."""
    june = dt.date(2025, 6, 1)
    may = dt.datetime(2025, 5, 31, 12)
    orders = (
        created("F", 8, NOON) + created("M", 5, may)  # FR: 8 this month (May does not count)
        + created("D", 9, NOON - DAY, country="DE")  # DE: 9, just at the prorated share
        + created("L", 3, NOON + DAY, country="NL")  # NL: only after the as-of day
    )  # fmt: skip
    targets = [_target(june, c, 30) for c in ("FR", "DE", "NL")] + [
        _target(june, "FR", 60, category="laptop")
    ]
    load(engine, orders, targets)
    country = rule("orders_created", "country", ("below_target", 0.9))
    assert fired(engine, country) == [("FR", 8.0, 27.0, 8), ("NL", 0.0, 9.0, 0)]
    assert fired(engine, rule("orders_created", "overall", ("below_target", 1.0))) == [
        ("all", 17.0, 50.0, 17)
    ]
    category = rule("orders_created", "category", ("below_target", 1.0))
    assert fired(engine, category) == [("laptop", 0.0, 20.0, 0), ("smartphone", 17.0, 30.0, 17)]


@pytest.mark.parametrize(
    "month",
    [dt.date(2025, 7, 1), dt.date(2024, 2, 1), dt.date(2025, 2, 1)],
    ids=["31-days", "leap-february", "february"],
)
def test_below_target_pro_rates_by_the_month_s_real_length(engine, month):
    """3 orders a day over the whole month: on day 10 the share to date is 30, so 29 orders
    are below it — in a 31-day month as in February (a 30-day month would say 31, 29, 28)."""
    as_of = month.replace(day=10)
    length = calendar.monthrange(month.year, month.month)[1]
    load(engine, created("F", 29, dt.datetime.combine(as_of, dt.time(12))),
         [_target(month, "FR", 3 * length)])  # fmt: skip
    found = fired(engine, rule("orders_created", "country", ("below_target", 1.0)), as_of=as_of)
    assert found == [("FR", 29.0, 30.0, 29)]


def test_paid_amount_below_target(engine):
    june = dt.date(2025, 6, 1)
    paid = [
        order(f"P{i}", NOON - 5 * DAY, status="paid", paid_at=NOON, paid_price=100)
        for i in range(3)
    ]
    load(engine, paid, [_target(june, "FR", 0, amount=3000), _target(june, "DE", 0, amount=900)])
    # prorated to day 10 of 30: FR 1000, DE 300; FR paid 300, DE nothing
    assert fired(engine, rule("paid_amount", "country", ("below_target", 1.0))) == [
        ("DE", 0.0, 300.0, 0), ("FR", 300.0, 1000.0, 3),
    ]  # fmt: skip


def test_grade_mismatch_rates(engine):
    orders = (
        inspected("A", 6, NOON, declared_grade="good", inspected_grade="good")
        + inspected("B", 3, NOON, declared_grade="good", inspected_grade="used")
        + inspected("C", 1, NOON, declared_grade="flawless", inspected_grade="cracked")
    )
    load(engine, orders)
    assert fired(engine, rule("grade_mismatch_rate", "seller", ("above", 0.3))) == [
        ("S1", 0.4, 0.3, 10)
    ]
    assert fired(engine, rule("grade_mismatch_2plus_rate", "seller", ("above", 0.05))) == [
        ("S1", 0.1, 0.05, 10)
    ]


def test_onboarding_stalled(engine):
    sellers = [
        {"seller_id": "N1", "name": "New one", "country": "FR", "status": "onboarding",
         "created_at": NOON - 20 * DAY},
        {"seller_id": "N2", "name": "Recent", "country": "FR", "status": "onboarding",
         "created_at": NOON - 10 * DAY},
    ]  # fmt: skip
    insert_rows(engine, schema.sellers, sellers)
    steps = [{"seller_id": s["seller_id"], "step": step, "completed_at": None} for s in sellers
             for step in ("contract_signed",)]  # fmt: skip
    insert_rows(engine, schema.seller_onboarding, steps)
    assert fired(engine, rule("onboarding_stall_days", "seller", ("above", 14))) == [
        ("N1", 20.0, 14.0, 1)
    ]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("failed_syncs", [("all", 1.0, 0.0, 1)]),
        ("failed_pricing_pushes", [("all", 1.0, 0.0, 1)]),
        ("failed_runs", [("all", 2.0, 0.0, 2)]),
    ],
)
def test_failed_runs_in_the_last_day_up_to_now(engine, metric, expected):
    runs = [
        run_row("a", NOW - dt.timedelta(hours=2)),
        run_row("b", NOW - dt.timedelta(hours=3), kind="pricing"),
        run_row("c", NOW - dt.timedelta(hours=30)),  # older than a day
        run_row("d", NOW - dt.timedelta(hours=1), status="succeeded"),
    ]
    insert_rows(engine, schema.sync_runs, runs)
    assert fired(engine, rule(metric, "overall", ("above", 0), window=1)) == expected


def test_no_failed_run_is_quiet(engine):
    assert fired(engine, rule("failed_runs", "overall", ("above", 0), window=1)) == []
