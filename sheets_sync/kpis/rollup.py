"""Reading the daily facts (``kpi_daily_facts``): windows, filters, money, presence.

The order-reading tabs are roll-ups of the facts (sheets_sync/facts/): sums of
additive measures over days, with rates derived from the sums. These few helpers
make "the days ``start`` … ``end``", "the spreadsheet's filters" and "cents back
to money" mean the same thing on every tab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Numeric, cast, literal_column, or_
from sqlalchemy.sql import ColumnElement, FromClause

from sheets_sync.schema import kpi_daily_facts

facts = kpi_daily_facts

WideMoney = Numeric(18, 2, asdecimal=True)
"""Money summed over many orders: wider than a price's NUMERIC(10,2)."""

EVENT_COUNTS: tuple[str, ...] = (
    "orders_created", "shipped", "received", "inspected", "counter_offers_accepted",
    "counter_offers_refused", "paid", "cancelled", "returned",
)  # fmt: skip
"""One count per dated event of a KPI row (answers counted when accepted, refused or
expired): a KPI row exists when one of them is non-zero (docs/design.md §4)."""

ACTIVITY: tuple[str, ...] = (
    "orders_created", "shipped", "received", "inspected", "counter_answered", "paid",
    "cancelled", "returned",
)  # fmt: skip
"""One count per order event, whatever the answer: a seller with any is active."""


def day_window(table: FromClause, start: dt.date | None, end: dt.date) -> list[Any]:
    """``start ≤ day ≤ end`` on a facts table (``start`` None: from the beginning)."""
    clauses = [table.c.day <= end]
    if start is not None:
        clauses.append(table.c.day >= start)
    return clauses


def trailing_start(as_of: dt.date, days: int) -> dt.date:
    """The first of the ``days`` days ending on ``as_of``."""
    return as_of - dt.timedelta(days=days - 1)


def fact_filters(table: FromClause, filters: Mapping[str, tuple[str, ...]]) -> list[Any]:
    """A spreadsheet's seller / market / category restriction, on a facts table."""
    names = ("seller_id", "country", "category")
    return [table.c[k].in_(v) for k, v in filters.items() if k in names and v]


def money(cents: ColumnElement[Any]) -> ColumnElement[Any]:
    """Whole cents back to money (exact: the result type quantizes SQLite's float)."""
    return cast(cents * literal_column("0.01"), WideMoney)


def any_event(columns: Any, names: tuple[str, ...] = EVENT_COUNTS) -> ColumnElement[Any]:
    """True when one of the counts ``names`` of ``columns`` is non-zero."""
    return or_(*(columns[n] > 0 for n in names))
