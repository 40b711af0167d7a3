"""How a figure is counted, divided and windowed, the same way on every tab and alert.

One definition each, so "a ratio of sums, NULL on a zero denominator" or "the
last N days up to as_of" means exactly the same thing wherever it is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Float, case, cast, func
from sqlalchemy.sql import ColumnElement


def trailing_bounds(as_of: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """Half-open timestamp bounds of the ``days`` UTC days ending on ``as_of`` inclusive.

    Comparing raw timestamps to bounds (rather than taking each row's day) lets
    the database use its indexes, and is the same day arithmetic on both dialects.
    """
    start = dt.datetime.combine(as_of - dt.timedelta(days=days - 1), dt.time())
    return start, dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def count_if(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    """How many rows of the group satisfy ``condition`` (0, never NULL, for a non-empty group)."""
    return func.sum(case((condition, 1), else_=0))


def ratio(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """A float ratio of sums, NULL when the denominator is zero (never integer division)."""
    return cast(numerator, Float) / func.nullif(cast(denominator, Float), 0, type_=Float)


def cents(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A money column as whole cents (exact on both databases, whatever the storage)."""
    return cast(func.round(value * 100), BigInteger)
