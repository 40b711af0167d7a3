"""The product's clock and its one reading of a day, at the bottom of the package.

Every timestamp the schema stores is naive UTC (``sync_runs``, ``sync_locks``,
``price_grid.updated_at``, the alerts' times), so "now" is taken in one place
and in one shape: a module that took an aware or a local time would compare
wrongly with every row already written. Likewise a day read back from the
database may come as a ``date``, a ``datetime`` (PostgreSQL) or ISO text
(SQLite), and :func:`as_date` is the one place that turns it into a day.

This module imports nothing of the product, so any layer may use it.
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC, as every timestamp of the schema."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def as_date(value: object) -> dt.date:
    """A day from what a driver or a cell holds: a date, a datetime, or ISO text.

    SQLite returns dates and timestamps as text (``2025-06-30`` or
    ``2025-06-30 14:05:00.000000``): the day is its first ten characters.
    Anything else raises ``ValueError``.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
