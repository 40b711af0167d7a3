"""The Pricing tab's impact columns (docs/design.md §7): the win model's figures, per listing.

On the small phone market of ``test_winmodel`` (A 100.00, B 98.00, C 90.00 in
one cell, 100 orders over ten days split 6 / 3 / 1 by rank) the fitted model
is known by hand: the cell's 28-day demand is 50 (100 orders over the 56-day
history, scaled to 28), a leader wins 0.6 of it, the runner-up 0.3 and the
third 0.1. Each listing's suggestion is the price to win (best other + 1.00),
so every figure of the tab can be written down. The other tests check the
columns against :func:`expected_at_price`, listing by listing, on a market
with several cells, and what a sheet's filters, a template and the sync's
scratch space change (nothing, for the figures; one fit per sync).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from helpers import TEMPLATES, order, shipped_template
from sqlalchemy import delete, insert, inspect, select, text
from sqlalchemy.engine import Engine
from test_sync import sheet_records
from test_winmodel import AS_OF, load_market

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now
from sheets_sync.kpis import impact, pricing
from sheets_sync.kpis.after import with_after
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.sync import load_all_templates
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.winmodel import Market, expected_at_price, fit

IMPACT = ("Cell demand 28d", "Expected orders 28d", "Expected at suggested 28d",
          "Cost change at suggested 28d")  # fmt: skip
CENT = Decimal("0.01")


def _rows(frame: TabFrame) -> dict[tuple[str, ...], dict[str, Any]]:
    """Key → the row's cells by header."""
    return {frame.key_of(row): dict(zip(frame.headers, row, strict=True)) for row in frame.rows}


def compute(
    engine: Engine,
    template: TabTemplate | None = None,
    shared: dict[Any, Any] | None = None,
    **filters: tuple[str, ...],
) -> dict[tuple[str, ...], dict[str, Any]]:
    template = template or shipped_template("pricing")
    with engine.connect() as conn:
        ctx = build_context(conn, template, as_of=AS_OF, filters=filters, shared=shared)
        return _rows(compute_frame(conn, template, ctx))


def _seller(conn: Any, seller: str) -> None:
    conn.execute(insert(schema.sellers), [{"seller_id": seller, "name": f"Seller {seller}",
                 "country": "FR", "status": "active", "created_at": dt.datetime(2024, 1, 1)}])  # fmt: skip


def _listing(seller: str, product: str, grade: str, country: str, euros: str) -> dict[str, Any]:
    return {"seller_id": seller, "product_id": product, "grade": grade, "country": country,
            "price": Decimal(euros), "currency": "EUR", "version": 1,
            "updated_at": dt.datetime(2025, 5, 1), "updated_by": "test"}  # fmt: skip


def add_listings(engine: Engine, *listings: tuple[str, str, str, str, str]) -> None:
    with engine.begin() as conn:
        known = set(conn.execute(select(schema.sellers.c.seller_id)).scalars())
        for seller in sorted({row[0] for row in listings} - known):
            _seller(conn, seller)
        conn.execute(insert(schema.price_grid), [_listing(*row) for row in listings])


def add_flawless_orders(engine: Engine) -> None:
    """Seven flawless P1 orders in FR, the last week: A and B tied at the top win them but
    one (C's), so the flawless cell has demand and the tie a share of its own."""
    winners = ["A", "B", "A", "B", "A", "B", "C"]
    rows = [order(f"F{i}", dt.datetime(2025, 6, 4 + i, 11), seller_id=seller,
                  declared_grade="flawless") for i, seller in enumerate(winners)]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders), rows)


def key(seller: str, product: str = "P1", grade: str = "good", country: str = "FR") -> tuple:
    return (seller, product, grade, country)


# -- the figures, by hand --------------------------------------------------------------------


def test_the_columns_follow_the_pricing_contract_headers() -> None:
    """Right after the contract's twenty, before the figures at the typed price."""
    template = shipped_template("pricing")
    assert template.headers[20:24] == list(IMPACT)
    assert template.editable_headers == ["New price", "Reason"]
    kinds = {c.header: (c.type.value, c.effective_format) for c in template.columns[20:24]}
    assert kinds == {
        "Cell demand 28d": ("decimal", "0.0"),
        "Expected orders 28d": ("decimal", "0.0"),
        "Expected at suggested 28d": ("decimal", "0.0"),
        "Cost change at suggested 28d": ("money", "#,##0.00"),
    }


