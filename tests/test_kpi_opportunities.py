"""`Pricing opportunities`: the moves found and their figures are the win model's, on both DBs.

The hand-made market of ``test_winmodel.load_market`` (a phone in FR: A leads
at 100, B at 98, C at 90; a thin console cell in DE: A 200, B 196) plus a
lone leader and a tied pair. Every figure is recomputed here from
``winmodel.expected_at_price`` with the model fitted as the sync fits it, the
rules of the moves from the Pricing tab's own suggestions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pytest
from helpers import order, shipped_template
from kpi_data import frame, records
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from test_winmodel import AS_OF, load_market

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.kpis import moves
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.winmodel import Market, expected_at_price, fit

KEY = ("Seller ID", "Product ID", "Grade", "Country")
EVERY_MOVE = {"min_extra_orders": 0.0, "min_kept": 0.0}
"""Thresholds off: every move with a gain shows."""


def template(**params: Any) -> TabTemplate:
    shipped = shipped_template("pricing_opportunities")
    return dataclasses.replace(shipped, params={**shipped.params, **params})


def rows(engine: Engine, tab: TabTemplate, **filters: tuple[str, ...]) -> list[dict[str, Any]]:
    return records(frame(engine, tab, as_of=AS_OF, filters=filters or None))


def key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row[k] for k in KEY)


def add_edge_cells(engine: Engine) -> None:
    """A alone on P1 flawless FR (with orders, so it has demand); A and B tied on P1 used FR."""
    listings = [("A", "flawless", "150"), ("A", "used", "80"), ("B", "used", "80")]
    with engine.begin() as conn:
        conn.execute(insert(schema.price_grid), [
            {"seller_id": s, "product_id": "P1", "grade": g, "country": "FR",
             "price": Decimal(p), "currency": "EUR", "version": 1,
             "updated_at": dt.datetime(2025, 5, 1), "updated_by": "test"}
            for s, g, p in listings
        ])  # fmt: skip


def add_listings(engine: Engine, *listings: tuple[str, str, str, str, str]) -> None:
    """(seller, product, grade, country, price) rows of ``price_grid``."""
    with engine.begin() as conn:
        conn.execute(insert(schema.price_grid), [
            {"seller_id": s, "product_id": p, "grade": g, "country": c, "price": Decimal(e),
             "currency": "EUR", "version": 1, "updated_at": dt.datetime(2025, 5, 1),
             "updated_by": "test"}
            for s, p, g, c, e in listings
        ])  # fmt: skip


def add_wide_lead(engine: Engine) -> None:
    """A phone P4 in FR where A leads C by 10 % and wins 9 orders a day of 10: stepping down
    to one euro ahead of C loses orders (a lead under 2 % wins 6 in 10 on P1)."""
    with engine.begin() as conn:
        conn.execute(insert(schema.products), [{
            "product_id": "P4", "category": "smartphone", "brand": "X", "model": "P4",
            "release_year": 2021}])  # fmt: skip
        conn.execute(insert(schema.tradein_orders), [
            order(f"W{day:02d}{i}", dt.datetime(2025, 6, day, 8 + i), product_id="P4",
                  seller_id="A" if i < 9 else "C")
            for day in range(1, 11) for i in range(10)
        ])  # fmt: skip
    add_listings(engine, ("A", "P4", "good", "FR", "110"), ("C", "P4", "good", "FR", "100"))


def add_twin(engine: Engine) -> None:
    """P3: P1's listings, price history and orders again, so every move of P1 has a twin of
    exactly the same worth (the two cells share the smartphone × FR curve)."""
    with engine.begin() as conn:
        for table in (schema.products, schema.price_grid, schema.price_changes,
                      schema.tradein_orders):  # fmt: skip
            rows = [dict(r._mapping) for r in conn.execute(select(table)).all()]
            twins = [r | {"product_id": "P3", "model": "P3"} for r in rows
                     if r["product_id"] == "P1"]  # fmt: skip
            for twin in twins:
                twin.pop("change_id", None)
                if "order_id" in twin:
                    twin["order_id"] = "P3" + twin["order_id"]
            conn.execute(
                insert(table), [{k: v for k, v in t.items() if k in table.c} for t in twins]
            )


def add_target(
    engine: Engine, country: str, category: str, orders: int, month: dt.date = AS_OF
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.targets), [{
            "month": month.replace(day=1), "country": country, "category": category,
            "orders_target": orders, "paid_amount_target": Decimal("1000.00"),
        }])  # fmt: skip


def cents(money: Decimal) -> int:
    return int(money * 100)


def money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def model_figures(engine: Engine, row: dict[str, Any]) -> dict[str, Decimal]:
    """The row's figures straight from the win model, listing by listing."""
    g = schema.price_grid.c
    with engine.connect() as conn:
        model = fit(conn, AS_OF)
        others = conn.execute(
            select(g.price).where(
                g.product_id == row["Product ID"], g.grade == row["Grade"],
                g.country == row["Country"], g.seller_id != row["Seller ID"],
            )
        ).scalars()  # fmt: skip
        others_cents = [cents(p) for p in others]
    market = Market(row["Product ID"], row["Grade"], row["Country"], row["Category"])
    now = expected_at_price(model, market, cents(row["Current price"]), others_cents)
    then = expected_at_price(model, market, cents(row["Suggested price"]), others_cents)
    cost = then * float(row["Suggested price"] - row["Current price"])
    growth = row["Move"] == "growth"
    return {
        "Expected orders 28d": money(now), "Expected at suggested": money(then),
        "Order change": money(then - now), "Cost change 28d": money(cost),
        "Orders per €100": money((then - now) / cost * 100) if growth else None,
        "Kept 28d": None if growth else money(-cost),
    }  # fmt: skip


