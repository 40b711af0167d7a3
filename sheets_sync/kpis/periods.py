"""`KPI Weekly` and `KPI Monthly` (docs/design.md §4, §5): country × category per ISO week / month.

Same definitions as KPI Daily (each measure dated by its own event), rolled up
from the daily facts (``kpi_daily_facts``): the facts of the window summed per
period × country × category, and the derived rates computed as ratios of those
sums in SQL (never an average of daily rates). A zero denominator gives NULL, an
empty cell. Monthly adds the `targets` of the month and the attainment against
them.

The ship-rate cohort (orders created in the period that shipped by ``as_of``)
is the only measure that depends on ``as_of``: the facts count, per created day,
the orders that shipped at all (``created_shipped``), and a correction branch
takes off those that shipped after ``as_of``, reading the orders created in the
window with a later ``shipped_at``. It runs only when the facts hold a shipment
after ``as_of`` (a one-row guard joined first), so a sync as of the data's last
day never touches the orders.

Windows are widened to whole periods: the first week (month) of the window is
complete, the last one runs to ``as_of`` (week / month to date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.selectable import Subquery

from sheets_sync.kpis.daily import CENTS, MEASURES, measure_sources
from sheets_sync.kpis.query import BuiltinQuery, DerivedColumn, QueryContext
from sheets_sync.kpis.rollup import EVENT_COUNTS, day_window, fact_filters, facts, money
from sheets_sync.schema import Money, products, targets, tradein_orders
from sheets_sync.vocabulary.arithmetic import ratio
from sheets_sync.vocabulary.sqlfuncs import (
    day_of,
    iso_week_label,
    month_label,
    month_start,
    week_start,
)

COHORT = "created_shipped"
"""Orders created in the period that shipped by ``as_of`` (ship-rate numerator)."""

TARGETS = ("orders_target", "paid_amount_target")
SUMS = (*MEASURES, COHORT)

RATES: tuple[str, ...] = (
    "ship_rate",
    "counter_offer_rate",
    "counter_acceptance",
    "sla_rate",
    "average_paid_price",
    "csat",
)
MONTHLY_EXTRA: tuple[str, ...] = (
    "orders_target",
    "orders_attainment",
    "paid_amount_target",
    "paid_amount_attainment",
)
DIMENSIONS = ("country", "category")

Period = Callable[[ColumnElement[Any]], ColumnElement[Any]]


def _money_ratio(amount: ColumnElement[Any], count: ColumnElement[Any]) -> ColumnElement[Any]:
    """Rounding the amount to cents first gives one float on both databases."""
    return ratio(func.round(amount, 2), count)


def rate_columns(c: Any) -> list[ColumnElement[Any]]:
    """The derived rates of §4 from summed measures ``c``."""
    accepted, refused = c.counter_offers_accepted, c.counter_offers_refused
    return [
        ratio(c[COHORT], c.orders_created).label("ship_rate"),
        ratio(c.counter_offers, c.inspected).label("counter_offer_rate"),
        ratio(accepted, accepted + refused).label("counter_acceptance"),
        ratio(c.inspected_within_sla, c.inspected).label("sla_rate"),
        _money_ratio(c.paid_amount, c.paid).label("average_paid_price"),
        ratio(c.csat_sum, c.csat_responses).label("csat"),
    ]


def _zero() -> ColumnElement[Any]:
    return cast(literal_column("0"), Integer)


def _facts_branch(ctx: QueryContext, period: Period, start: dt.date | None) -> Select[Any]:
    """The facts of the window summed per period × country × category (money in cents)."""
    f = facts.c
    sources = {**measure_sources(f), COHORT: f.created_shipped}
    keys = [period(f.day), f.country, f.category]
    return (
        select(keys[0].label("period"), f.country, f.category,
               *(func.sum(sources[m]).label(m) for m in SUMS))
        .where(*day_window(facts, start, ctx.as_of), *fact_filters(facts, ctx.filters))
        .group_by(*keys)
        .having(_has_event())
    )  # fmt: skip


def _has_event() -> ColumnElement[Any]:
    """A period row exists when one of its event counts is non-zero (as in KPI Daily)."""
    return func.sum(sum((facts.c[m] for m in EVENT_COUNTS), _zero())) > 0


def _late_shipments(ctx: QueryContext, period: Period, start: dt.date | None) -> Select[Any]:
    """Minus the orders created in the window that shipped after ``as_of`` (cohort only).

    Guarded by a one-time ``EXISTS`` on the facts: with no shipment after ``as_of``
    (a sync as of the data's last day), the orders are not read at all.
    """
    o, end = tradein_orders.c, dt.datetime.combine(ctx.as_of + dt.timedelta(days=1), dt.time())
    created = period(day_of(o.created_at))
    where = [o.created_at < end, o.shipped_at >= end]
    if start is not None:
        where.append(o.created_at >= dt.datetime.combine(start, dt.time()))
    where += [
        (products.c.category if k == "category" else o[k]).in_(v)
        for k, v in ctx.filters.items() if k in ("seller_id", "country", "category") and v
    ]  # fmt: skip
    zeros = [_zero().label(m) for m in MEASURES]
    return (
        select(created.label("period"), o.country, products.c.category, *zeros,
               (-func.count()).label(COHORT))
        .select_from(_any_late_shipment(ctx).join(tradein_orders, true())
                     .join(products, products.c.product_id == o.product_id))
        .where(and_(*where))
        .group_by(created, o.country, products.c.category)
    )  # fmt: skip


def _any_late_shipment(ctx: QueryContext) -> Subquery:
    """One row when the facts hold a shipment after ``as_of``, else none: joined first,
    it stops both databases before they read a single order (an ``EXISTS`` in the
    ``WHERE`` is evaluated per order by SQLite)."""
    f = facts.c
    return (
        select(literal_column("1").label("late"))
        .where(f.day > ctx.as_of, f.shipped > 0)
        .limit(1)
        .subquery("late_shipment")
    )


def _periodic(ctx: QueryContext, period: Period, start: dt.date | None, monthly: bool) -> Subquery:
    """Summed measures (and targets) per period × country × category."""
    branches = [_facts_branch(ctx, period, start), _late_shipments(ctx, period, start)]
    if monthly:
        branches = [_with_null_targets(b) for b in branches]
        if "seller_id" not in ctx.filters:  # targets are per market, not per seller
            branches.append(_targets_branch(ctx, start))
    union = union_all(*branches).subquery("events")
    u = union.c
    keys = [u.period, u.country, u.category]
    sums = [(money(func.sum(u[m])) if m in CENTS else func.sum(u[m])).label(m) for m in SUMS]
    totals = select(*keys, *sums).group_by(*keys)
    if monthly:
        totals = totals.add_columns(*(func.max(u[t]).label(t) for t in TARGETS))
    return totals.subquery("totals")


def _with_null_targets(branch: Select[Any]) -> Select[Any]:
    return branch.add_columns(
        cast(null(), Integer).label("orders_target"),
        cast(null(), Money).label("paid_amount_target"),
    )


def _targets_branch(ctx: QueryContext, start: dt.date | None) -> Select[Any]:
    """The month's targets as a branch with zero measures, so a target with no orders shows."""
    t = targets.c
    where = [t.month <= ctx.as_of]
    if start is not None:
        where.append(t.month >= start)
    where += [t[k].in_(v) for k, v in ctx.filters.items() if k in DIMENSIONS and v]
    zeros = [_zero().label(m) for m in SUMS]
    return select(
        t.month.label("period"), t.country, t.category, *zeros, t.orders_target,
        t.paid_amount_target,
    ).where(and_(*where))  # fmt: skip


def _week(day: ColumnElement[Any]) -> ColumnElement[Any]:
    return week_start(day)


def _measure_columns(c: Any) -> list[ColumnElement[Any]]:
    return [c[m] for m in SUMS]


def build_kpi_weekly(context: QueryContext) -> Select[Any]:
    """KPI Weekly: one row per ISO week × country × category, with rates."""
    start = context.window_start
    if start is not None:
        start -= dt.timedelta(days=start.weekday())
    c = _periodic(context, _week, start, monthly=False).c
    return select(
        c.period.label("week_start"), c.country, c.category, *_measure_columns(c), *rate_columns(c)
    ).order_by(c.period, c.country, c.category)


def build_kpi_monthly(context: QueryContext) -> Select[Any]:
    """KPI Monthly: one row per month × country × category, with rates, targets, attainment."""
    start = context.window_start.replace(day=1) if context.window_start is not None else None
    c = _periodic(context, month_start, start, monthly=True).c
    return select(
        c.period.label("month_start"),
        c.country,
        c.category,
        *_measure_columns(c),
        *rate_columns(c),
        c.orders_target,
        ratio(c.orders_created, c.orders_target).label("orders_attainment"),
        c.paid_amount_target,
        _money_ratio(c.paid_amount, c.paid_amount_target).label("paid_amount_attainment"),
    ).order_by(c.period, c.country, c.category)


def _columns(label: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (label, f"{label}_start", *DIMENSIONS, *MEASURES, COHORT, *RATES, *extra)


WEEKLY_COLUMNS = _columns("week")
MONTHLY_COLUMNS = _columns("month", MONTHLY_EXTRA)

KPI_WEEKLY = BuiltinQuery(
    name="kpi_weekly",
    build=build_kpi_weekly,
    columns=WEEKLY_COLUMNS,
    default_window_days=91,
    derived={"week": DerivedColumn("week_start", iso_week_label)},
    reads_facts=True,
)
KPI_MONTHLY = BuiltinQuery(
    name="kpi_monthly",
    build=build_kpi_monthly,
    columns=MONTHLY_COLUMNS,
    default_window_days=365,
    derived={"month": DerivedColumn("month_start", month_label)},
    reads_facts=True,
)
