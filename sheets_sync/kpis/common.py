"""Small building blocks every KPI query shares: events, the SLA, windows, params, ratios.

One definition each, so "a ratio of sums, NULL on a zero denominator", "the
last N days up to as_of" or "inspected within the SLA" means exactly the same
thing on every tab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Float, case, cast, func
from sqlalchemy.sql import ColumnElement

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.query import QueryContext
from sheets_sync.kpis.sqlfuncs import seconds_between
from sheets_sync.schema import products, tradein_orders

ORDER_EVENTS: tuple[str, ...] = (
    "created_at", "shipped_at", "received_at", "inspected_at", "counter_answered_at",
    "paid_at", "cancelled_at", "returned_at",
)  # fmt: skip
"""The order's event timestamps, in lifecycle order: each measure is dated by one of them."""

SLA_SECONDS = 48 * 3600
"""The inspection SLA: an order is inspected within it when ``inspected_at - received_at ≤ 48 h``."""

REFUSED_STATUSES = ("refused", "expired")
"""Counter-offer answers that count as refusals (no answer in time is a refusal)."""
ANSWERED_STATUSES = ("accepted", *REFUSED_STATUSES)


def within_inspection_sla(
    inspected_at: ColumnElement[Any], received_at: ColumnElement[Any]
) -> ColumnElement[Any]:
    """True when the inspection came at most 48 h after reception, exactly 48 h included.

    Whole seconds are compared, so 48 h + 1 s is late. NULL (never true) when
    either timestamp is missing, so ``count_if`` counts such an order as not within.
    """
    return seconds_between(inspected_at, received_at) <= SLA_SECONDS


def trailing_bounds(as_of: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """Half-open timestamp bounds of the ``days`` UTC days ending on ``as_of`` inclusive.

    Comparing raw timestamps to bounds (rather than taking each row's day) lets
    the database use its indexes, and is the same day arithmetic on both dialects.
    """
    start = dt.datetime.combine(as_of - dt.timedelta(days=days - 1), dt.time())
    return start, dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def int_param(params: Mapping[str, Any], name: str, minimum: int) -> int:
    """A whole-number template param, refused with the key and the fix when it is not one."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TemplateError(
            f"params.{name}: {value!r} is not a whole number ≥ {minimum}. "
            f"Fix: write e.g. `{name}: {max(minimum, 1)}` under `params:` in the template"
        )
    return value


def number_param(params: Mapping[str, Any], name: str, minimum: float = 0.0) -> float:
    """A numeric template param (int or float), at least ``minimum``."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise TemplateError(
            f"params.{name}: {value!r} is not a number ≥ {minimum:g}. "
            f"Fix: write a number, e.g. `{name}: 1.00`, under `params:` in the template"
        )
    return float(value)


def filter_values(ctx: QueryContext, name: str) -> tuple[str, ...]:
    """The spreadsheet's filter values for one dimension (empty: no filter)."""
    return tuple(ctx.filters.get(name, ()) or ())


def count_if(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    """How many rows of the group satisfy ``condition`` (0, never NULL, for a non-empty group)."""
    return func.sum(case((condition, 1), else_=0))


def ratio(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """A float ratio of sums, NULL when the denominator is zero (never integer division)."""
    return cast(numerator, Float) / func.nullif(cast(denominator, Float), 0, type_=Float)


def order_filters(filters: Mapping[str, tuple[str, ...]]) -> list[Any]:
    """A spreadsheet's seller / market / category restriction, for queries that read raw
    orders (joined to products) rather than the daily facts."""
    columns = {
        "seller_id": tradein_orders.c.seller_id,
        "country": tradein_orders.c.country,
        "category": products.c.category,
    }
    return [columns[k].in_(values) for k, values in filters.items() if k in columns and values]
