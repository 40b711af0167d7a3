"""Quality: per seller × category, trailing 7 and 28 days, with a RAG status (docs/design.md §5).

Do a seller's devices arrive in the condition the customer declared? Windows
are the Seller Scorecard's (:mod:`.scorecard`): a trailing window of ``n`` days
holds the events whose UTC day is in ``[as_of - (n - 1), as_of]``. Each measure
is dated by its own event, as in KPI Daily (docs/design.md §4):

- by ``inspected_at`` — ``inspected``; ``graded`` (inspected, with a declared
  and an inspected grade both among ``GRADES``: the grade comparison needs both);
  ``down_one`` / ``down_two_plus`` (the inspected grade is exactly one / two or
  more ranks worse than the declared one, ranks as in ``GRADE_RANK``; an
  unchanged or better grade is neither); ``counter_offers`` (inspected with a
  ``counter_offer_price``, as KPI Daily dates them);
- by ``inspected_at`` too — ``suspended``: the schema has no suspension
  timestamp, and an order is suspended at inspection (the demo data sets
  ``suspended_reason`` with ``inspected_at``), so inspection dates it. An order
  counts as suspended when it has a ``suspended_reason`` or the status
  ``suspended``; ``suspension_reasons`` lists the reasons with their counts,
  most frequent first (ties by code point), at most ``MAX_REASONS`` and then
  ``+N other reasons``; a missing or empty reason reads ``unspecified``;
- by ``returned_at`` — ``returned``.

Rates are ratios of sums computed by the database, NULL on a zero
denominator: ``down_one_share`` and ``down_two_plus_share`` over ``graded``,
``counter_offer_rate`` over ``inspected``.

The RAG ``status`` is the scorecard's rule (:func:`.scorecard.status_case`):
``LOW VOLUME`` when fewer than ``min_volume`` orders were inspected in the
status window, else ``RED`` / ``AMBER`` when any thresholded rate is strictly
beyond its limit, else ``GREEN`` (a rate exactly on a limit keeps the better
colour; a NULL rate never raises the status).

Rows: every seller × category with an inspection or a return in the 28-day
window. ``filters`` (``seller_id``, ``country``, ``category``) restrict the
orders counted, as in KPI Daily.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, FromClause, Select, Subquery

from sheets_sync.kpis.common import count_if, ratio
from sheets_sync.kpis.daily import filter_clauses, window_clauses
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.kpis.scorecard import WINDOWS, status_case
from sheets_sync.kpis.sqlfuncs import byte_order
from sheets_sync.schema import GRADE_RANK, products, sellers, tradein_orders

RATES = ("down_one_share", "down_two_plus_share", "counter_offer_rate")
"""The rates a template may put thresholds on."""
COUNTS = (
    "inspected", "graded", "down_one", "down_two_plus", "counter_offers", "suspended", "returned",
)  # fmt: skip
MAX_REASONS = 5
NO_REASON = "unspecified"

DEFAULTS: dict[str, Any] = {
    "min_volume": 10,
    "status_window_days": 28,
    "thresholds": {
        "down_one_share": {"direction": "above", "amber": 0.20, "red": 0.30},
        "down_two_plus_share": {"direction": "above", "amber": 0.08, "red": 0.12},
    },
}

COLUMNS = (
    "seller_id",
    "seller",
    "category",
    "status",
    *(f"{measure}_{w}d" for measure in (*COUNTS, *RATES, "suspension_reasons") for w in WINDOWS),
)

orders = tradein_orders


# -- per seller × category counts --


def _during(ts: ColumnElement[Any], as_of: dt.date, days: int) -> ColumnElement[Any]:
    """``ts`` falls in the ``days`` UTC days ending on ``as_of`` (a sargable range)."""
    return and_(*window_clauses(ts, as_of - dt.timedelta(days=days - 1), as_of))


def _orders_with_category() -> FromClause:
    return orders.join(products, products.c.product_id == orders.c.product_id)


def is_suspended() -> ColumnElement[Any]:
    """An order was suspended: it has a reason, or it ended in the ``suspended`` status."""
    return or_(orders.c.suspended_reason.is_not(None), orders.c.status == "suspended")


def grade_drop() -> ColumnElement[Any]:
    """Ranks lost between the declared and the inspected grade (negative: an upgrade).

    NULL when either grade is missing or not one of ``GRADES``: no comparison then.
    """
    o = orders.c
    return case(GRADE_RANK, value=o.inspected_grade) - case(GRADE_RANK, value=o.declared_grade)


def _window_counts(as_of: dt.date, w: int) -> list[ColumnElement[Any]]:
    o = orders.c
    inspected, drop = _during(o.inspected_at, as_of, w), grade_drop()
    return [
        count_if(inspected).label(f"inspected_{w}"),
        count_if(and_(inspected, drop.is_not(None))).label(f"graded_{w}"),
        count_if(and_(inspected, drop == 1)).label(f"down_one_{w}"),
        count_if(and_(inspected, drop >= 2)).label(f"down_two_plus_{w}"),
        count_if(and_(inspected, o.counter_offer_price.is_not(None))).label(f"counter_offers_{w}"),
        count_if(and_(inspected, is_suspended())).label(f"suspended_{w}"),
        count_if(_during(o.returned_at, as_of, w)).label(f"returned_{w}"),
    ]


def _counts(ctx: QueryContext) -> Subquery:
    """Per seller × category sums over the orders inspected or returned in the longest window."""
    o, longest = orders.c, max(WINDOWS)
    touched = or_(_during(o.inspected_at, ctx.as_of, longest),
                  _during(o.returned_at, ctx.as_of, longest))  # fmt: skip
    return (
        select(o.seller_id, products.c.category,
               *(m for w in WINDOWS for m in _window_counts(ctx.as_of, w)))
        .select_from(_orders_with_category())
        .where(touched, *filter_clauses(ctx.filters))
        .group_by(o.seller_id, products.c.category)
        .subquery("counts")
    )  # fmt: skip


# -- suspension reasons, as one text per seller × category and window --


def _reason_counts(ctx: QueryContext) -> Subquery:
    """Suspensions per seller × category × reason, for each window."""
    o, longest = orders.c, max(WINDOWS)
    reason = func.coalesce(func.nullif(o.suspended_reason, ""), NO_REASON, type_=Text)
    suspended = (
        select(o.seller_id, products.c.category, reason.label("reason"), o.inspected_at)
        .select_from(_orders_with_category())
        .where(is_suspended(), _during(o.inspected_at, ctx.as_of, longest),
               *filter_clauses(ctx.filters))
        .subquery("suspended")
    )  # fmt: skip
    s = suspended.c
    return (
        select(s.seller_id, s.category, s.reason,
               *(count_if(_during(s.inspected_at, ctx.as_of, w)).label(f"n{w}") for w in WINDOWS))
        .group_by(s.seller_id, s.category, s.reason)
        .subquery("reason_counts")
    )  # fmt: skip


def _ranked_reasons(ctx: QueryContext) -> Subquery:
    """Each reason's ``reason: count`` label and its rank per window, most frequent first."""
    counted = _reason_counts(ctx)
    c, cells = counted.c, (counted.c.seller_id, counted.c.category)
    columns: list[ColumnElement[Any]] = []
    for w in WINDOWS:
        n = c[f"n{w}"]
        rank = func.row_number().over(partition_by=cells, order_by=(n.desc(), byte_order(c.reason)))
        columns += [n, (c.reason + ": " + cast(n, Text)).label(f"label{w}"), rank.label(f"rank{w}")]
    return select(*cells, *columns).subquery("ranked_reasons")


