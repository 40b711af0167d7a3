"""`KPI Weekly` and `KPI Monthly` (docs/design.md §4, §5): country × category per ISO week / month.

Same definitions as KPI Daily (each measure dated by its own event), but the
orders are first grouped once by the combination of their events' periods (a
compact table), then one branch per event family sums it; the derived rates
are computed as ratios of the summed measures in SQL (never an
average of daily rates). A zero denominator gives NULL, an empty cell. Monthly
adds the `targets` of the month and the attainment against them.

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
    case,
    cast,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.selectable import CTE, Subquery

from sheets_sync.kpis.common import (
    ANSWERED_STATUSES,
    ORDER_EVENTS,
    REFUSED_STATUSES,
    ratio,
    within_inspection_sla,
)
from sheets_sync.kpis.daily import (
    MEASURES,
    Grain,
    dimension,
    filter_clauses,
    orders,
    summed,
    window_clauses,
    zero,
)
from sheets_sync.kpis.query import BuiltinQuery, DerivedColumn, QueryContext
from sheets_sync.kpis.sqlfuncs import (
    day_of,
    iso_week_label,
    month_label,
    month_start,
    week_start,
)
from sheets_sync.schema import Money, products, targets

COHORT = "created_shipped"
"""Orders created in the period that shipped by ``as_of`` (ship-rate numerator)."""

TARGETS = ("orders_target", "paid_amount_target")

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


def _money_ratio(amount: ColumnElement[Any], count: ColumnElement[Any]) -> ColumnElement[Any]:
    """Rounding the sum to cents first makes SQLite's float sum equal PostgreSQL's exact one."""
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


def _grain(context: QueryContext, period: Callable[[Any], Any], start: dt.date | None) -> Grain:
    return Grain(
        period=period,
        dimensions=DIMENSIONS,
        start=start,
        end=context.as_of,
        filters=context.filters,
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def _in_window(grain: Grain, ts: str) -> ColumnElement[bool]:
    clauses = window_clauses(orders.c[ts], grain.start, grain.end)
    if ts == "counter_answered_at":
        clauses.append(orders.c.counter_offer_status.in_(ANSWERED_STATUSES))
    return and_(*clauses)


def _per_order(grain: Grain) -> Subquery:
    """Each order with the period of each of its events (NULL outside the window)."""
    o = orders.c
    sla = within_inspection_sla(o.inspected_at, o.received_at)
    shipped_by_as_of = and_(*window_clauses(o.shipped_at, None, grain.end))
    periods = [case((_in_window(grain, ts), grain.period(o[ts]))).label(ts) for ts in ORDER_EVENTS]
    inputs = [
        o.offered_price,
        _flag(sla).label("within_sla"),
        _flag(o.counter_offer_price.is_not(None)).label("countered"),
        _flag(o.counter_offer_status == "accepted").label("accepted"),
        _flag(o.counter_offer_status.in_(REFUSED_STATUSES)).label("refused"),
        o.paid_price,
        o.csat,
        _flag(shipped_by_as_of).label(COHORT),
    ]
    any_event = or_(*(_in_window(grain, ts) for ts in ORDER_EVENTS))
    return (
        select(*periods, *(dimension(d).label(d) for d in grain.dimensions), *inputs)
        .select_from(orders.join(products, products.c.product_id == o.product_id))
        .where(any_event, *filter_clauses(grain.filters))
        .subquery("per_order")
    )


def _compact(grain: Grain) -> CTE:
    """Orders grouped by their combination of event periods: one sort of the orders.

    SQLite aggregates by sorting, so grouping the orders once (a few thousand
    combinations per year by month) beats sorting them again for each event.
    """
    p = _per_order(grain).c
    keys = [*(p[ts] for ts in ORDER_EVENTS), *(p[d] for d in grain.dimensions)]
    sums = [func.sum(p[c]).label(c) for c in (
        "offered_price", "within_sla", "countered", "accepted", "refused", "paid_price", "csat",
        COHORT,
    )]  # fmt: skip
    return (
        select(*keys, func.count().label("orders"), *sums, func.count(p.csat).label("csat_n"))
        .group_by(*keys)
        .cte("compact")
    )


COMPACT_SOURCES: dict[str, dict[str, str]] = {
    "created_at": {"orders_created": "orders", "offered_amount": "offered_price", COHORT: COHORT},
    "shipped_at": {"shipped": "orders"},
    "received_at": {"received": "orders"},
    "inspected_at": {
        "inspected": "orders", "inspected_within_sla": "within_sla", "counter_offers": "countered",
    },
    "counter_answered_at": {"counter_offers_accepted": "accepted", "counter_offers_refused": "refused"},
    "paid_at": {
        "paid": "orders", "paid_amount": "paid_price", "csat_sum": "csat", "csat_responses": "csat_n",
    },
    "cancelled_at": {"cancelled": "orders"},
    "returned_at": {"returned": "orders"},
}  # fmt: skip
"""Event → {measure: column of the compact table summed for it}."""


def period_branches(grain: Grain) -> list[Select[Any]]:
    """One small grouped select per event family over the compact table."""
    compact = _compact(grain)
    c = compact.c
    names = (*MEASURES, COHORT)
    branches = []
    for ts in ORDER_EVENTS:
        sources = COMPACT_SOURCES[ts]
        values = [
            func.coalesce(func.sum(c[sources[n]]), 0).label(n) if n in sources else zero(n).label(n)
            for n in names
        ]
        dims = [c[d] for d in grain.dimensions]
        branches.append(
            select(c[ts].label("period"), *dims, *values)
            .where(c[ts].is_not(None))
            .group_by(c[ts], *dims)
        )
    return branches


def _periodic(context: QueryContext, grain: Grain, with_targets: bool) -> Subquery:
    """Summed measures (and targets) per period × country × category."""
    branches = period_branches(grain)
    if with_targets:
        branches = [_with_null_targets(b) for b in branches]
        if "seller_id" not in context.filters:  # targets are per market, not per seller
            branches.append(_targets_branch(grain))
    union = union_all(*branches).subquery("events")
    totals = summed(union, grain, (*MEASURES, COHORT))
    if with_targets:
        totals = totals.add_columns(*(func.max(union.c[t]).label(t) for t in TARGETS))
    return totals.subquery("totals")


def _with_null_targets(branch: Select[Any]) -> Select[Any]:
    return branch.add_columns(
        cast(null(), Integer).label("orders_target"),
        cast(null(), Money).label("paid_amount_target"),
    )


def _targets_branch(grain: Grain) -> Select[Any]:
    """The month's targets as a branch with zero measures, so a target with no orders shows."""
    t = targets.c
    zeros = [zero(m).label(m) for m in (*MEASURES, COHORT)]
    where = [t.month <= grain.end]
    if grain.start is not None:
        where.append(t.month >= grain.start)
    where += [t[k].in_(v) for k, v in grain.filters.items() if k in DIMENSIONS and v]
    return select(
        t.month.label("period"),
        t.country,
        t.category,
        *zeros,
        t.orders_target,
        t.paid_amount_target,
    ).where(and_(*where))


