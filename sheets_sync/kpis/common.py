"""Small building blocks the KPI queries share: template params, filters.

One definition each, so a param is refused with the same message on every tab
and a spreadsheet's filter restricts every raw-order query the same way. The
words the KPIs share with the facts, guards and alerts (order events, the SLA,
ratios, windows) live below them, in :mod:`sheets_sync.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.query import QueryContext
from sheets_sync.schema import products, tradein_orders


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


def order_filters(filters: Mapping[str, tuple[str, ...]]) -> list[Any]:
    """A spreadsheet's seller / market / category restriction, for queries that read raw
    orders (joined to products) rather than the daily facts."""
    columns = {
        "seller_id": tradein_orders.c.seller_id,
        "country": tradein_orders.c.country,
        "category": products.c.category,
    }
    return [columns[k].in_(values) for k, values in filters.items() if k in columns and values]