def _reason_list(ranked: Subquery, w: int) -> ColumnElement[Any]:
    """``"IMEI blacklisted: 2; Device reported stolen: 1"``; NULL without suspensions."""
    n, label, rank = ranked.c[f"n{w}"], ranked.c[f"label{w}"], ranked.c[f"rank{w}"]

    def nth(i: int) -> ColumnElement[Any]:
        return func.max(case((and_(rank == i, n > 0), label), else_=None))

    joined = nth(1)
    for i in range(2, MAX_REASONS + 1):
        joined = joined + func.coalesce("; " + nth(i), "")
    listed = count_if(n > 0)
    others = "; +" + cast(listed - MAX_REASONS, Text) + " other reasons"
    return joined + case((listed > MAX_REASONS, others), else_=literal("", Text))


def _reasons(ctx: QueryContext) -> Subquery:
    ranked = _ranked_reasons(ctx)
    return (
        select(ranked.c.seller_id, ranked.c.category,
               *(_reason_list(ranked, w).label(f"reasons_{w}") for w in WINDOWS))
        .group_by(ranked.c.seller_id, ranked.c.category)
        .subquery("reasons")
    )  # fmt: skip


# -- the tab --


def _figures(counts: Subquery, w: int) -> list[ColumnElement[Any]]:
    c = {name: counts.c[f"{name}_{w}"] for name in COUNTS}
    return [
        *(cast(value, Integer).label(f"{name}_{w}d") for name, value in c.items()),
        ratio(c["down_one"], c["graded"]).label(f"down_one_share_{w}d"),
        ratio(c["down_two_plus"], c["graded"]).label(f"down_two_plus_share_{w}d"),
        ratio(c["counter_offers"], c["inspected"]).label(f"counter_offer_rate_{w}d"),
    ]


def _rates(ctx: QueryContext) -> Subquery:
    """One row per seller × category: counts, rates and suspension reasons of both windows."""
    counts, reasons = _counts(ctx), _reasons(ctx)
    cell = and_(reasons.c.seller_id == counts.c.seller_id,
                reasons.c.category == counts.c.category)  # fmt: skip
    return (
        select(counts.c.seller_id, sellers.c.name.label("seller"), counts.c.category,
               *(f for w in WINDOWS for f in _figures(counts, w)),
               *(reasons.c[f"reasons_{w}"].label(f"suspension_reasons_{w}d") for w in WINDOWS))
        .select_from(counts.outerjoin(sellers, sellers.c.seller_id == counts.c.seller_id)
                     .outerjoin(reasons, cell))
        .subquery("quality")
    )  # fmt: skip


def build(ctx: QueryContext) -> Select[Any]:
    """The Quality rows, by seller and category."""
    rates = _rates(ctx)
    status = status_case(rates, ctx.params, metrics=RATES, volume="inspected")
    return select(*(rates.c[c] for c in COLUMNS if c != "status"), status.label("status")).order_by(
        rates.c.seller_id, rates.c.category
    )


QUERY = BuiltinQuery(name="quality", build=build, columns=COLUMNS, defaults=DEFAULTS)
