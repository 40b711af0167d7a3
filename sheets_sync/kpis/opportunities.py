"""The `Pricing opportunities` tab (docs/design.md §7): the price moves worth most, best first.

The candidates are chosen in SQL from the Pricing tab's own suggestions
(:func:`sheets_sync.kpis.pricing.suggestions`, so the two tabs never disagree
on a price), in whole cents:

- a **growth** move: a listing not first, or tied first (its best competing
  price is at or above its own), whose suggestion is above its price;
- a **savings** move: a listing first by a margin (every competitor below it)
  whose suggestion steps down yet stays above the best competing price, so it
  is still first. A listing alone in its cell has no price to win, hence no
  suggestion and no move; a tied leader's suggestion is a step *up*.

Each row also carries its market's month to date against the ``targets`` table
(country × category, over every seller: the weight is the market's, whatever
the sheet's filters). What each move is worth — expected orders from the win
model, the value, the target weight, the rank and the top ``top`` — is one
pandas step after the SQL (:mod:`.moves`), which keeps the rows worth making.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from sheets_sync.kpis import moves, pricing
from sheets_sync.kpis.query import AfterStep, BuiltinQuery, QueryContext
from sheets_sync.schema import products, sellers, targets, tradein_orders

DEFAULTS: dict[str, Any] = {
    **pricing.DEFAULTS,
    "top": 200,
    "min_extra_orders": 0.5,
    "min_kept": 5.0,
}
"""Pricing's ``step`` (keep it equal to the Pricing tab's) and guardrails; how many moves
of each kind the tab keeps; the smallest growth (extra orders per 28 days) and saving
(€ per 28 days) worth a row."""

SQL_COLUMNS = (
    "move", "seller_id", "seller", "product_id", "category", "brand", "model", "storage_gb",
    "grade", "country", "current_price", "suggested_price", "current_cents", "suggested_cents",
    "month_target", "month_orders",
)  # fmt: skip


def _month_start(ctx: QueryContext) -> dt.datetime:
    return dt.datetime.combine(ctx.as_of.replace(day=1), dt.time())


def _month_orders(ctx: QueryContext) -> Subquery:
    """Orders created per country × category from the 1st of the month to the as-of day."""
    o, p = tradein_orders.c, products.c
    end = dt.datetime.combine(ctx.as_of + dt.timedelta(days=1), dt.time())
    return (
        select(o.country, p.category, func.count().label("orders"))
        .join_from(tradein_orders, products, p.product_id == o.product_id)
        .where(o.created_at >= _month_start(ctx), o.created_at < end)
        .group_by(o.country, p.category)
        .subquery("month_orders")
    )


def _month_targets(ctx: QueryContext) -> Subquery:
    """The as-of month's ``orders_target`` per country × category."""
    t = targets.c
    return (
        select(t.country, t.category, func.sum(t.orders_target).label("target"))
        .where(t.month == ctx.as_of.replace(day=1))
        .group_by(t.country, t.category)
        .subquery("month_targets")
    )


def _move(c: Any) -> ColumnElement[Any]:
    """``growth``, ``savings`` or NULL (no move), from the listing's prices in cents."""
    suggested, current, competing = c.monotonic, c.cents, c.competing
    growth = and_(competing >= current, suggested > current)
    savings = and_(suggested < current, suggested > competing)  # so it was first, alone
    return case((growth, literal("growth")), (savings, literal("savings")))


def build(ctx: QueryContext) -> Select[Any]:
    """One row per listing with a move, its figures in cents and its market's month."""
    listings = pricing.suggestions(ctx)
    c, p, s = listings.c, products.c, sellers.c
    done, goal = _month_orders(ctx), _month_targets(ctx)
    market = (p.category, c.country)
    move = _move(c)
    return (
        select(
            move.label("move"), c.seller_id, s.name.label("seller"), c.product_id, p.category,
            p.brand, p.model, p.storage_gb, c.grade, c.country,
            c.price.label("current_price"), pricing.money(c.monotonic).label("suggested_price"),
            c.cents.label("current_cents"), c.monotonic.label("suggested_cents"),
            goal.c.target.label("month_target"),
            func.coalesce(done.c.orders, 0).label("month_orders"),
        )
        .join_from(listings, sellers, s.seller_id == c.seller_id)
        .join(products, p.product_id == c.product_id)
        .outerjoin(goal, and_(goal.c.category == market[0], goal.c.country == market[1]))
        .outerjoin(done, and_(done.c.category == market[0], done.c.country == market[1]))
        .where(c.cents > 0, c.monotonic.is_not(None), move.is_not(None))
        .where(*pricing.sheet_filters(ctx, listings))
    )  # fmt: skip


QUERY = BuiltinQuery(
    name="pricing_opportunities",
    build=build,
    columns=(*SQL_COLUMNS, *moves.COLUMNS),
    defaults=DEFAULTS,
    order_by=("move", "rank"),
    ranks={"move": {kind: i for i, kind in enumerate(moves.KINDS)}},
    setting_params=pricing.setting_params,
    after=AfterStep(columns=moves.COLUMNS, compute=moves.compute, selects_rows=True),
)
"""Ordered growth first, then savings, each by its rank (the key breaks no tie: ranks are
unique per kind)."""