def test_the_moves_are_the_suggestions_worth_making_with_the_models_figures(
    engine: Engine,
) -> None:
    load_market(engine, thin=True)
    got = rows(engine, template())
    assert [(r["Move"], r["Rank"], r["Seller ID"], r["Country"]) for r in got] == [
        ("growth", 1, "B", "FR"),  # 98 → 101: from second to first
        ("growth", 2, "C", "FR"),  # 90 → 101: more orders, but each costs 11 € more
        ("savings", 1, "A", "FR"),  # 100 → 99: still ahead of B's 98
    ]  # the DE console moves are too small to show (a few orders a quarter)
    assert [r["Suggested price"] for r in got] == [Decimal("101.00")] * 2 + [Decimal("99.00")]
    for row in got:
        for name, value in model_figures(engine, row).items():
            assert row[name] == value, (key(row), name)
        assert row["Target weight"] == Decimal("1.00")  # no targets
    growth = [r for r in got if r["Move"] == "growth"]
    assert all(r["Order change"] >= Decimal("0.5") for r in growth)
    assert growth[0]["Orders per €100"] > growth[1]["Orders per €100"]
    assert got[0]["Listing"] == "Seller B · P1 · good · FR"


def test_tiny_moves_show_once_the_thresholds_allow_them(engine: Engine) -> None:
    load_market(engine, thin=True)
    got = {key(r): r for r in rows(engine, template(**EVERY_MOVE))}
    b_de, a_de = ("B", "P2", "good", "DE"), ("A", "P2", "good", "DE")
    assert {b_de, a_de} <= set(got)
    assert Decimal(0) < got[b_de]["Order change"] < Decimal("0.5")
    assert Decimal(0) < got[a_de]["Kept 28d"] < Decimal(5)
    for row in (got[b_de], got[a_de]):
        for name, value in model_figures(engine, row).items():
            assert row[name] == value, (key(row), name)


