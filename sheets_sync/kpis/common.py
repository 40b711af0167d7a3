"""Small building blocks every KPI query shares: windows, params, filters, counts, ratios.

One definition each, so "a ratio of sums, NULL on a zero denominator" or "the
last N days up to as_of" means exactly the same thing on every tab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Float, case, cast, func
from sqlalchemy.sql import ColumnElement

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.registry import QueryContext


def trailing_bounds(as_of: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """Half-open timestamp bounds of the ``days`` UTC days ending on ``as_of`` inclusive.

    Comparing raw timestamps to bounds (rather than taking each row's day) lets
    the database use its indexes, and is the same day arithmetic on both dialects.
    """
    start = dt.datetime.combine(as_of - dt.timedelta(days=days - 1), dt.time())
    return start, dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def merged_params(ctx: QueryContext, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The template's params over the query's defaults (the runner may have merged already)."""
    return {**defaults, **dict(ctx.params)}


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
