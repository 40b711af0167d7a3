"""Seller Scorecard figures equal a straightforward Python computation, on both databases."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from typing import Any

import helpers
import pytest
from helpers import shipped_template
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.facts import ensure_fresh
from sheets_sync.kpis import scorecard
from sheets_sync.kpis.runner import build_context, compute_frame

AS_OF = dt.date(2026, 3, 28)
MIDNIGHT = dt.datetime.combine(AS_OF, dt.time())
RATE_NAMES = ("counter_offer_rate", "sla_rate", "counter_acceptance", "csat", "avg_days_to_pay")

SELLERS = [
    # id, status, created days before as_of
    ("S1", "active", 400),
    ("S2", "active", 300),
    ("S3", "paused", 200),  # paused but active in the window: listed
    ("S4", "paused", 200),  # paused, last activity 40 days ago: not listed
    ("S5", "active", 100),  # active, no orders at all: listed with empty rates
    ("S6", "offboarded", 500),  # nothing in the window: not listed
    ("S7", "active", -3),  # signs up after as_of: not listed yet
]
PRODUCTS = [("P1", "smartphone"), ("P2", "smartphone"), ("P3", "tablet")]


def at(days_before: float, seconds: int = 0) -> dt.datetime:
    """A timestamp ``days_before`` as_of's midnight (fractions allowed), plus seconds."""
    return MIDNIGHT - dt.timedelta(days=days_before) + dt.timedelta(seconds=seconds)


def order(n: int, seller: str, created: dt.datetime, **fields: Any) -> dict[str, Any]:
    """Order ``O{n:05d}`` with only the timestamps it reached (status is not what we measure)."""
    return helpers.order(f"O{n:05d}", created, seller_id=seller, **fields)


def load(engine: Engine, orders: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [
            {"seller_id": s, "name": f"Seller {s}", "country": "FR", "status": status,
             "created_at": at(age)} for s, status, age in SELLERS
        ])  # fmt: skip
        conn.execute(insert(schema.products), [
            {"product_id": p, "category": c, "brand": "B", "model": p, "release_year": 2022}
            for p, c in PRODUCTS
        ])  # fmt: skip
        if orders:
            conn.execute(insert(schema.tradein_orders), orders)


def random_orders(seed: int = 7, count: int = 260) -> list[dict[str, Any]]:
    """A seeded mix of funnels whose events straddle every window boundary."""
    rng = random.Random(seed)
    orders = []
    for n in range(count):
        seller = rng.choice(["S1", "S1", "S1", "S2", "S2", "S3"])
        created = at(rng.randint(-1, 33), rng.choice([0, 1, 3600, 43200, 86399]))
        row = order(n, seller, created, product_id=rng.choice(["P1", "P2", "P3"]),
                    country=rng.choice(["FR", "DE"]))  # fmt: skip
        if rng.random() < 0.75:
            _funnel(row, rng)
        orders.append(row)
    orders.append(order(count, "S4", at(40)))
    return orders


def _funnel(row: dict[str, Any], rng: random.Random) -> None:
    """Received, inspected (some exactly at the 48 h SLA), maybe countered, maybe paid."""
    received = row["created_at"] + dt.timedelta(days=rng.randint(1, 3), seconds=rng.randint(0, 9))
    inspect_after = rng.choice([3600, 86400, 172800, 172801, 260000])
    inspected = received + dt.timedelta(seconds=inspect_after)
    row.update(shipped_at=row["created_at"] + dt.timedelta(hours=5), received_at=received,
               inspected_at=inspected, inspected_grade="good", status="validated")  # fmt: skip
    agreed = inspected
    if rng.random() < 0.35:
        answer = rng.choice(["accepted", "refused", "expired", None])
        row.update(counter_offer_price=Decimal("80.00"), counter_offer_status=answer,
                   status="counter_offered")  # fmt: skip
        if answer is None:
            return
        agreed = inspected + dt.timedelta(hours=rng.randint(1, 60))
        row["counter_answered_at"] = agreed
        if answer != "accepted":
            row.update(returned_at=agreed, status="returned")
            return
    if rng.random() < 0.8:
        row.update(paid_at=agreed + dt.timedelta(seconds=rng.randint(3600, 6 * 86400)),
                   paid_price=Decimal("90.00"), status="paid",
                   csat=rng.choice([None, None, 1, 3, 4, 5]))  # fmt: skip


