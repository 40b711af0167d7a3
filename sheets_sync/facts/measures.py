"""What a day's facts are: each additive measure, dated by its own order event.

The facts are built by one SQL statement: one grouped branch per order event
(an order created on Monday and paid on Friday adds to Monday's
``orders_created`` and Friday's ``paid``), ``UNION ALL``, summed per day ×
country × seller × category. The same statement runs over two sources:

- ``tradein_orders`` itself, weight 1 — the full build;
- the change log ``kpi_fact_changes``, weighted by each row's ``sign`` (-1 for
  an order's old image, +1 for its new one) — the delta an incremental refresh
  adds to the stored facts. An order whose created day moved takes one off the
  old day and adds one to the new day.

Every measure is a sum of a per-order value (a count is a sum of ones), and
money is summed in whole cents, so adding deltas gives exactly the table a full
build gives, on both databases (no float drift). Rates are never stored: readers
derive them from sums at roll-up (docs/design.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement, FromClause, Select

from sheets_sync.schema import FACT_MEASURES, GRADE_RANK, kpi_fact_changes, products
from sheets_sync.vocabulary.orders import ORDER_EVENTS, REFUSED_STATUSES, within_inspection_sla
from sheets_sync.vocabulary.sqlfuncs import day_of, seconds_between

NO_REASON = "unspecified"
"""The Quality tab's label for a suspension without a reason."""

UNKNOWN_CATEGORY = "unknown"
"""The category of an order whose product is not (yet) in ``products``: the order feed
often lands before the catalogue feed, and an inner join would drop the order from every
KPI, silently. Counted under this label instead, so the facts always add up to the orders
table; the product's arrival marks a full rebuild (:mod:`.triggers`)."""


def cents(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A money column as whole cents (exact on both databases, whatever the storage).

    A 4-byte integer (a NUMERIC(10,2) price fits): PostgreSQL sums those into a
    BIGINT, where summing BIGINTs would give a much slower NUMERIC.
    """
    return cast(func.round(value * 100), Integer)


def _flag(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def _present(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return _flag(column.is_not(None))


def grade_drop(src: FromClause) -> ColumnElement[Any]:
    """Ranks lost between the declared and the inspected grade (NULL: no comparison)."""
    c = src.c
    return case(GRADE_RANK, value=c.inspected_grade) - case(GRADE_RANK, value=c.declared_grade)


def is_suspended(src: FromClause) -> ColumnElement[Any]:
    """An order was suspended: it has a reason, or it ended in the ``suspended`` status."""
    return or_(src.c.suspended_reason.is_not(None), src.c.status == "suspended")


def event_values(src: FromClause) -> dict[str, dict[str, ColumnElement[Any]]]:
    """Event column → {measure: the per-order value summed for it} (docs/design.md §4)."""
    c = src.c
    drop, status = grade_drop(src), c.counter_offer_status
    pay_start = func.coalesce(c.counter_answered_at, c.inspected_at)
    return {
        "created_at": {"orders_created": literal_column("1"), "offered_cents": cents(c.offered_price),
                       "created_shipped": _present(c.shipped_at)},
        "shipped_at": {"shipped": literal_column("1")},
        "received_at": {"received": literal_column("1")},
        "inspected_at": {
            "inspected": literal_column("1"),
            "inspected_within_sla": _flag(within_inspection_sla(c.inspected_at, c.received_at)),
            "counter_offers": _present(c.counter_offer_price),
            "graded": _present(drop), "down_one": _flag(drop == 1),
            "down_two_plus": _flag(drop >= 2), "suspended": _flag(is_suspended(src)),
        },
        "counter_answered_at": {
            "counter_answered": literal_column("1"),
            "counter_offers_accepted": _flag(status == "accepted"),
            "counter_offers_refused": _flag(status.in_(REFUSED_STATUSES)),
        },
        "paid_at": {
            "paid": literal_column("1"), "paid_cents": func.coalesce(cents(c.paid_price), 0),
            "csat_sum": func.coalesce(c.csat, 0), "csat_responses": _present(c.csat),
            "pay_seconds": case((pay_start.is_not(None), seconds_between(c.paid_at, pay_start)),
                                else_=0),
            "pay_n": _present(pay_start),
        },
        "cancelled_at": {"cancelled": literal_column("1")},
        "returned_at": {"returned": literal_column("1")},
    }  # fmt: skip


def weight_of(src: FromClause) -> ColumnElement[Any] | None:
    return src.c.sign if src is kpi_fact_changes else None


def summed(value: ColumnElement[Any], weight: ColumnElement[Any] | None) -> ColumnElement[Any]:
    """One branch's sum, typed BIGINT so every ``UNION ALL`` branch has the same types."""
    return cast(func.sum(value if weight is None else value * weight), BigInteger)


ZERO = cast(literal_column("0"), BigInteger)


def _with_category(src: FromClause) -> FromClause:
    """An outer join: an order whose product is unknown still counts (:data:`UNKNOWN_CATEGORY`)."""
    return src.outerjoin(products, products.c.product_id == src.c.product_id)


def _category() -> ColumnElement[Any]:
    return func.coalesce(products.c.category, UNKNOWN_CATEGORY)


def _branch(src: FromClause, event: str, values: Mapping[str, ColumnElement[Any]]) -> Select[Any]:
    c, weight = src.c, weight_of(src)
    day = day_of(c[event])
    sums = [
        summed(values[m], weight).label(m) if m in values else ZERO.label(m) for m in FACT_MEASURES
    ]
    category = _category()
    return (
        select(day.label("day"), c.country, c.seller_id, category.label("category"), *sums)
        .select_from(_with_category(src))
        .where(c[event].is_not(None), *not_marker(src))
        .group_by(day, c.country, c.seller_id, category)
    )


def not_marker(src: FromClause) -> list[ColumnElement[Any]]:
    """Log rows that only mark a full rebuild carry no order."""
    return [src.c.full_rebuild.is_(False)] if src is kpi_fact_changes else []


def daily_facts(src: FromClause) -> Select[Any]:
    """The facts of ``src`` (orders: the table; the log: the delta), one row per cell."""
    values = event_values(src)
    union = union_all(*(_branch(src, e, values[e]) for e in ORDER_EVENTS)).subquery("events")
    keys = [union.c.day, union.c.country, union.c.seller_id, union.c.category]
    sums = [cast(func.sum(union.c[m]), BigInteger).label(m) for m in FACT_MEASURES]
    return select(*keys, *sums).group_by(*keys)


def suspension_facts(src: FromClause) -> Select[Any]:
    """Suspensions per inspection day × cell × reason of ``src`` (weighted like the facts)."""
    c, weight = src.c, weight_of(src)
    day = day_of(c.inspected_at)
    reason = func.coalesce(func.nullif(c.suspended_reason, ""), NO_REASON)
    one: ColumnElement[Any] = literal_column("1")
    category = _category()
    return (
        select(day.label("day"), c.country, c.seller_id, category.label("category"),
               reason.label("reason"), summed(one, weight).label("suspended"))
        .select_from(_with_category(src))
        .where(and_(c.inspected_at.is_not(None), is_suspended(src)), *not_marker(src))
        .group_by(day, c.country, c.seller_id, category, reason)
    )  # fmt: skip
