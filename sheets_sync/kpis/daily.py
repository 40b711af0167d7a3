"""`KPI Daily` (docs/design.md §4): the pivot-ready fact table, aggregated by the database.

Every measure is dated by its own event (an order created on Monday, received
on Wednesday and paid on Friday counts on three days), so the query is a
``UNION ALL`` of one small grouped select per event family (each reading only
the orders whose event falls in the window), summed by an outer ``GROUP BY``.
`KPI Weekly` and `KPI Monthly` (:mod:`.periods`) share these definitions and
helpers but group the orders once first, which pays off at coarser periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql.selectable import FromClause, Subquery

from sheets_sync.kpis.common import (
    ANSWERED_STATUSES,
    ORDER_EVENTS,
    REFUSED_STATUSES,
    count_if,
    within_inspection_sla,
)
from sheets_sync.kpis.query import BuiltinQuery, DerivedColumn, QueryContext
from sheets_sync.kpis.sqlfuncs import day_of, iso_week_label, month_label
from sheets_sync.schema import Money, products, sellers, tradein_orders

orders = tradein_orders

MEASURES: tuple[str, ...] = (
    "orders_created",
    "offered_amount",
    "shipped",
    "received",
    "inspected",
    "inspected_within_sla",
    "counter_offers",
    "counter_offers_accepted",
    "counter_offers_refused",
    "paid",
    "paid_amount",
    "cancelled",
    "returned",
    "csat_sum",
    "csat_responses",
)
"""The additive measures of §4, in header order."""

MONEY_MEASURES = frozenset({"offered_amount", "paid_amount"})

Period = Callable[[ColumnElement[Any]], ColumnElement[Any]]


@dataclass(frozen=True)
class Grain:
    """How branches group: the period of an event timestamp, the dimensions, the window."""

    period: Period
    dimensions: tuple[str, ...]
    start: dt.date | None
    end: dt.date
    filters: Mapping[str, tuple[str, ...]]


def _event_measures() -> dict[str, Mapping[str, ColumnElement[Any]]]:
    """Event column → the measures dated by it (the definitions of §4)."""
    o = orders.c
    status = o.counter_offer_status
    return {
        "created_at": {"orders_created": func.count(), "offered_amount": func.sum(o.offered_price)},
        "shipped_at": {"shipped": func.count()},
        "received_at": {"received": func.count()},
        "inspected_at": {
            "inspected": func.count(),
            "inspected_within_sla": count_if(within_inspection_sla(o.inspected_at, o.received_at)),
            "counter_offers": func.count(o.counter_offer_price),
        },
        "counter_answered_at": {
            "counter_offers_accepted": count_if(status == "accepted"),
            "counter_offers_refused": count_if(status.in_(REFUSED_STATUSES)),
        },
        "paid_at": {
            "paid": func.count(),
            "paid_amount": func.coalesce(func.sum(o.paid_price), 0),
            "csat_sum": func.coalesce(func.sum(o.csat), 0),
            "csat_responses": func.count(o.csat),
        },
        "cancelled_at": {"cancelled": func.count()},
        "returned_at": {"returned": func.count()},
    }  # fmt: skip


def zero(name: str) -> ColumnElement[Any]:
    """A typed zero, so every UNION branch has the same column types on PostgreSQL."""
    return cast(literal_column("0"), Money if name in MONEY_MEASURES else Integer)


def _bound(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def window_clauses(ts: ColumnElement[Any], start: dt.date | None, end: dt.date) -> list[Any]:
    """``start ≤ day(ts) ≤ end`` as a timestamp range (sargable: an index can serve it)."""
    clauses = [ts < _bound(end + dt.timedelta(days=1))]
    if start is not None:
        clauses.append(ts >= _bound(start))
    return clauses


def filter_clauses(filters: Mapping[str, tuple[str, ...]]) -> list[Any]:
    """A spreadsheet's seller / market / category restriction on orders."""
    columns = {
        "seller_id": orders.c.seller_id,
        "country": orders.c.country,
        "category": products.c.category,
    }
    return [columns[k].in_(values) for k, values in filters.items() if k in columns and values]


def dimension(name: str) -> ColumnElement[Any]:
    return products.c.category if name == "category" else orders.c[name]


def _branch(
    grain: Grain, ts_name: str, measures: Mapping[str, ColumnElement[Any]], names: Sequence[str]
) -> Select[Any]:
    ts = orders.c[ts_name]
    period = grain.period(ts)
    dims = [dimension(d) for d in grain.dimensions]
    values = [measures[n].label(n) if n in measures else zero(n).label(n) for n in names]
    where = window_clauses(ts, grain.start, grain.end) + filter_clauses(grain.filters)
    if ts_name == "counter_answered_at":
        where.append(orders.c.counter_offer_status.in_(ANSWERED_STATUSES))
    return (
        select(period.label("period"), *(dimension(n).label(n) for n in grain.dimensions), *values)
        .select_from(orders.join(products, products.c.product_id == orders.c.product_id))
        .where(and_(*where))
        .group_by(period, *dims)
    )


def event_branches(grain: Grain) -> list[Select[Any]]:
    """One grouped select per order event, all with the same columns."""
    measures = _event_measures()
    return [_branch(grain, ts, measures[ts], MEASURES) for ts in ORDER_EVENTS]


def summed(union: Subquery, grain: Grain, names: Sequence[str]) -> Select[Any]:
    """The outer ``GROUP BY``: one row per period × dimensions, each measure summed."""
    keys = [union.c.period, *(union.c[d] for d in grain.dimensions)]
    sums = [func.sum(union.c[n]).label(n) for n in names]
    return select(*keys, *sums).group_by(*keys)


def build_kpi_daily(context: QueryContext) -> Select[Any]:
    """KPI Daily over the context's window, one row per day × country × seller × category."""
    grain = Grain(
        period=day_of,
        dimensions=("country", "seller_id", "category"),
        start=context.window_start,
        end=context.as_of,
        filters=context.filters,
    )
    union = union_all(*event_branches(grain)).subquery("events")
    daily = summed(union, grain, MEASURES).subquery("daily")
    return _with_seller_names(daily)


def _with_seller_names(daily: FromClause) -> Select[Any]:
    d = daily.c
    return (
        select(
            d.period.label("date"),
            d.country,
            d.seller_id,
            sellers.c.name.label("seller"),
            d.category,
            *(d[m] for m in MEASURES),
        )
        .select_from(daily.outerjoin(sellers, sellers.c.seller_id == d.seller_id))
        .order_by(d.period, d.country, d.seller_id, d.category)
    )


DAILY_COLUMNS: tuple[str, ...] = (
    "date", "week", "month", "country", "seller_id", "seller", "category", *MEASURES,
)  # fmt: skip

KPI_DAILY = BuiltinQuery(
    name="kpi_daily",
    build=build_kpi_daily,
    columns=DAILY_COLUMNS,
    default_window_days=90,
    derived={
        "week": DerivedColumn("date", iso_week_label),
        "month": DerivedColumn("date", month_label),
    },
)