# -- the independent reference ------------------------------------------------------------


def in_window(ts: dt.datetime | None, days: int) -> bool:
    return ts is not None and AS_OF - dt.timedelta(days=days - 1) <= ts.date() <= AS_OF


def share(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def reference(orders: list[dict[str, Any]], seller: str, days: int) -> dict[str, Any]:
    """The scorecard's figures for one seller and window, by plain loops."""
    category = dict(PRODUCTS)
    mine = [o for o in orders if o["seller_id"] == seller]
    created = [o for o in mine if in_window(o["created_at"], days)]
    cells = {(o["country"], category[o["product_id"]]) for o in created}
    market = [o for o in orders if in_window(o["created_at"], days)
              and (o["country"], category[o["product_id"]]) in cells]  # fmt: skip
    inspected = [o for o in mine if in_window(o["inspected_at"], days)]
    within = [o for o in inspected
              if (o["inspected_at"] - o["received_at"]).total_seconds() <= 48 * 3600]  # fmt: skip
    answered = [o for o in mine if in_window(o["counter_answered_at"], days)]
    accepted = [o for o in answered if o["counter_offer_status"] == "accepted"]
    refused = [o for o in answered if o["counter_offer_status"] in ("refused", "expired")]
    paid = [o for o in mine if in_window(o["paid_at"], days)]
    rated = [o["csat"] for o in paid if o["csat"] is not None]
    waits = [(o["paid_at"] - (o["counter_answered_at"] or o["inspected_at"])).total_seconds()
             for o in paid]  # fmt: skip
    return {
        f"orders_{days}d": len(created),
        f"inspected_{days}d": len(inspected),
        f"win_share_{days}d": share(len(created), len(market)),
        f"counter_offer_rate_{days}d": share(
            sum(o["counter_offer_price"] is not None for o in inspected), len(inspected)
        ),
        f"sla_rate_{days}d": share(len(within), len(inspected)),
        f"counter_acceptance_{days}d": share(len(accepted), len(accepted) + len(refused)),
        f"csat_{days}d": share(sum(rated), len(rated)),
        f"avg_days_to_pay_{days}d": share(sum(waits), 86400 * len(waits)),
    }


def reference_status(figures: dict[str, Any], params: dict[str, Any]) -> str:
    window = params["status_window_days"]
    if figures[f"orders_{window}d"] < params["min_volume"]:
        return "LOW VOLUME"
    colours = []
    for metric, limits in params["thresholds"].items():
        value = figures[f"{metric}_{window}d"]
        worse = (lambda a, b: a > b) if limits["direction"] == "above" else (lambda a, b: a < b)
        if value is not None and worse(value, limits["red"]):
            colours.append("RED")
        elif value is not None and worse(value, limits["amber"]):
            colours.append("AMBER")
    return "RED" if "RED" in colours else "AMBER" if colours else "GREEN"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market(module_engine: Engine) -> tuple[Engine, list]:
    """The seeded market, in one database per kind shared by this module's tests."""
    orders = random_orders()
    load(module_engine, orders)
    return module_engine, orders


def run(engine: Engine, **context: Any) -> dict[str, dict[str, Any]]:
    """The scorecard rows keyed by seller id, as the database returns them."""
    with engine.connect() as conn:
        ensure_fresh(conn)  # the daily facts it rolls up, as the runner does
        result = conn.execute(scorecard.build(scorecard.QUERY.context(AS_OF, **context)))
        return {row["seller_id"]: dict(row) for row in result.mappings()}


# -- tests ---------------------------------------------------------------------------------


def test_lists_active_sellers_and_others_with_activity(market):
    engine, _ = market
    assert sorted(run(engine)) == ["S1", "S2", "S3", "S5"]


@pytest.mark.parametrize(
    ("event", "days_before", "listed"),
    [
        ("shipped_at", 10, True),
        ("received_at", 27, True),  # the first instant of the window
        ("cancelled_at", 0.1, True),
        ("returned_at", 3, True),
        ("returned_at", 27.01, False),  # the day before it
    ],
)
def test_a_paused_seller_with_any_order_event_in_28_days_is_listed(
    engine, event, days_before, listed
):
    """Even when the event is not one the scorecard measures (a shipment, a return…)."""
    load(engine, [order(1, "S4", at(60), **{event: at(days_before)})])
    assert ("S4" in run(engine)) is listed


@pytest.mark.parametrize("seller", ["S1", "S2", "S3", "S5"])
@pytest.mark.parametrize("days", [7, 28])
def test_figures_match_reference(market, seller, days):
    engine, orders = market
    row = run(engine)[seller]
    expected = reference(orders, seller, days)
    for name, value in expected.items():
        assert row[name] == (pytest.approx(value, rel=1e-12) if value is not None else None), name


def test_reference_data_exercises_every_measure(market):
    """Guards the dataset itself: each figure is non-trivial for the main seller."""
    _, orders = market
    for days in (7, 28):
        figures = reference(orders, "S1", days)
        assert all(v not in (None, 0) for v in figures.values()), figures
        assert 0 < figures[f"win_share_{days}d"] < 1


def test_status_follows_template_thresholds(market):
    engine, orders = market
    params = shipped_template("seller_scorecard").params
    rows = run(engine, params=params)
    for seller, row in rows.items():
        figures = reference(orders, seller, 28) | reference(orders, seller, 7)
        assert row["status"] == reference_status(figures, params), seller


@pytest.mark.parametrize("min_volume", [1, 10, 10_000])
def test_status_with_other_limits(market, min_volume):
    engine, orders = market
    params = {"min_volume": min_volume, "status_window_days": 7, "thresholds": {
        "counter_offer_rate": {"direction": "above", "amber": 0.1, "red": 0.2},
        "avg_days_to_pay": {"direction": "above", "amber": 2.0, "red": 3.0},
    }}  # fmt: skip
    for seller, row in run(engine, params=params).items():
        assert row["status"] == reference_status(reference(orders, seller, 7), params), seller


def test_seller_filter_keeps_whole_market_share(market):
    engine, _ = market
    everyone = run(engine)
    only = run(engine, filters={"seller_id": ("S2",)})
    assert list(only) == ["S2"]
    assert only["S2"] == everyone["S2"]


def test_country_filter_counts_only_those_markets(market):
    engine, orders = market
    rows = run(engine, filters={"country": ("DE",)})
    german = [o for o in orders if o["country"] == "DE"]
    for seller in ("S1", "S2"):
        for days in (7, 28):
            for name, value in reference(german, seller, days).items():
                expected = pytest.approx(value, rel=1e-12) if value is not None else None
                assert rows[seller][name] == expected, (seller, name)


def test_idle_active_seller_has_zero_volume_and_no_rates(market):
    engine, _ = market
    row = run(engine)["S5"]
    assert (row["orders_7d"], row["orders_28d"]) == (0, 0)
    assert all(row[f"{name}_{w}d"] is None for name in (*RATE_NAMES, "win_share")
               for w in (7, 28))  # fmt: skip
    assert row["status"] == "LOW VOLUME"


# Window boundaries: day 1 is as_of itself, so day 7 starts 6 days before its midnight.
@pytest.mark.parametrize(
    ("created", "in_7", "in_28"),
    [
        (at(0, 86399), True, True),  # last second of as_of
        (at(-1), False, False),  # the day after as_of
        (at(6), True, True),  # first second of day 7
        (at(7, 86399), False, True),  # last second of day 8
        (at(27), False, True),  # first second of day 28
        (at(28, 86399), False, False),  # last second of day 29
    ],
)
def test_trailing_window_boundaries(engine, created, in_7, in_28):
    load(engine, [order(1, "S1", created)])
    row = run(engine)["S1"]
    assert (row["orders_7d"], row["orders_28d"]) == (int(in_7), int(in_28))


def _graded_batch(counter_offers: int, within_sla: int, volume: int = 20) -> list[dict]:
    """``volume`` orders inspected on as_of: the first ones countered, some late vs the SLA."""
    rows = []
    for n in range(volume):
        received = at(3)
        late = dt.timedelta(hours=48, seconds=0 if n < within_sla else 1)
        rows.append(
            order(
                n,
                "S1",
                at(4),
                received_at=received,
                inspected_at=received + late,
                counter_offer_price=Decimal("50.00") if n < counter_offers else None,
            )
        )
    return rows  # fmt: skip


LIMITS = {
    "min_volume": 20,
    "status_window_days": 28,
    "thresholds": {
        "counter_offer_rate": {"direction": "above", "amber": 0.25, "red": 0.35},
        "sla_rate": {"direction": "below", "amber": 0.85, "red": 0.75},
    },
}


@pytest.mark.parametrize(
    ("counter_offers", "within_sla", "volume", "status"),
    [
        (5, 20, 20, "GREEN"),  # 0.25 exactly on amber: keeps the better colour
        (6, 20, 20, "AMBER"),  # 0.30
        (7, 20, 20, "AMBER"),  # 0.35 exactly on red
        (8, 20, 20, "RED"),  # 0.40
        (0, 17, 20, "GREEN"),  # SLA 0.85 on amber (lower is worse)
        (0, 16, 20, "AMBER"),  # 0.80
        (0, 15, 20, "AMBER"),  # 0.75 on red
        (0, 14, 20, "RED"),  # 0.70
        (8, 17, 20, "RED"),  # the worst colour wins
        (8, 14, 19, "LOW VOLUME"),  # under min_volume, whatever the rates
    ],
)
def test_rag_thresholds_at_and_around_limits(engine, counter_offers, within_sla, volume, status):
    load(engine, _graded_batch(counter_offers, within_sla, volume))
    row = run(engine, params=LIMITS)["S1"]
    assert row["counter_offer_rate_28d"] == pytest.approx(counter_offers / volume)
    assert row["sla_rate_28d"] == pytest.approx(within_sla / volume)
    assert row["status"] == status


def test_days_to_pay_start_at_agreement(engine):
    """Validated at inspection: from inspection; after an accepted counter-offer: from the answer."""
    load(engine, [
        order(1, "S1", at(9), inspected_at=at(6), paid_at=at(3)),
        order(2, "S1", at(9), inspected_at=at(8), counter_offer_price=Decimal("70.00"),
              counter_offer_status="accepted", counter_answered_at=at(5), paid_at=at(4)),
    ])  # fmt: skip
    row = run(engine)["S1"]
    assert row["avg_days_to_pay_7d"] == pytest.approx((3 + 1) / 2)
    assert row["counter_acceptance_7d"] == 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"thresholds": {"refund_rate": {"direction": "above", "amber": 1, "red": 2}}},
         "params.thresholds.refund_rate: unknown metric"),
        ({"thresholds": {"sla_rate": {"direction": "up", "amber": 0.9, "red": 0.8}}},
         "params.thresholds.sla_rate.direction: 'up' is not allowed"),
        ({"thresholds": {"sla_rate": {"direction": "below", "amber": 0.8, "red": 0.9}}},
         "red 0.9 is not beyond amber 0.8"),
        ({"thresholds": {"csat": {"direction": "below", "amber": "4"}}},
         "needs exactly `direction`, `amber` and `red`"),
        ({"thresholds": {"csat": {"direction": "below", "amber": "4", "red": 3}}},
         "params.thresholds.csat.amber: '4' is not a number"),
        ({"status_window_days": 14}, "params.status_window_days: 14 is not a window of this tab"),
        ({"min_volume": -1}, "params.min_volume: -1 is not a whole number ≥ 0"),
    ],
)  # fmt: skip
def test_bad_params_name_the_key_and_the_fix(params, message):
    with pytest.raises(TemplateError, match="Fix:") as error:
        scorecard.build(scorecard.QUERY.context(AS_OF, params=params))
    assert message in str(error.value)


