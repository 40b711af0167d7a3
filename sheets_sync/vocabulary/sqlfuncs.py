"""Date arithmetic that SQLite and PostgreSQL spell differently, as portable constructs.

KPI queries must give identical numbers on both databases; these few
constructs are the only dialect-specific SQL, compiled per dialect here so
the queries themselves stay plain SQLAlchemy Core. Results are typed (``Date``,
``Integer``) so rows come back as Python dates and ints on both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class day_of(FunctionElement[Any]):
    """The UTC calendar day of a naive-UTC timestamp."""

    type = Date()
    inherit_cache = True
    name = "day_of"


class week_start(FunctionElement[Any]):
    """The Monday of the ISO week of a day (label it with :func:`iso_week_label`)."""

    type = Date()
    inherit_cache = True
    name = "week_start"


class month_start(FunctionElement[Any]):
    """The first day of the month of a day."""

    type = Date()
    inherit_cache = True
    name = "month_start"


class seconds_between(FunctionElement[Any]):
    """Whole seconds from the second timestamp to the first (later, earlier)."""

    type = Integer()
    inherit_cache = True
    name = "seconds_between"


class days_between(FunctionElement[Any]):
    """Whole days from the second day to the first (later, earlier)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


class byte_order(FunctionElement[Any]):
    """Text that sorts by code point on both databases, whatever PostgreSQL's locale.

    PostgreSQL's default collation follows the database locale (``a`` before ``B``),
    SQLite's compares bytes (``B`` first); ordering by this gives one order on both.
    """

    type = Text()
    inherit_cache = True
    name = "byte_order"


def _args(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({_args(compiler, element, **kw)[0]})"


@compiles(day_of)
def _day_of_default(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_args(compiler, element, **kw)[0]} AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves to the coming Sunday (or stays on one); 6 days back is Monday.
    return f"date({_args(compiler, element, **kw)[0]}, 'weekday 0', '-6 days')"


@compiles(week_start)
def _week_start_default(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('week', {_args(compiler, element, **kw)[0]}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({_args(compiler, element, **kw)[0]}, 'start of month')"


@compiles(month_start)
def _month_start_default(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {_args(compiler, element, **kw)[0]}) AS DATE)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"CAST(round((julianday({later}) - julianday({earlier})) * 86400.0) AS INTEGER)"


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"CAST(round(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS INTEGER)"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"CAST(julianday(date({later})) - julianday(date({earlier})) AS INTEGER)"


@compiles(days_between)
def _days_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


@compiles(byte_order, "sqlite")
def _byte_order_sqlite(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({_args(compiler, element, **kw)[0]} COLLATE BINARY)"


@compiles(byte_order)
def _byte_order_default(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({_args(compiler, element, **kw)[0]} COLLATE "C")'


def iso_week_label(day: Any) -> str:
    """``YYYY-Www`` of a date (the ISO year, which differs from the calendar year near 1 Jan)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_label(day: Any) -> str:
    """``YYYY-MM`` of a date."""
    return f"{day.year}-{day.month:02d}"


# -- BigQuery (the warehouse of docs/scaling.md): compiled, never run, by the tests --


@compiles(week_start, "bigquery")
def _week_start_bigquery(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE_TRUNC({_args(compiler, element, **kw)[0]}, ISOWEEK)"


@compiles(month_start, "bigquery")
def _month_start_bigquery(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE_TRUNC({_args(compiler, element, **kw)[0]}, MONTH)"


@compiles(seconds_between, "bigquery")
def _seconds_bigquery(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"DATETIME_DIFF({later}, {earlier}, SECOND)"


@compiles(days_between, "bigquery")
def _days_bigquery(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(compiler, element, **kw)
    return f"DATE_DIFF(CAST({later} AS DATE), CAST({earlier} AS DATE), DAY)"


@compiles(byte_order, "bigquery")
def _byte_order_bigquery(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return _args(compiler, element, **kw)[0]  # BigQuery compares STRINGs by code point