def test_the_figures_of_a_small_market_by_hand(engine: Engine) -> None:
    """Demand 50 per 28 days. A leads (2 % ahead: 0.6) and steps down to 99.00, still
    1 % ahead (0.6): 30 orders, 1.00 less on each, 30.00 saved. B (2 % behind: 0.3) and
    C (10 % behind: 0.1) move to 101.00, 1 % ahead of A: 30 orders each, 3.00 and 11.00
    more on each. D is offline: nothing expected, no suggestion."""
    load_market(engine)
    add_listings(engine, ("D", "P1", "good", "FR", "0.00"))
    rows = compute(engine)
    figures = {k: tuple(rows[k][h] for h in ("Suggested price", *IMPACT)) for k in rows}
    D = Decimal
    assert figures == {
        key("A"): (D("99.00"), D("50.00"), D("30.00"), D("30.00"), D("-30.00")),
        key("B"): (D("101.00"), D("50.00"), D("15.00"), D("30.00"), D("90.00")),
        key("C"): (D("101.00"), D("50.00"), D("5.00"), D("30.00"), D("330.00")),
        key("D"): (None, D("50.00"), D("0.00"), None, None),
    }


def test_cells_nobody_orders_from(engine: Engine) -> None:
    """B alone in P1 good DE, where nobody sold: no demand, so nothing expected; no
    competitor, so no price to win and no suggestion to price. A leads P2 good FR, where
    nobody sold either: stepping down to 151.00 saves nothing on no orders — 0.00, not
    -0.00."""
    load_market(engine)
    add_listings(engine, ("B", "P1", "good", "DE", "120.00"),
                 ("A", "P2", "good", "FR", "200.00"), ("B", "P2", "good", "FR", "150.00"))  # fmt: skip
    rows = compute(engine)
    lone = rows[key("B", country="DE")]
    assert lone["Suggested price"] is None
    assert [lone[h] for h in IMPACT] == [Decimal("0.00"), Decimal("0.00"), None, None]
    leader = rows[key("A", "P2")]
    assert leader["Suggested price"] == Decimal("151.00")
    assert [leader[h] for h in IMPACT] == [Decimal("0.00")] * 4
    assert not leader["Cost change at suggested 28d"].is_signed()  # never shown as -0.00
    with engine.connect() as conn:  # nor handed to the runner as -0.0 (its cache may hide it)
        ctx = build_context(conn, shipped_template("pricing"), as_of=AS_OF)
        result = conn.execute(pricing.build(ctx))
        names, out = with_after(conn, ctx, pricing.QUERY.after, list(result.keys()), result.all())
    at = [names.index(c) for c in ("seller_id", "product_id", "grade", "country")]
    cost = {tuple(row[i] for i in at): row[names.index("cost_change_at_suggested_28d")]
            for row in out}  # fmt: skip
    assert math.copysign(1.0, cost[key("A", "P2")]) == 1.0


# -- the figures against the model, listing by listing ---------------------------------------

MARKET = [
    # a second P1 grade in FR: a tie at the top, a lone listing in DE, an offline one
    ("A", "P1", "flawless", "FR", "130.00"), ("B", "P1", "flawless", "FR", "130.00"),
    ("C", "P1", "flawless", "FR", "110.00"), ("D", "P1", "flawless", "FR", "0.00"),
    ("A", "P1", "good", "DE", "80.00"),
    # the console cell in DE of the thin market has A 200 and B 196; C far behind
    ("C", "P2", "good", "DE", "150.00"),
]  # fmt: skip


