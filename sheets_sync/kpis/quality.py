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

All of it is a roll-up of the daily facts (sheets_sync/facts/): the counts are
sums of ``kpi_daily_facts`` over the window's days, the reasons sums of
``kpi_suspension_facts`` (day × cell × reason); no raw order is read at sync time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Text, and_, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.kpis.rollup import day_window, fact_filters, facts, trailing_start
from sheets_sync.kpis.scorecard import WINDOWS, status_case
from sheets_sync.schema import kpi_suspension_facts, sellers
from sheets_sync.vocabulary.arithmetic import count_if, ratio
from sheets_sync.vocabulary.sqlfuncs import byte_order

RATES = ("down_one_share", "down_two_plus_share", "counter_offer_rate")
"""The rates a template may put thresholds on."""
COUNTS = (
    "inspected", "graded", "down_one", "down_two_plus", "counter_offers", "suspended", "returned",
)  # fmt: skip
MAX_REASONS = 5

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


# -- per seller × category counts, summed from the daily facts --


def _in_window(table: Any, as_of: dt.date, w: int) -> ColumnElement[Any]:
    return table.c.day >= trailing_start(as_of, w)


def _window_sum(table: Any, column: str, as_of: dt.date, w: int) -> ColumnElement[Any]:
    """The sum of ``column`` over the facts of the ``w`` days ending on ``as_of``."""
    if w == max(WINDOWS):  # the rows read are exactly the longest window
        return func.sum(table.c[column])
    return func.sum(case((_in_window(table, as_of, w), table.c[column]), else_=0))


def _counts(ctx: QueryContext) -> Subquery:
    """Per seller × category sums over the facts of the longest window; a cell is listed
    when an order was inspected or returned in it."""
    f, longest = facts.c, max(WINDOWS)
    sums = [_window_sum(facts, m, ctx.as_of, w).label(f"{m}_{w}") for w in WINDOWS for m in COUNTS]
    return (
        select(f.seller_id, f.category, *sums)
        .where(*day_window(facts, trailing_start(ctx.as_of, longest), ctx.as_of),
               *fact_filters(facts, ctx.filters))
        .group_by(f.seller_id, f.category)
        .having(func.sum(f.inspected + f.returned) > 0)
        .subquery("counts")
    )  # fmt: skip


# -- suspension reasons, as one text per seller × category and window --


def _reason_counts(ctx: QueryContext) -> Subquery:
    """Suspensions per seller × category × reason, for each window (from the facts)."""
    r, longest = kpi_suspension_facts, max(WINDOWS)
    return (
        select(r.c.seller_id, r.c.category, r.c.reason,
               *(_window_sum(r, "suspended", ctx.as_of, w).label(f"n{w}") for w in WINDOWS))
        .where(*day_window(r, trailing_start(ctx.as_of, longest), ctx.as_of),
               *fact_filters(r, ctx.filters))
        .group_by(r.c.seller_id, r.c.category, r.c.reason)
        .having(func.sum(r.c.suspended) > 0)
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


QUERY = BuiltinQuery(
    name="quality", build=build, columns=COLUMNS, defaults=DEFAULTS, reads_facts=True
)
