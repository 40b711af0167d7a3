"""The win model learns who wins from the prices in force each day, on both databases.

A small market is built by hand: three listings of a phone in FR, one of
which repriced mid-way (so the leader changed), and ten orders a day split
6 / 3 / 1 between the listings in rank order. The fitted shares must be
exactly those splits at the positions the listings held *that day*, which
only a correct rebuild of the past prices from ``price_changes`` gives.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from helpers import order
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.winmodel import (
    Market,
    Position,
    expected_at_price,
    expected_orders,
    fit,
    position,
    position_of,
)
from sheets_sync.winmodel.buckets import ALONE, gap_bucket
from sheets_sync.winmodel.fit import PRIOR_ORDERS
from sheets_sync.winmodel.positions import position_counts

FIRST = dt.date(2025, 6, 1)
AS_OF = dt.date(2025, 6, 10)
SPLIT = (6, 3, 1)
"""Orders per day won by the 1st, 2nd and 3rd listing of the cell."""
PHONE = Market("P1", "good", "FR", "smartphone")


def _listing(seller: str, product: str, country: str, euros: str) -> dict[str, Any]:
    return {
        "seller_id": seller, "product_id": product, "grade": "good", "country": country,
        "price": Decimal(euros), "currency": "EUR", "version": 1,
        "updated_at": dt.datetime(2025, 5, 1), "updated_by": "test",
    }  # fmt: skip


def _change(seller: str, old: str, new: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "seller_id": seller, "product_id": "P1", "grade": "good", "country": "FR",
        "old_price": Decimal(old), "new_price": Decimal(new), "changed_by": "test",
        "changed_at": at, "source": "import",
    }  # fmt: skip


def _winners(day: int) -> list[str]:
    """Days 1-5: B (98) leads A (97) and C (90); from day 6 A (100) leads B and C."""
    ranked = ["B", "A", "C"] if day < 6 else ["A", "B", "C"]
    return [seller for seller, wins in zip(ranked, SPLIT, strict=True) for _ in range(wins)]


def load_market(engine: Engine, thin: bool = False) -> None:
    """The phone market above; ``thin`` adds a console cell in DE with two orders, both lost."""
    listings = [_listing("A", "P1", "FR", "100"), _listing("B", "P1", "FR", "98"),
                _listing("C", "P1", "FR", "90")]  # fmt: skip
    orders = [
        order(f"T{day:02d}{i}", dt.datetime(2025, 6, day, 8 + i), seller_id=seller)
        for day in range(1, 11)
        for i, seller in enumerate(_winners(day))
    ]
    if thin:
        listings += [_listing("A", "P2", "DE", "200"), _listing("B", "P2", "DE", "196")]
        orders += [
            order(f"X{i}", dt.datetime(2025, 6, 9, 9 + i), seller_id="B", product_id="P2",
                  country="DE")
            for i in range(2)
        ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [
            {"seller_id": s, "name": f"Seller {s}", "country": "FR", "status": "active",
             "created_at": dt.datetime(2024, 1, 1)} for s in "ABC"])  # fmt: skip
        conn.execute(insert(schema.products), [
            {"product_id": p, "category": c, "brand": "X", "model": p, "release_year": 2020}
            for p, c in (("P1", "smartphone"), ("P2", "console"))])  # fmt: skip
        conn.execute(insert(schema.price_grid), listings)
        conn.execute(insert(schema.price_changes), [
            _change("A", "95", "97", dt.datetime(2025, 5, 20, 9)),
            _change("A", "97", "100", dt.datetime(2025, 6, 6, 10)),
        ])  # fmt: skip
        conn.execute(insert(schema.tradein_orders), orders)


def test_positions_are_rebuilt_from_the_prices_in_force_each_day(engine: Engine) -> None:
    """Exposure (orders competed for) and wins per position: days 1-5 with A at 97 (before its
    change on day 6, at 10:00, which counts from that day), days 6-10 with A at 100."""
    load_market(engine)
    with engine.connect() as conn:
        counts = position_counts(conn, FIRST, AS_OF)
    rows = {tuple(row) for row in counts.itertuples(index=False)}
    assert rows == {
        ("smartphone", "FR", 1, 2, 50.0, 30.0),
        ("smartphone", "FR", 1, 1, 50.0, 30.0),
        ("smartphone", "FR", 2, 3, 50.0, 15.0),
        ("smartphone", "FR", 2, 4, 50.0, 15.0),
        ("smartphone", "FR", 3, 5, 50.0, 5.0),
        ("smartphone", "FR", 3, 6, 50.0, 5.0),
    }


def test_the_model_recovers_the_splits_at_the_positions_of_their_day(engine: Engine) -> None:
    load_market(engine)
    with engine.connect() as conn:
        model = fit(conn, AS_OF, days=10, demand_days=28)
    curve = model.curve("smartphone", "FR")
    expected = {
        (1, 2): 0.6,  # B ahead of A by 1.0 % (days 1-5)
        (1, 1): 0.6,  # A ahead of B by 2.04 % (days 6-10)
        (2, 3): 0.3,  # A 1.02 % behind B
        (2, 4): 0.3,  # B exactly 2 % behind A: the edge belongs to "2-5 %"
        (3, 5): 0.1,  # C 8.2 % behind
        (3, 6): 0.1,  # C exactly 10 % behind
    }
    for (rank, gap), share in expected.items():
        assert curve[rank, gap] == pytest.approx(share), (rank, gap)
        assert model.overall[rank, gap] == pytest.approx(share), (rank, gap)
    assert model.demand.of(*PHONE.__dict__.values()) == 100


def test_the_fit_reads_nothing_after_as_of(engine: Engine) -> None:
    """Fitted on days 1-5 only, A never led: it has no say in the leader's share."""
    load_market(engine)
    with engine.connect() as conn:
        model = fit(conn, dt.date(2025, 6, 5), days=5, demand_days=28)
    assert model.overall[1, 2] == pytest.approx(0.6)
    assert model.overall[2, 3] == pytest.approx(0.3)
    assert model.demand.of(*PHONE.__dict__.values()) == 50