def _by_hand(engine: Engine) -> dict[tuple[str, ...], tuple[float, float, float | None]]:
    """(cell demand, expected now, expected at suggested) of each listing, one at a time."""
    g, p = schema.price_grid.c, schema.products.c
    with engine.connect() as conn:
        model = fit(conn, AS_OF)
        grid = conn.execute(select(g.seller_id, g.product_id, g.grade, g.country, g.price,
                                   p.category).join(schema.products)).all()  # fmt: skip
        rows = compute(engine)
    out = {}
    for seller, product, grade, country, price, category in grid:
        k = (seller, product, grade, country)
        others = [round(r[4] * 100) for r in grid if r[1:4] == k[1:] and r[0] != seller]
        market = Market(product, grade, country, category)
        suggested = rows[k]["Suggested price"]
        out[k] = (
            model.demand.of(product, grade, country, category),
            expected_at_price(model, market, round(price * 100), others),
            None if suggested is None
            else expected_at_price(model, market, round(suggested * 100), others),
        )  # fmt: skip
    return out


def _shown(value: float | None) -> Decimal | None:
    """A figure as the runner types it: to the cent, half up (the tab shows orders to a
    tenth)."""
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(CENT, ROUND_HALF_UP)


def test_every_figure_is_the_models_expected_orders_at_that_price(engine: Engine) -> None:
    load_market(engine, thin=True)
    add_listings(engine, *MARKET)
    add_flawless_orders(engine)
    rows, by_hand = compute(engine), _by_hand(engine)
    assert set(rows) == set(by_hand)
    for k, (demand, now, at_suggested) in by_hand.items():
        row = rows[k]
        assert row["Cell demand 28d"] == _shown(demand), k
        assert row["Expected orders 28d"] == _shown(now), k
        assert row["Expected at suggested 28d"] == _shown(at_suggested), k
        if at_suggested is None:
            assert row["Cost change at suggested 28d"] is None, k
            continue
        step = int((row["Suggested price"] - row["Current price"]) * 100)
        cost = at_suggested * step / 100 if at_suggested else 0.0  # never -0.00
        assert row["Cost change at suggested 28d"] == _shown(cost), k
    assert rows[key("D", grade="flawless")]["Expected orders 28d"] == 0
    assert len({r["Cell demand 28d"] for r in rows.values()}) > 3  # several cells, not one
    assert len({r["Expected orders 28d"] for r in rows.values()}) > 5


# -- what does not change the figures --------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [{"seller_id": ("B",)}, {"country": ("DE",)}, {"seller_id": ("C", "D"), "country": ("FR",)}],
)
def test_a_filtered_sheet_shows_the_figures_of_the_whole_market(
    engine: Engine, filters: dict[str, tuple[str, ...]]
) -> None:
    """Competition is the whole market's: B filtered alone still trails A and C."""
    load_market(engine, thin=True)
    add_listings(engine, *MARKET)
    add_flawless_orders(engine)
    whole, filtered = compute(engine), compute(engine, **filters)
    assert filtered and len(filtered) < len(whole)
    for k, row in filtered.items():
        assert [row[h] for h in IMPACT] == [whole[k][h] for h in IMPACT], k


def test_listings_of_products_missing_from_the_catalogue(engine: Engine) -> None:
    """A listing of a product ``products`` lacks has no category (no curve) and is not on
    the tab, as before; it changes nothing for the others."""
    load_market(engine)
    before = compute(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # SQLite does not enforce the foreign key
            (fk,) = [f["name"] for f in inspect(conn).get_foreign_keys("price_grid")
                     if f["referred_table"] == "products"]  # fmt: skip
            conn.execute(text(f'ALTER TABLE price_grid DROP CONSTRAINT "{fk}"'))
    add_listings(engine, ("A", "P9", "good", "FR", "500.00"), ("B", "P9", "good", "FR", "400.00"))
    assert compute(engine) == before


def test_an_empty_price_grid_gives_an_empty_tab(engine: Engine) -> None:
    load_market(engine)
    with engine.begin() as conn:
        conn.execute(delete(schema.price_grid))
    assert compute(engine) == {}


def test_an_empty_database_gives_an_empty_tab(engine: Engine) -> None:
    assert compute(engine) == {}


# -- templates and the sync's scratch space --------------------------------------------------

SOME = """\
title: Pricing impact
query: pricing
key: [Seller ID, Product ID, Grade, Country]
columns:
  - {header: Seller ID, type: text}
  - {header: Product ID, type: text}
  - {header: Grade, type: text}
  - {header: Country, type: text}
  - {header: Orders now, source: expected_orders_28d, type: decimal}
  - {header: Cost, source: cost_change_at_suggested_28d, type: money}
"""


def _templates(tmp_path: Any, db_url: str, extra: str) -> Settings:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES / "tabs", templates / "tabs")
    (templates / "tabs" / "pricing_impact.yaml").write_text(extra, encoding="utf-8")
    return Settings.load(environ={}, database_url=db_url, templates_dir=templates)