def test_a_market_sheet_sees_its_rows_with_the_same_figures(engine: Engine) -> None:
    load_market(engine, thin=True)
    tab = template(**EVERY_MOVE)
    everything = {key(r): r for r in rows(engine, tab)}
    for filters in ({"country": ("DE",)}, {"seller_id": ("B",)}, {"country": ("FR",)}):
        (name, values), = filters.items()  # fmt: skip
        column = {"country": "Country", "seller_id": "Seller ID"}[name]
        seen = rows(engine, tab, **filters)
        assert seen and {r[column] for r in seen} == set(values)
        assert {key(r) for r in seen} == {k for k, r in everything.items() if r[column] in values}
        for row in seen:
            same = {h: v for h, v in everything[key(row)].items() if h != "Rank"}
            assert {h: v for h, v in row.items() if h != "Rank"} == same
        for move in moves.KINDS:  # ranked again within the sheet, from 1
            ranks = [r["Rank"] for r in seen if r["Move"] == move]
            assert ranks == list(range(1, len(ranks) + 1))


def test_a_market_behind_its_target_is_ranked_up(engine: Engine) -> None:
    """DE consoles: 2 orders by June 10 against 100 a month (33.3 by now) → weight 3."""
    load_market(engine, thin=True)
    tab = template(**EVERY_MOVE)
    before = [key(r) for r in rows(engine, tab) if r["Move"] == "growth"]
    add_target(engine, "DE", "console", 100)
    add_target(engine, "FR", "smartphone", 300)  # 100 by now, 100 done: on pace, weight 1
    add_target(engine, "FR", "smartphone", 9000, dt.date(2025, 7, 1))  # next month's: not read
    got = [r for r in rows(engine, tab) if r["Move"] == "growth"]
    de = ("B", "P2", "good", "DE")
    assert before.index(de) > 0 and key(got[0]) == de
    weights = {key(r): r["Target weight"] for r in got}
    assert weights[de] == Decimal("3.00")
    assert {w for k, w in weights.items() if k != de} == {Decimal("1.00")}
    scores = [float(r["Orders per €100"]) * float(r["Target weight"]) for r in got]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("target", "orders", "day", "weight"),
    [
        (None, 5, 10, 1.0),  # no target
        (0, 5, 10, 1.0),  # a zero target is none
        (300, 0, 10, 3.0),  # a target and no orders yet
        (300, 100, 10, 1.0),  # on pace (300 × 10 / 30)
        (300, 150, 10, 1.0),  # ahead: never weighted down
        (300, 80, 10, 1.25),  # behind
        (300, 20, 10, 3.0),  # far behind: held at 3
        (310, 155, 31, 2.0),  # the last day of a 31-day month
    ],
)
def test_the_target_weight(target: int | None, orders: int, day: int, weight: float) -> None:
    as_of = dt.date(2025, 6 if day <= 30 else 7, day)
    got = moves.target_weight(pd.Series([target]), pd.Series([orders]), as_of)
    assert got.tolist() == [pytest.approx(weight)]


def test_a_leader_alone_or_tied_gets_no_savings_move(engine: Engine) -> None:
    load_market(engine)
    add_edge_cells(engine)
    got = {key(r): r for r in rows(engine, template(**EVERY_MOVE))}
    alone, tied = (
        ("A", "P1", "flawless", "FR"),
        [("A", "P1", "used", "FR"), ("B", "P1", "used", "FR")],
    )
    assert alone not in got  # nobody to beat: no price to win, no move
    assert all(got.get(k, {}).get("Move") != "savings" for k in tied)
    assert [k for k, r in got.items() if r["Move"] == "savings"] == [("A", "P1", "good", "FR")]


def test_a_savings_move_shows_the_orders_it_loses(engine: Engine) -> None:
    load_market(engine)
    add_wide_lead(engine)
    got = {key(r): r for r in rows(engine, template())}
    a = got[("A", "P4", "good", "FR")]
    assert (a["Move"], a["Suggested price"]) == ("savings", Decimal("101.00"))
    assert a["Order change"] < 0 < a["Kept 28d"]
    for name, value in model_figures(engine, a).items():
        assert a[name] == value, name


