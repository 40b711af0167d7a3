"""Pricing display columns equal a plain-Python computation on both databases (docs/design.md §7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from helpers import order, shipped_template
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.kpis import pricing
from sheets_sync.kpis.runner import build_context, compute_frame

AS_OF = dt.date(2026, 5, 31)
MIDNIGHT = dt.datetime.combine(AS_OF, dt.time())
D = Decimal

PRODUCTS = [
    {"product_id": "P1", "category": "smartphone", "brand": "Apple", "model": "iPhone 13",
     "storage_gb": 128, "release_year": 2021},
    {"product_id": "P2", "category": "laptop", "brand": "Apple", "model": "MacBook Pro 14",
     "storage_gb": None, "release_year": 2023},
]  # fmt: skip

GRID = [
    # P1 good FR: a tie at the top, a runner-up, an offline listing
    ("S1", "P1", "good", "FR", "200.00"), ("S2", "P1", "good", "FR", "200.00"),
    ("S3", "P1", "good", "FR", "150.00"), ("S4", "P1", "good", "FR", "0.00"),
    # P1 flawless FR: S1 alone at the top (its price to win is a saving)
    ("S1", "P1", "flawless", "FR", "300.00"), ("S2", "P1", "flawless", "FR", "250.00"),
    # P1 used FR: far apart, so both suggestions hit the ±30 % guardrail
    ("S1", "P1", "used", "FR", "100.00"), ("S2", "P1", "used", "FR", "180.00"),
    ("S4", "P1", "used", "FR", "120.00"),  # its good grade is offline: no bound on it
    # P2 FR: S3's good-grade suggestion (123.50) is lowered to its flawless one (91.00)
    ("S3", "P2", "flawless", "FR", "100.00"), ("S4", "P2", "flawless", "FR", "90.00"),
    ("S3", "P2", "good", "FR", "95.00"),
    # P2 DE: S4's flawless (60.00, unchallenged) is below its good floor (69.99 − 30 %)
    ("S4", "P2", "flawless", "DE", "60.00"),
    # P1 good DE: no competitor; P1 cracked DE: nobody online
    ("S1", "P1", "good", "DE", "120.00"),
    # P1 used DE: S1's suggestion (131.00) is lowered to its unchallenged good price
    ("S1", "P1", "used", "DE", "110.00"), ("S2", "P1", "used", "DE", "130.00"),
    ("S1", "P1", "cracked", "DE", "0.00"), ("S2", "P1", "cracked", "DE", "0.00"),
    # P2 good FR: the price to win is above the ceiling
    ("S1", "P2", "good", "FR", "4990.00"), ("S2", "P2", "good", "FR", "5500.00"),
    # P2 good DE: odd cents, the guardrail truncated towards the current price
    ("S3", "P2", "good", "DE", "33.33"), ("S4", "P2", "good", "DE", "99.99"),
    # P2 used DE: three distinct prices and a tie: dense ranks 1, 2, 2, 3
    ("S1", "P2", "used", "DE", "50.00"), ("S2", "P2", "used", "DE", "40.00"),
    ("S3", "P2", "used", "DE", "40.00"), ("S4", "P2", "used", "DE", "30.00"),
]  # fmt: skip

ORDERS = [
    # seller, product, declared grade, country, created days before as_of (+ seconds)
    ("S1", "P1", "good", "FR", 0, 86399),  # last second of as_of: in
    ("S1", "P1", "good", "FR", 27, 0),  # first second of day 28: in
    ("S1", "P1", "good", "FR", 28, 86399),  # day 29: out
    ("S1", "P1", "good", "FR", -1, 0),  # after as_of: out
    ("S1", "P1", "used", "FR", 3, 0),
    ("S1", "P1", "good", "DE", 3, 0),
    ("S2", "P1", "good", "FR", 5, 0),
    ("S2", "P1", "good", "FR", 6, 100),
]


def at(days_before: int, seconds: int = 0) -> dt.datetime:
    return MIDNIGHT - dt.timedelta(days=days_before) + dt.timedelta(seconds=seconds)


def load(engine: Engine) -> None:
    sellers = sorted({row[0] for row in GRID})
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [
            {"seller_id": s, "name": f"=HYPERLINK(\"x\") {s}", "country": "FR",
             "status": "active", "created_at": at(400)} for s in sellers
        ])  # fmt: skip
        conn.execute(insert(schema.products), PRODUCTS)
        conn.execute(insert(schema.price_grid), [
            {"seller_id": s, "product_id": p, "grade": g, "country": c, "price": D(price),
             "currency": "EUR", "version": 1 + i % 3, "updated_at": at(10),
             "updated_by": "test"} for i, (s, p, g, c, price) in enumerate(GRID)
        ])  # fmt: skip
        conn.execute(insert(schema.tradein_orders), [
            order(f"O{n}", at(days, seconds), seller_id=s, product_id=p, country=c,
                  declared_grade=g)
            for n, (s, p, g, c, days, seconds) in enumerate(ORDERS)
        ])  # fmt: skip


@pytest.fixture(scope="module")
def grid(module_engine: Engine) -> Engine:
    """The grid above in one database per kind."""
    load(module_engine)
    return module_engine


@pytest.fixture(scope="module")
def default_rows(grid: Engine) -> dict[tuple[str, ...], dict[str, Any]]:
    """The unfiltered tab with the default params, computed once per database."""
    return keyed(run(grid))


def run(engine: Engine, **context: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(pricing.build(pricing.QUERY.context(AS_OF, **context)))
        return [dict(row) for row in result.mappings()]


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {(r["seller_id"], r["product_id"], r["grade"], r["country"]): r for r in rows}


# -- the independent reference ------------------------------------------------------------


def reference(step: str = "1.00", pct: str = "30", ceiling: str = "5000.00") -> dict:
    """Every display figure per grid row, by plain loops over the lists above."""
    raw = competition(step, pct, ceiling)
    return {key: {**figures, "suggested_price": monotonic(raw, key, D(pct))}
            for key, figures in raw.items()}  # fmt: skip


def competition(step: str, pct: str, ceiling: str) -> dict:
    result = {}
    for seller, product, grade, country, price_text in GRID:
        price = D(price_text)
        cell = [D(r[4]) for r in GRID if r[1:4] == (product, grade, country) and D(r[4]) > 0]
        others = [D(r[4]) for r in GRID
                  if r[1:4] == (product, grade, country) and r[0] != seller and D(r[4]) > 0]  # fmt: skip
        to_win = max(others) + D(step) if others else None
        result[(seller, product, grade, country)] = {
            "current_price": price,
            "best_price": max(cell) if cell else None,
            "rank": 1 + len({p for p in cell if p > price}) if price > 0 else None,
            "price_to_win": to_win,
            "orders_28d": sum(
                1 for s, p, g, c, days, _ in ORDERS
                if (s, p, g, c) == (seller, product, grade, country) and 0 <= days <= 27
            ),
            "suggested_price": suggest(price, to_win, D(pct), D(ceiling)),
        }  # fmt: skip
    return result


def monotonic(figures: dict, key: tuple[str, ...], pct: Decimal) -> Decimal | None:
    """Lowered to the lowest proposal of the same or better grades, not under the floor."""
    own = figures[key]
    if own["suggested_price"] is None:
        return None
    seller, product, grade, country = key
    above = [
        f["suggested_price"] if f["suggested_price"] is not None else f["current_price"]
        for (s, p, g, c), f in figures.items()
        if (s, p, c) == (seller, product, country) and f["current_price"] > 0
        and schema.GRADE_RANK[g] <= schema.GRADE_RANK[grade]
    ]  # fmt: skip
    price = own["current_price"]
    floor = price - (price * pct / 100).quantize(D("0.01"), rounding="ROUND_DOWN")
    return min(max(min(above), floor), own["suggested_price"])


def suggest(price: Decimal, to_win: Decimal | None, pct: Decimal, ceiling: Decimal) -> Any:
    if price == 0 or to_win is None:
        return None
    allowance = (price * pct / 100).quantize(D("0.01"), rounding="ROUND_DOWN")
    if price - allowance > ceiling:
        return None  # every price the push takes without a reason is above the ceiling
    return min(max(to_win, price - allowance), price + allowance, ceiling)


def as_money(text: str | None) -> Decimal | None:
    return None if text is None else D(text)


# -- tests ---------------------------------------------------------------------------------

FIGURES = ("current_price", "best_price", "rank", "price_to_win", "orders_28d", "suggested_price")


@pytest.mark.parametrize(
    ("params", "step", "pct", "ceiling"),
    [
        ({}, "1.00", "30", "5000.00"),
        ({"step": 0.5, "max_change_pct": 12.5, "ceiling": 150}, "0.50", "12.5", "150.00"),
        ({"step": 5, "max_change_pct": 0}, "5.00", "0", "5000.00"),
    ],
)
def test_every_figure_matches_reference(grid, params, step, pct, ceiling):
    rows = keyed(run(grid, params=params))
    expected = reference(step, pct, ceiling)
    assert rows.keys() == expected.keys()
    for key, figures in expected.items():
        assert {name: rows[key][name] for name in FIGURES} == figures, key


@pytest.mark.parametrize(
    ("key", "best", "rank", "to_win", "suggested"),
    [
        (("S1", "P1", "good", "FR"), "200.00", 1, "201.00", "201.00"),  # tied at the top
        (("S2", "P1", "good", "FR"), "200.00", 1, "201.00", "201.00"),
        (("S3", "P1", "good", "FR"), "200.00", 2, "201.00", "195.00"),  # capped at +30 %
        (("S4", "P1", "good", "FR"), "200.00", None, "201.00", None),  # offline
        (("S1", "P1", "flawless", "FR"), "300.00", 1, "251.00", "251.00"),  # alone: a saving
        (("S1", "P1", "used", "FR"), "180.00", 3, "181.00", "130.00"),  # +30 %
        (("S2", "P1", "used", "FR"), "180.00", 1, "121.00", "126.00"),  # −30 %
        (("S4", "P1", "used", "FR"), "180.00", 2, "181.00", "156.00"),
        (("S1", "P1", "good", "DE"), "120.00", 1, None, None),  # no competitor
        (("S1", "P1", "cracked", "DE"), None, None, None, None),  # nobody online
        (("S1", "P2", "good", "FR"), "5500.00", 2, "5501.00", "5000.00"),  # ceiling
        (("S3", "P2", "good", "DE"), "99.99", 2, "100.99", "43.32"),  # 43.329 truncated
        (("S4", "P2", "good", "DE"), "99.99", 1, "34.33", "70.00"),  # 69.993 truncated up
        (("S2", "P2", "used", "DE"), "50.00", 2, "51.00", "51.00"),  # dense rank tie
        (("S3", "P2", "used", "DE"), "50.00", 2, "51.00", "43.32"),  # not above its good grade
        (("S4", "P2", "used", "DE"), "50.00", 3, "51.00", "39.00"),
        (("S3", "P2", "flawless", "FR"), "100.00", 1, "91.00", "91.00"),
        (("S1", "P1", "used", "DE"), "130.00", 2, "131.00", "120.00"),  # lowered: 131.00
        (("S3", "P2", "good", "FR"), "5500.00", 3, "5501.00", "91.00"),  # lowered: 123.50
        (("S4", "P2", "flawless", "DE"), "60.00", 1, None, None),
    ],
)
def test_worked_examples(default_rows, key, best, rank, to_win, suggested):
    row = default_rows[key]
    assert (row["best_price"], row["rank"], row["price_to_win"], row["suggested_price"]) == (
        as_money(best), rank, as_money(to_win), as_money(suggested),
    )  # fmt: skip


def test_orders_28d_counts_declared_grade_and_market_in_window(grid):
    rows = keyed(run(grid))
    assert rows[("S1", "P1", "good", "FR")]["orders_28d"] == 2  # day 1 and day 28 only
    assert rows[("S1", "P1", "used", "FR")]["orders_28d"] == 1
    assert rows[("S1", "P1", "good", "DE")]["orders_28d"] == 1
    assert rows[("S2", "P1", "good", "FR")]["orders_28d"] == 2
    assert rows[("S1", "P1", "flawless", "FR")]["orders_28d"] == 0


def test_rows_carry_identity_version_and_empty_edit_columns(grid):
    rows = run(grid)
    versions = {(s, p, g, c): 1 + i % 3 for i, (s, p, g, c, _) in enumerate(GRID)}
    for row in rows:
        key = (row["seller_id"], row["product_id"], row["grade"], row["country"])
        assert row["version"] == versions[key]
        assert (row["new_price"], row["reason"], row["status"]) == (None, None, None)
        assert row["seller"] == f'=HYPERLINK("x") {row["seller_id"]}'
        assert row["currency"] == "EUR"
    p2 = next(r for r in rows if r["product_id"] == "P2")
    assert (p2["category"], p2["brand"], p2["model"], p2["storage_gb"]) == (
        "laptop", "Apple", "MacBook Pro 14", None,
    )  # fmt: skip


def test_order_is_seller_product_country_then_grade(grid):
    rows = run(grid)
    grade_rank = schema.GRADE_RANK
    keys = [(r["seller_id"], r["product_id"], r["country"], grade_rank[r["grade"]]) for r in rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    "filters",
    [
        {"seller_id": ("S3",)},
        {"country": ("DE",)},
        {"seller_id": ("S1", "S4"), "country": ("FR",)},
        {"seller_id": ("nobody",)},
    ],
)
def test_filters_restrict_rows_not_the_competition(grid, filters):
    everything = keyed(run(grid))
    rows = keyed(run(grid, filters=filters))
    wanted = {
        key for key in everything
        if key[0] in filters.get("seller_id", (key[0],))
        and key[3] in filters.get("country", (key[3],))
    }  # fmt: skip
    assert rows.keys() == wanted
    for key, row in rows.items():
        assert row == everything[key]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"step": 0}, "params.step: 0 is not a number ≥ 0.01"),
        ({"step": "1,00"}, "params.step: '1,00' is not a number ≥ 0.01"),
        ({"max_change_pct": 1500}, "params.max_change_pct: 1500 is not a number ≥ 0 and ≤ 1000"),
        ({"max_change_pct": "30"}, "params.max_change_pct: '30' is not a number"),
        ({"ceiling": -5}, "params.ceiling: -5 is not a number ≥ 0.01"),
        ({"ceiling": float("nan")}, "params.ceiling: nan is not a number ≥ 0.01"),
    ],
)
def test_bad_params_name_the_key_and_the_fix(params, message):
    with pytest.raises(TemplateError, match="Fix:") as error:
        pricing.build(pricing.QUERY.context(AS_OF, params=params))
    assert message in str(error.value)


def test_template_has_the_contract_columns():
    """The contract fixes the first 20 headers and their order; the win model's columns
    follow (tests/test_pricing_impact.py, tests/test_typed_price.py)."""
    template = shipped_template("pricing")
    assert template.headers[:20] == [
        "Seller ID", "Seller", "Product ID", "Category", "Brand", "Model", "Storage (GB)",
        "Grade", "Country", "Currency", "Current price", "Best price", "Rank", "Price to win",
        "Orders 28d", "Suggested price", "New price", "Reason", "Status", "Version",
    ]  # fmt: skip
    assert template.headers[20:] == [
        "Cell demand 28d", "Expected orders 28d", "Expected at suggested 28d",
        "Cost change at suggested 28d", "Expected at new price 28d",
        "Cost change at new price 28d",
    ]  # fmt: skip
    assert template.editable_headers == ["New price", "Reason"]
    assert template.key == ("Seller ID", "Product ID", "Grade", "Country")
    money_columns = {c.header for c in template.columns if c.type.value == "money"}
    assert money_columns == {
        "Current price", "Best price", "Price to win", "Suggested price", "New price",
        "Cost change at suggested 28d", "Cost change at new price 28d",
    }  # fmt: skip
    assert template.query == "pricing"


def test_template_runs_through_the_runner(grid):
    """The template's columns map onto the query; money comes out as Decimal cents."""
    template = shipped_template("pricing")
    with grid.connect() as conn:
        frame = compute_frame(conn, template, build_context(conn, template, as_of=AS_OF))
    expected = reference()
    assert len(frame.rows) == len(expected)
    for row in frame.rows:
        cells = dict(zip(frame.headers, row, strict=True))
        figures = expected[frame.key_of(row)]
        assert cells["Suggested price"] == figures["suggested_price"]
        assert cells["Best price"] == figures["best_price"]
        assert cells["Orders 28d"] == figures["orders_28d"]
        assert (cells["New price"], cells["Reason"], cells["Status"]) == (None, None, None)


def test_no_suggestion_when_every_reason_free_price_is_above_the_ceiling(grid):
    """S1's flawless at 300.00 may move to 262.50 at the lowest without a reason (12.5 %):
    still above a ceiling of 150, so any price the push would take is refused; no suggestion
    rather than one the push refuses. S2's at 250.00 may reach 218.75: the same."""
    rows = keyed(run(grid, params={"max_change_pct": 12.5, "ceiling": 150}))
    assert rows[("S1", "P1", "flawless", "FR")]["suggested_price"] is None
    assert rows[("S2", "P1", "flawless", "FR")]["suggested_price"] is None
    assert rows[("S3", "P1", "good", "FR")]["suggested_price"] == D("150.00")  # 150 → 168.75