def test_win_share_counts_only_the_cells_a_seller_sold_in_that_window(engine):
    """S1 sold a tablet in DE 20 days ago only: that cell counts for 28 days, not for 7."""
    spec = [  # seller, product (P1 smartphone, P3 tablet), country, days before as_of
        *[("S1", "P1", "FR", 2)] * 3, ("S1", "P3", "DE", 20),
        ("S2", "P1", "FR", 1), *[("S2", "P3", "DE", 3)] * 2, *[("S2", "P1", "DE", 4)] * 5,
    ]  # fmt: skip
    orders = [order(n, s, at(d), product_id=p, country=c) for n, (s, p, c, d) in enumerate(spec)]
    load(engine, orders)
    rows = run(engine)
    expected = {("S1", 7): 3 / 4, ("S1", 28): 4 / 7, ("S2", 7): 8 / 11, ("S2", 28): 8 / 12}
    for (seller, days), value in expected.items():
        assert reference(orders, seller, days)[f"win_share_{days}d"] == pytest.approx(value)
        assert rows[seller][f"win_share_{days}d"] == pytest.approx(value), (seller, days)


def test_template_runs_through_the_runner(market):
    """The template's columns map onto the query and come out typed."""
    engine, orders = market
    template = shipped_template("seller_scorecard")
    with engine.connect() as conn:
        frame = compute_frame(conn, template, build_context(conn, template, as_of=AS_OF))
    rows = {row[0]: dict(zip(frame.headers, row, strict=True)) for row in frame.rows}
    assert sorted(rows) == ["S1", "S2", "S3", "S5"]
    s1 = reference(orders, "S1", 28)
    assert rows["S1"]["Orders 28d"] == s1["orders_28d"]
    assert rows["S1"]["SLA rate 28d"] == pytest.approx(s1["sla_rate_28d"], abs=1e-6)
    assert rows["S1"]["Status"] in scorecard.STATUSES


@pytest.mark.parametrize(
    ("metric", "direction", "window"),
    [
        ("sla_rate", "below", 28),
        ("counter_offer_rate", "above", 7),
        ("avg_days_to_pay", "above", 28),
        ("csat", "below", 7),
    ],
)
def test_each_colour_is_reachable(market, metric, direction, window):
    """Limits set between the three sellers' own figures give one seller each colour."""
    engine, orders = market
    values = sorted(reference(orders, s, window)[f"{metric}_{window}d"] for s in ("S1", "S2", "S3"))
    assert len(set(values)) == 3, values
    best_first = values if direction == "above" else values[::-1]
    amber, red = ((a + b) / 2 for a, b in itertools.pairwise(best_first))
    params = {"min_volume": 1, "status_window_days": window,
              "thresholds": {metric: {"direction": direction, "amber": amber, "red": red}}}  # fmt: skip
    rows = run(engine, params=params)
    colours = {rows[s]["status"] for s in ("S1", "S2", "S3")}
    assert colours == {"GREEN", "AMBER", "RED"}
    for seller in ("S1", "S2", "S3"):
        figures = reference(orders, seller, window)
        assert rows[seller]["status"] == reference_status(figures, params), seller