def test_a_leader_whose_suggestion_falls_behind_gets_no_savings_move(engine: Engine) -> None:
    """A's flawless P1 (99, alone ahead of D's 50) is suggested 69.30 (its −30 % floor), so
    A's good P1 is held at 70.00 to keep grade order: below B's 98, no longer first."""
    load_market(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [{
            "seller_id": "D", "name": "Seller D", "country": "FR", "status": "active",
            "created_at": dt.datetime(2024, 1, 1)}])  # fmt: skip
    add_listings(engine, ("A", "P1", "flawless", "FR", "99"), ("D", "P1", "flawless", "FR", "50"))
    got = {key(r): r for r in rows(engine, template(**EVERY_MOVE))}
    assert ("A", "P1", "good", "FR") not in got
    # A's flawless may step down to 69.30 and stay first, but nobody sold a flawless P1:
    # nothing kept, no move, even with the thresholds at 0
    assert [k for k, r in got.items() if r["Move"] == "savings"] == []
    assert {k for k, r in got.items() if r["Move"] == "growth"} == {
        ("B", "P1", "good", "FR"), ("C", "P1", "good", "FR")
    }  # fmt: skip


def test_a_leader_by_less_than_a_step_gets_no_growth_move(engine: Engine) -> None:
    """P5 at 20.50 against 19.90: the price to win, 20.90, is above A's own price and would
    lead by 5.03 %, which wins more (9 in 10 on P4); but A is first already: no growth move."""
    load_market(engine)
    add_wide_lead(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.products), [{
            "product_id": "P5", "category": "smartphone", "brand": "X", "model": "P5",
            "release_year": 2021}])  # fmt: skip
        conn.execute(insert(schema.tradein_orders), [
            order(f"V{day:02d}", dt.datetime(2025, 6, day, 9), product_id="P5", seller_id="A")
            for day in range(1, 11)
        ])  # fmt: skip
    add_listings(engine, ("A", "P5", "good", "FR", "20.50"), ("C", "P5", "good", "FR", "19.90"))
    got = {key(r): r for r in rows(engine, template(**EVERY_MOVE))}
    assert ("A", "P5", "good", "FR") not in got
    c = got[("C", "P5", "good", "FR")]
    assert (c["Move"], c["Suggested price"]) == ("growth", Decimal("21.50"))


def test_equal_moves_are_ordered_by_key(engine: Engine) -> None:
    load_market(engine)
    add_twin(engine)
    got = rows(engine, template())
    assert [(r["Move"], r["Rank"], r["Seller ID"], r["Product ID"]) for r in got] == [
        ("growth", 1, "B", "P1"), ("growth", 2, "B", "P3"),
        ("growth", 3, "C", "P1"), ("growth", 4, "C", "P3"),
        ("savings", 1, "A", "P1"), ("savings", 2, "A", "P3"),
    ]  # fmt: skip
    twins = [(got[i], got[i + 1]) for i in (0, 2, 4)]
    for one, two in twins:
        assert one["Orders per €100"] == two["Orders per €100"]
        assert one["Kept 28d"] == two["Kept 28d"]


def test_top_keeps_the_best_of_each_kind(engine: Engine) -> None:
    load_market(engine, thin=True)
    got = rows(engine, template(top=1, **EVERY_MOVE))
    assert [(r["Move"], r["Rank"]) for r in got] == [("growth", 1), ("savings", 1)]
    full = rows(engine, template(**EVERY_MOVE))
    assert [key(r) for r in got] == [key(r) for r in full if r["Rank"] == 1]


def test_no_history_and_no_grid_give_an_empty_tab(engine: Engine) -> None:
    tab = template()
    assert frame(engine, tab, as_of=AS_OF).rows == []  # empty database
    load_market(engine)
    with engine.begin() as conn:
        conn.execute(schema.tradein_orders.delete())
    assert frame(engine, tab, as_of=AS_OF).rows == []  # listings, no orders: no demand
    result = frame(engine, tab, as_of=AS_OF)
    assert result.headers[:3] == ["Move", "Rank", "Seller ID"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"top": 0}, "params.top: 0 is not a whole number ≥ 1"),
        ({"min_kept": "5 €"}, "params.min_kept: '5 €' is not a number ≥ 0"),
    ],
)
def test_a_bad_param_is_named(engine: Engine, params: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):  # even with nothing to rank
        frame(engine, template(**params), as_of=AS_OF)
    load_market(engine)
    with pytest.raises(TemplateError, match=message):
        frame(engine, template(**params), as_of=AS_OF)
