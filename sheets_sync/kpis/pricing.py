"""The display columns of the Pricing tab (docs/design.md §7): where each listing stands.

One row per ``price_grid`` row. Within a market cell (product × grade ×
country), sellers compete to pay the customer the most, so:

- ``best_price``: the highest active price (``price > 0``) in the cell, shown on
  every row of the cell (NULL when nobody lists it);
- ``rank``: dense rank by price, highest first, among active listings (1 =
  best, ties share a rank); NULL for an offline listing (price 0);
- ``price_to_win``: the best price of the *other* sellers' active listings in
  the cell plus one ``step``: the lowest price that beats every competitor (for
  a seller already alone at rank 1 it is below its current price, a saving);
  NULL when no competitor lists the cell;
- ``orders_28d``: this seller's orders of that product, declared grade and
  country created in the 28 days ending on ``as_of``;
- ``suggested_price``: advisory, and always a price the push accepts without a
  reason: the price to win held within ±``max_change_pct`` of the current price
  (the push's reason-free change) and at most ``ceiling``, then lowered so it
  never pays more than a better grade of the same seller × product × market
  would (its suggestion, else its current price; offline grades do not count),
  though never under its own −max_change_pct floor; NULL for offline listings
  (relisting is the team's decision), when there is no price to win, and when
  no reason-free price is under the ceiling (a current price far above it).

``ceiling`` and ``max_change_pct`` are the push's own guardrails,
``SHEETS_SYNC_PRICE_CEILING`` and ``SHEETS_SYNC_PRICE_MAX_CHANGE`` × 100
(:func:`setting_params`): the template loader sets them from the settings and
refuses a template giving them another value; only ``step`` is the template's.

Money arithmetic runs in integer cents so both databases round identically. The
push refuses ``|new − current| > current × max_change`` exactly (decimals), so
the allowance is ``floor(current cents × max_change)``: the share is applied as
an exact fraction (truncated to 6 decimals, never rounded up), and the ceiling
is floored to the cent, so a suggestion never breaks a guardrail by a fraction
of a cent (33.33 at 30 % may move 9.99, not 10.00). Windows are computed over
every seller before ``filters`` (``seller_id``, ``country``) restrict the rows,
so a sheet filtered to one seller still compares it with the whole market.
``new_price``, ``reason`` and ``status`` are empty here (the team and the push
fill them); ``version`` is the row's optimistic-lock version. The impact
columns (expected orders per 28 days now and at the suggestion, its cost) are
added after the SQL by :mod:`.pricing_impact`; the figures at the price the
team typed are filled by the backend from the sheet (:mod:`.typed_price`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import BigInteger, Text, and_, case, cast, func, literal_column, null, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.errors import TemplateError
from sheets_sync.kpis import pricing_impact, typed_price
from sheets_sync.kpis.common import filter_values, number_param
from sheets_sync.kpis.query import AfterStep, BuiltinQuery, QueryContext
from sheets_sync.schema import GRADE_RANK, Money, price_grid, products, sellers, tradein_orders
from sheets_sync.tab_templates.model import SettingParam
from sheets_sync.vocabulary.arithmetic import cents, trailing_bounds

ORDERS_WINDOW_DAYS = 28
SHARE_PLACES = Decimal("0.000001")
"""The max change is applied to this precision, truncated (so never above the push's)."""
MAX_CHANGE_PCT = Decimal(1000)
"""The largest ``max_change_pct``: ``SHEETS_SYNC_PRICE_MAX_CHANGE`` is at most 10."""


def setting_params(settings: Settings) -> dict[str, SettingParam]:
    """The push's guardrails as this query's params (the template cannot change them)."""
    ceiling, max_change = settings.pricing.price_guardrails
    return {
        "ceiling": SettingParam(
            f"{ENV_PREFIX}PRICE_CEILING", ceiling, "the highest price the pricing push accepts"
        ),
        "max_change_pct": SettingParam(
            f"{ENV_PREFIX}PRICE_MAX_CHANGE", max_change,
            "the largest change the pricing push accepts without a reason", Decimal(100),
        ),
    }  # fmt: skip


DEFAULTS: dict[str, Any] = {
    "step": 1.00,
    **{name: param.value for name, param in setting_params(Settings()).items()},
}
"""``step``, and the guardrails' defaults for a context built without settings (the
template loader replaces them with the settings' values)."""

COLUMNS = (
    "seller_id",
    "seller",
    "product_id",
    "category",
    "brand",
    "model",
    "storage_gb",
    "grade",
    "country",
    "currency",
    "current_price",
    "best_price",
    "rank",
    "price_to_win",
    "orders_28d",
    "suggested_price",
    "new_price",
    "reason",
    "status",
    "version",
    *pricing_impact.COLUMNS,
    *typed_price.COLUMNS,
)


def money(cents_value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Whole cents back to money; the result type quantizes SQLite's float to cents."""
    return cast(cents_value * literal_column("0.01"), Money)


def _cells(ctx: QueryContext) -> Subquery:
    """Every listing with its recent orders, its cell's best active price and its dense rank.

    The orders are joined here, to the ``price_grid`` table itself, so SQLite
    indexes the small aggregate instead of scanning it once per listing.
    """
    g, orders = price_grid.c, _orders_28d(ctx)
    cell = (g.product_id, g.grade, g.country)
    price = cents(g.price).label("cents")
    active = price > 0
    return (
        select(
            *g, price, func.coalesce(orders.c.orders, 0).label("orders_28d"),
            func.max(case((active, price))).over(partition_by=cell).label("best"),
            case((active, func.dense_rank().over(
                partition_by=(*cell, case((active, 1), else_=0)), order_by=price.desc()))
            ).label("rank"),
        )
        .select_from(price_grid.outerjoin(orders, and_(
            orders.c.seller_id == g.seller_id, orders.c.product_id == g.product_id,
            orders.c.declared_grade == g.grade, orders.c.country == g.country)))
        .subquery("ranked")
    )  # fmt: skip


def _competition(ranked: Subquery) -> Subquery:
    """Adds the best competing price: the best, unless this listing holds it alone."""
    r = ranked.c
    cell = (r.product_id, r.grade, r.country)
    at_best = func.sum(case((r.cents == r.best, 1), else_=0)).over(partition_by=cell)
    second = func.max(case((and_(r.cents > 0, r.cents < r.best), r.cents))).over(partition_by=cell)
    competing = case((and_(r.cents == r.best, at_best == 1), second), else_=r.best)
    return select(*r, competing.label("competing")).subquery("competition")


def _orders_28d(ctx: QueryContext) -> Subquery:
    o = tradein_orders.c
    start, end = trailing_bounds(ctx.as_of, ORDERS_WINDOW_DAYS)
    return (
        select(o.seller_id, o.product_id, o.declared_grade, o.country,
               func.count().label("orders"))
        .where(o.created_at >= start, o.created_at < end)
        .group_by(o.seller_id, o.product_id, o.declared_grade, o.country)
        .subquery("orders_28d")
    )  # fmt: skip


def _guardrails(ctx: QueryContext) -> tuple[int, int, int, int]:
    """``(step, ceiling)`` in cents and the max change as a fraction ``numerator / denominator``.

    The ceiling is floored to the cent and the share truncated to
    :data:`SHARE_PLACES`: both can only make a suggestion stricter than the push.
    """
    step = round(number_param(ctx.params, "step", 0.01) * 100)
    ceiling = _guardrail(ctx.params, "ceiling", "PRICE_CEILING", Decimal("0.01"), None)
    percent = _guardrail(
        ctx.params, "max_change_pct", "PRICE_MAX_CHANGE", Decimal(0), MAX_CHANGE_PCT
    )
    share = (percent / 100).quantize(SHARE_PLACES, rounding=ROUND_DOWN)
    numerator, denominator = share.as_integer_ratio()
    return step, int((ceiling * 100).to_integral_value(ROUND_FLOOR)), numerator, denominator


def _guardrail(
    params: Mapping[str, Any], name: str, variable: str, low: Decimal, high: Decimal | None
) -> Decimal:
    """A guardrail param as an exact decimal (``0.1`` as written, not its binary float)."""
    value = params.get(name)
    number = _exact(value)
    if number is None or number < low or (high is not None and number > high):
        bounds = f"≥ {low}" + (f" and ≤ {high}" if high is not None else "")
        raise TemplateError(
            f"params.{name}: {value!r} is not a number {bounds}. Fix: it comes from "
            f"{ENV_PREFIX}{variable}; leave it out of the template's `params:`"
        )
    return number


def _exact(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def _proposals(listings: Subquery, ctx: QueryContext) -> Subquery:
    """Adds price to win and the guardrail-capped suggestion, in cents.

    ``floor`` is the lowest reason-free price; ``proposed`` is what the listing
    would pay if the suggestion were taken (its current price when there is none).
    """
    c = listings.c
    step, ceiling, numerator, denominator = _guardrails(ctx)
    to_win = c.competing + step
    allowance = c.cents * numerator // denominator  # floored: never beyond the guardrail
    high, lowest = c.cents + allowance, c.cents - allowance
    low = case((lowest < 1, 1), else_=lowest)  # 0 takes a listing offline: needs a reason
    clamped = case((to_win > high, high), (to_win < low, low), else_=to_win)
    capped = case((clamped > ceiling, ceiling), else_=clamped)
    reachable = low <= ceiling  # else every reason-free price is above the ceiling
    suggested = case((and_(c.cents > 0, to_win.is_not(None), reachable), capped))
    proposed = case((c.cents > 0, func.coalesce(suggested, c.cents)))
    grade = case(*((c.grade == g, r) for g, r in GRADE_RANK.items()), else_=0)
    return select(
        *c, to_win.label("to_win"), suggested.label("suggested"), low.label("floor"),
        proposed.label("proposed"), grade.label("grade_rank"),
    ).subquery("proposals")  # fmt: skip


def _monotonic(proposals: Subquery) -> Subquery:
    """Adds the suggestion kept at or below every better grade's proposal (same seller × product × market).

    A better grade never pays less than a worse one, so a suggestion is lowered to
    the lowest proposal of the grades above it, but never under its own guardrail
    floor: when the two conflict the guardrail wins (the push would refuse it).
    """
    p = proposals.c
    lowest_above = func.min(p.proposed).over(
        partition_by=(p.seller_id, p.product_id, p.country), order_by=p.grade_rank,
        rows=(None, 0),
    )  # fmt: skip
    lowered = case((lowest_above < p.floor, p.floor), else_=lowest_above)
    kept = case((lowered < p.suggested, lowered), else_=p.suggested)
    return select(*p, kept.label("monotonic")).subquery("monotonic")


def suggestions(ctx: QueryContext) -> Subquery:
    """Every listing (all sellers, all markets: filter the result) with, in cents, its price
    (``cents``), its cell's ``best``, the best competing price (``competing``), the price to
    win (``to_win``) and the guardrail-capped suggestion (``monotonic``); and its ``rank``.

    One definition for the Pricing tab and whoever acts on its suggestions
    (Pricing opportunities), so the two never disagree on a price.
    """
    return _monotonic(_proposals(_competition(_cells(ctx)), ctx))


def build(ctx: QueryContext) -> Select[Any]:
    """Pricing display rows ordered seller, product, country, grade (best first); the
    runner sorts them so again in Python (``QUERY.order_by``), the same on both databases."""
    listings = suggestions(ctx)
    c = listings.c
    p, s = products.c, sellers.c
    query = (
        select(
            c.seller_id,
            s.name.label("seller"),
            c.product_id,
            p.category,
            p.brand,
            p.model,
            p.storage_gb,
            c.grade,
            c.country,
            c.currency,
            c.price.label("current_price"),
            money(c.best).label("best_price"),
            cast(c.rank, BigInteger).label("rank"),
            money(c.to_win).label("price_to_win"),
            c.orders_28d,
            money(c.monotonic).label("suggested_price"),
            cast(null(), Money).label("new_price"),
            cast(null(), Text).label("reason"),
            cast(null(), Text).label("status"),
            c.version,
        )
        .join_from(listings, sellers, s.seller_id == c.seller_id)
        .join(products, p.product_id == c.product_id)
    )
    query = query.where(*sheet_filters(ctx, listings))
    return query.order_by(c.seller_id, c.product_id, c.country, c.grade_rank)


def sheet_filters(ctx: QueryContext, listings: Subquery) -> list[ColumnElement[bool]]:
    """The spreadsheet's sellers and markets, applied to :func:`suggestions` (after its
    market-wide windows, so a filtered sheet still sees every competitor)."""
    where: list[ColumnElement[bool]] = []
    for name in ("seller_id", "country"):
        if values := filter_values(ctx, name):
            where.append(listings.c[name].in_(values))
    return where


QUERY = BuiltinQuery(
    name="pricing", build=build, columns=COLUMNS, defaults=DEFAULTS,
    order_by=("seller_id", "product_id", "country", "grade"), ranks={"grade": GRADE_RANK},
    setting_params=setting_params, pending=typed_price.STEP,
    after=AfterStep(
        pricing_impact.COLUMNS, pricing_impact.impact_columns, reads=pricing_impact.READS
    ),
)  # fmt: skip