def _week(ts: ColumnElement[Any]) -> ColumnElement[Any]:
    return week_start(day_of(ts))


def _month(ts: ColumnElement[Any]) -> ColumnElement[Any]:
    return month_start(day_of(ts))


def _measure_columns(c: Any) -> list[ColumnElement[Any]]:
    return [c[m] for m in (*MEASURES, COHORT)]


def build_kpi_weekly(context: QueryContext) -> Select[Any]:
    """KPI Weekly: one row per ISO week × country × category, with rates."""
    start = context.window_start
    if start is not None:
        start -= dt.timedelta(days=start.weekday())
    totals = _periodic(context, _grain(context, _week, start), with_targets=False)
    c = totals.c
    return select(
        c.period.label("week_start"), c.country, c.category, *_measure_columns(c), *rate_columns(c)
    ).order_by(c.period, c.country, c.category)


def build_kpi_monthly(context: QueryContext) -> Select[Any]:
    """KPI Monthly: one row per month × country × category, with rates, targets, attainment."""
    start = context.window_start.replace(day=1) if context.window_start is not None else None
    totals = _periodic(context, _grain(context, _month, start), with_targets=True)
    c = totals.c
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
)
KPI_MONTHLY = BuiltinQuery(
    name="kpi_monthly",
    build=build_kpi_monthly,
    columns=MONTHLY_COLUMNS,
    default_window_days=365,
    derived={"month": DerivedColumn("month_start", month_label)},
)