def test_a_tab_showing_some_of_the_columns_gets_the_same_figures(
    engine: Engine, db_url: str, tmp_path: Any
) -> None:
    load_market(engine)
    settings = _templates(tmp_path, db_url, SOME)
    some = load_all_templates(settings)["Pricing impact"]
    whole, part = compute(engine), compute(engine, some)
    assert set(part) == set(whole)
    for k, row in part.items():
        assert (row["Orders now"], row["Cost"]) == (
            whole[k]["Expected orders 28d"], whole[k]["Cost change at suggested 28d"])  # fmt: skip


def test_the_model_is_fitted_once_per_sync_and_kept_in_its_scratch(engine: Engine) -> None:
    """Two tabs of one sync share its scratch: the second finds the model and the grid the
    first made; a tab showing none of the columns does not fit the model at all."""
    load_market(engine)
    shared: dict[Any, Any] = {}
    compute(engine, shared=shared)
    assert set(shared) == {("win_model", AS_OF), ("market_grid", AS_OF)}
    model, grid = shared[("win_model", AS_OF)], shared[("market_grid", AS_OF)]
    compute(engine, shared=shared)
    assert shared[("win_model", AS_OF)] is model and shared[("market_grid", AS_OF)] is grid
    with engine.connect() as conn:  # a tab asking for the model alone gets the same one
        ctx = build_context(conn, shipped_template("pricing"), as_of=AS_OF, shared=shared)
        assert impact.win_model(conn, ctx) is model and impact.market_grid(conn, ctx) is grid
    template = shipped_template("pricing")
    without = dataclasses.replace(template, title="Plain", columns=template.columns[:20])
    fresh: dict[Any, Any] = {}
    rows = compute(engine, without, shared=fresh)
    assert fresh == {} and len(rows) == 3


def test_a_sync_with_several_tabs_using_the_model_fits_it_once(
    engine: Engine, db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real sync of Pricing, Pricing opportunities and a third tab on the pricing query:
    one fit, and every tab shows the same figures for a listing. A second sync fits again
    (nothing kept across syncs)."""
    load_market(engine)
    settings = _templates(tmp_path, db_url, SOME)
    fits: list[dt.date] = []
    real = impact.fit

    def counted(conn: Any, as_of: dt.date) -> Any:
        fits.append(as_of)
        return real(conn, as_of)

    monkeypatch.setattr(impact, "fit", counted)
    book = tmp_path / "ops.xlsx"
    tabs = ["Pricing", "Pricing opportunities", "Pricing impact"]
    sync_now(engine, settings, f"xlsx:{book}", tabs=tabs, as_of=AS_OF)
    assert fits == [AS_OF]
    pricing = {r["Seller ID"]: r for r in sheet_records(book, "Pricing")}
    some = {r["Seller ID"]: r for r in sheet_records(book, "Pricing impact")}
    moves = {r["Seller ID"]: r for r in sheet_records(book, "Pricing opportunities")}
    assert {s: r["Expected orders 28d"] for s, r in pricing.items()} == {"A": 30, "B": 15, "C": 5}
    assert {s: r["Orders now"] for s, r in some.items()} == {"A": 30, "B": 15, "C": 5}
    assert pricing["A"]["Cost change at suggested 28d"] == some["A"]["Cost"] == -30
    assert set(moves) == {"A", "B", "C"}  # A steps down (a saving), B and C move up
    for seller, move in moves.items():
        row = pricing[seller]
        assert (move["Expected orders 28d"], move["Expected at suggested"],
                move["Cost change 28d"]) == (row["Expected orders 28d"],
                row["Expected at suggested 28d"], row["Cost change at suggested 28d"])  # fmt: skip
    sync_now(engine, settings, f"xlsx:{book}", tabs=["Pricing"], as_of=AS_OF)
    assert fits == [AS_OF, AS_OF]