def test_a_thin_market_is_pulled_towards_the_overall_curve(engine: Engine) -> None:
    """Two console orders in DE, both lost by the leader: its raw share is 0, the model's
    stays near the overall leader share (weight n / (n + k) on the raw 0)."""
    load_market(engine, thin=True)
    with engine.connect() as conn:
        model = fit(conn, AS_OF, days=10)
    overall = model.overall[1, 1]
    thin = model.curve("console", "DE")[1, 1]
    assert thin == pytest.approx(PRIOR_ORDERS * overall / (2 + PRIOR_ORDERS))
    assert 0.9 * overall < thin < overall
    assert model.curve("smartwatch", "AT") is model.overall


def test_shares_never_rise_with_a_worse_rank_or_gap(engine: Engine) -> None:
    load_market(engine, thin=True)
    with engine.connect() as conn:
        model = fit(conn, AS_OF, days=10)
    for curve in [model.overall, *model.curves.values()]:
        assert (np.diff(curve[1:], axis=1) <= 0).all()
        assert (np.diff(curve[1:], axis=0) <= 0).all()


# --- expected orders at a position and at a hypothetical price -----------------------------


@pytest.fixture(scope="module")
def model(module_engine: Engine):
    load_market(module_engine)
    with module_engine.connect() as conn:
        return fit(conn, AS_OF, days=10, demand_days=28)


def test_position_of_a_price_against_the_others() -> None:
    assert position_of(9_900, [10_000, 9_800]) == Position(2, 3)  # 1 % behind
    assert position_of(9_800, [10_000, 9_900]) == Position(3, 4)  # 2 % behind
    assert position_of(10_500, [10_000, 9_800]) == Position(1, 1)  # 5 % lead: "2-5 %"
    assert position_of(10_000, [10_000]) == Position(1, 3)  # tied for first
    assert position_of(10_000, [0]) == Position(ALONE, 0)  # the other is offline
    assert position_of(5_000, [10_000, 9_000, 8_000, 7_000]) == Position(4, 7)


def test_rank_and_gap_give_the_same_position_as_the_price() -> None:
    for price, others in [(9_900, [10_000, 9_800]), (10_500, [10_000]), (8_000, [10_000] * 3)]:
        best = max(others)
        rank = 1 + len({p for p in others if p > price})
        gap = 100 * (best - price) / best
        assert position(rank, gap) == position_of(price, others)
        assert gap_bucket(price, best) == position_of(price, others).gap_bucket


def test_raising_a_price_never_lowers_the_expected_orders(model) -> None:
    others = [10_000, 9_800]
    expected = [
        expected_at_price(model, PHONE, cents, others) for cents in range(8_000, 11_001, 50)
    ]
    assert all(b >= a for a, b in itertools.pairwise(expected))
    assert expected[-1] > expected[0]


def test_expected_orders_follow_the_learned_split(model) -> None:
    """100 orders in 28 days: a leader 2-5 % ahead expects 60, a runner-up 1 % behind 30."""
    assert expected_orders(model, PHONE, Position(1, 1)) == pytest.approx(60)
    assert expected_at_price(model, PHONE, 9_900, [10_000, 9_000]) == pytest.approx(30)
    assert expected_at_price(model, PHONE, 0, [10_000]) == 0
    unknown = Market("P9", "good", "FR", "smartphone")
    assert expected_at_price(model, unknown, 10_000, [9_000]) == 0


def test_a_leader_stepping_below_the_runner_up_loses_orders(model) -> None:
    ahead = expected_at_price(model, PHONE, 10_300, [10_000, 9_000])
    behind = expected_at_price(model, PHONE, 9_950, [10_000, 9_000])
    assert ahead > behind
