"""Run a tab's query (built-in or a user ``.sql`` file) and turn its rows into a typed frame.

The database does all the aggregation; this layer only maps result columns to
the template's columns by ``source`` and coerces each value to the column's
type, so both databases give identical frames (SQLite sums money as floats and
returns raw-SQL dates as strings; PostgreSQL returns Decimals for sums).
Presentation-only columns a query cannot spell portably (the ISO week label of
a day) are derived here from a column the query does return.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import exc, text
from sqlalchemy.engine import Connection

from sheets_sync.clock import as_date
from sheets_sync.errors import TemplateError
from sheets_sync.facts import ensure_fresh
from sheets_sync.frame import Row, TabFrame
from sheets_sync.guards import as_of_day
from sheets_sync.kpis.after import wanted, with_after
from sheets_sync.kpis.pending import with_step
from sheets_sync.kpis.query import BuiltinQuery, DerivedColumn, QueryContext
from sheets_sync.kpis.registry import builtin_query
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, TabTemplate

CENT = Decimal("0.01")
PERCENT_PLACES = 6
CHUNK_ROWS = 10_000
"""Result rows fetched and typed at a time (peak memory: one chunk raw, the tab typed)."""
NO_WINDOW_START = dt.date(1900, 1, 1)

Converter = Callable[[Any], Any]


def default_as_of(conn: Connection) -> dt.date:
    """The day a tab is computed as of when none is given (:func:`guards.as_of_day`)."""
    return as_of_day(conn, None)


def build_context(
    conn: Connection,
    template: TabTemplate,
    as_of: dt.date | None = None,
    filters: Mapping[str, tuple[str, ...]] | None = None,
    shared: MutableMapping[Any, Any] | None = None,
) -> QueryContext:
    """The context of a tab: a built-in query merges the template's settings over its defaults.

    ``shared``: the sync's scratch space, one mapping for all its tabs (:class:`QueryContext`).
    """
    day = as_of if as_of is not None else default_as_of(conn)
    if template.query is None:
        return QueryContext(
            as_of=day,
            window_days=template.window_days,
            filters=dict(filters or {}),
            params=dict(template.params),
            dialect=conn.dialect.name,
            shared={} if shared is None else shared,
        )
    return _builtin(template).context(
        day,
        window_days=template.window_days,
        filters=filters,
        params=template.params,
        dialect=conn.dialect.name,
        shared=shared,
    )


def compute_frame(conn: Connection, template: TabTemplate, context: QueryContext) -> TabFrame:
    """Execute the template's query in the database and return its rows, typed and ordered."""
    derived: Mapping[str, DerivedColumn] = {}
    query: BuiltinQuery | None = None
    chunks: Iterable[Sequence[Any]]
    if template.sql_path is not None:
        names, rows = _run_user_sql(conn, template.sql_path, context)
        where, chunks = str(template.sql_path), [rows]
    else:
        query = _builtin(template)
        if query.reads_facts:
            ensure_fresh(conn)
        _tune_session(conn)
        result = conn.execute(query.build(context).execution_options(yield_per=CHUNK_ROWS))
        names, chunks = list(result.keys()), result.partitions()
        if query.after is not None and wanted(template, query.after):
            names, all_rows = with_after(conn, context, query.after, names, result.all())
            chunks = [all_rows]
        where, derived = f"built-in query {query.name!r}", query.derived
    pending = query.pending if query is not None else None
    empty = pending.columns if pending is not None else ()
    extractors = [_extractor(template, c, names, where, derived, empty) for c in template.columns]
    typed: list[Row] = []
    for chunk in chunks:  # a chunk of raw rows at a time: never all raw and all typed at once
        columns = [
            _typed_column(chunk, column, extract, where)
            for column, extract in zip(template.columns, extractors, strict=True)
        ]
        typed += zip(*columns, strict=True)
    frame = TabFrame(template=template, rows=_ordered(typed, template, query))
    return with_step(conn, frame, context, pending, lambda c: _converter(c, where))


def _typed_column(
    rows: Sequence[Any], column: ColumnSpec, extract: Callable[[Row], Any], where: str
) -> list[Any]:
    """One column of the result, typed: column by column, a value already of the
    column's Python type kept as it is (a text, an int, a date), the rest converted.

    Typing the 1,000,000 values of a 50,000-row tab this way takes a fraction of
    the row-by-row closures it replaced (docs/scaling.md).
    """
    convert, keep = _CONVERTERS[column.type], _KEPT.get(column.type)
    values = [extract(row) for row in rows]
    try:
        return [v if v is None or type(v) is keep else convert(v) for v in values]
    except (ValueError, TypeError, ArithmeticError):
        checked = _converter(column, where)
        for value in values:
            checked(value)  # raises the TemplateError naming the first bad value
        raise


def _tune_session(conn: Connection) -> None:
    """Turn PostgreSQL's JIT off for this transaction.

    The UNION of grouped branches has high planner estimates, so PostgreSQL 15
    JIT-compiles it: measured 11 s of compilation for 1 s of work on 1,000,000
    orders (see bench/RESULTS.md). ``SET LOCAL`` ends with the transaction.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")


def _builtin(template: TabTemplate) -> BuiltinQuery:
    return builtin_query(str(template.query), template.source_file or template.title)


def user_sql_binds(context: QueryContext) -> dict[str, Any]:
    """The bind parameters a user ``.sql`` file may use, besides the template's ``params``.

    ``:as_of`` / ``:window_end`` (the last day included), ``:window_start`` (the first,
    ``NO_WINDOW_START`` when the template has no window) and ``:window_end_exclusive``
    (the day after), so ``ts >= :window_start AND ts < :window_end_exclusive`` selects
    the window's timestamps the same way on SQLite and PostgreSQL.
    """
    return {
        **context.params,
        "as_of": context.as_of,
        "window_start": context.window_start or NO_WINDOW_START,
        "window_end": context.as_of,
        "window_end_exclusive": context.as_of + dt.timedelta(days=1),
    }


def _run_user_sql(
    conn: Connection, path: Path, context: QueryContext
) -> tuple[list[str], Sequence[Any]]:
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(
            f"{path}: cannot read the SQL file ({error.strerror}). Fix: check the path"
        ) from error
    try:
        with _savepoint(conn):
            result = conn.execute(text(strip_sql_comments(sql)), user_sql_binds(context))
            return list(result.keys()), result.all()
    except exc.SQLAlchemyError as error:
        raise TemplateError(
            f"{path}: the query failed on {conn.dialect.name}: {_reason(error)}. Fix: correct "
            "the SQL (binds available: :as_of, :window_start, :window_end, "
            ":window_end_exclusive and the template's params)"
        ) from error


_SQL_TOKENS = re.compile(
    r"(?P<quoted>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")"
    r"|(?P<line>--[^\n]*)"
    r"|(?P<block>/\*.*?\*/)",
    re.DOTALL,
)


def strip_sql_comments(sql: str) -> str:
    """Drop ``--`` and ``/* */`` comments, keeping quoted text intact.

    SQLAlchemy's ``text()`` takes every ``:name`` as a bind parameter, even inside a
    comment, so a report documenting ``-- uses :as_of`` would fail with a confusing
    binding error. Comments never change what the query does, so they go.
    """

    def keep(match: re.Match[str]) -> str:
        return match.group("quoted") or (" " if match.group("block") else "")

    return _SQL_TOKENS.sub(keep, sql)


def _savepoint(conn: Connection) -> AbstractContextManager[Any]:
    """On PostgreSQL a failed statement aborts the whole transaction; a savepoint keeps
    the caller's connection usable for the next tab. (SQLite has no such state.)"""
    return conn.begin_nested() if conn.dialect.name == "postgresql" else nullcontext()


def _reason(error: exc.SQLAlchemyError) -> str:
    orig = getattr(error, "orig", None)
    lines = str(orig if orig is not None else error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _extractor(
    template: TabTemplate,
    column: ColumnSpec,
    names: list[str],
    where: str,
    derived: Mapping[str, DerivedColumn],
    empty: Collection[str] = (),
) -> Callable[[Row], Any]:
    """``empty``: columns the backend fills from pending edits (:mod:`.pending`)."""
    if column.source in names:
        return _item(names.index(column.source))
    if column.source in empty:
        return lambda row: None
    spec = derived.get(column.source)
    if spec is not None and spec.source in names:
        index, function = names.index(spec.source), functools.lru_cache(maxsize=4096)(spec.function)
        return lambda row: None if row[index] is None else function(as_date(row[index]))
    raise TemplateError(
        f"{where}: returns no column {column.source!r} for column {column.header!r} of "
        f"{template.source_file or template.title}. Fix: return it (e.g. `... AS "
        f"{column.source}`) or set the column's `source:` to one of {names}"
    )


def _item(index: int) -> Callable[[Row], Any]:
    return lambda row: row[index]


def _ordered(rows: list[Row], template: TabTemplate, query: BuiltinQuery | None) -> list[Row]:
    """Sorted in Python (NULLs first), so both databases give the same order whatever
    their text collation: by the query's ``order_by`` when the template has those
    columns (a ``ranks`` column by rank: Pricing's grades best first), then the key."""
    if not template.key or (query is not None and query.keeps_order):
        return rows
    indexes = list(template.key_indexes)
    ranks: dict[int, Mapping[Any, int]] = {}
    sources = [c.source for c in template.columns]
    if query is not None and query.order_by and set(query.order_by) <= set(sources):
        first = [sources.index(s) for s in query.order_by]
        indexes = first + [i for i in indexes if i not in first]
        ranks = {sources.index(s): r for s, r in query.ranks.items() if s in sources}
    return sorted(rows, key=lambda row: tuple(_sort_part(row[i], ranks.get(i)) for i in indexes))


def _sort_part(value: Any, rank: Mapping[Any, int] | None) -> tuple[Any, ...]:
    """NULLs first; ranked values by rank, unknown ones after the known, by value."""
    if value is None:
        return (False,)
    if rank is None:
        return (True, value)
    return (True, rank.get(value, len(rank) + 1), value)


def _converter(column: ColumnSpec, where: str) -> Converter:
    convert = _CONVERTERS[column.type]

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError) as error:
            raise TemplateError(
                f"{where}: value {value!r} of column {column.source!r} is not a valid "
                f"{column.type.value} (for {column.header!r}). Fix: return a "
                f"{column.type.value} or change the column's `type:`"
            ) from error

    return run


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        return _float_to_decimal(value)
    return _quantized(value)


@functools.lru_cache(maxsize=65_536)
def _float_to_decimal(value: float) -> Decimal:
    """SQLite's money floats, cached: a tab repeats the same prices many times over."""
    # the shortest repr: 0.1 + 0.2 → '0.30000000000000004', not binary noise
    return _quantized(repr(value))


def _quantized(value: Any) -> Decimal:
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(value) from None  # InvalidOperation says less than the value


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    number = Decimal(repr(value) if isinstance(value, float) else value)
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _to_percent(value: Any) -> float:
    return round(float(value), PERCENT_PLACES)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.fromisoformat(str(value))


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in {"true", "false", "t", "f", "1", "0", "yes", "no"}:
            raise ValueError(value)
        return lowered in {"true", "t", "1", "yes"}
    return bool(value)


def _to_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


_KEPT: dict[ColumnType, type] = {
    ColumnType.TEXT: str,
    ColumnType.INTEGER: int,
    ColumnType.DATE: dt.date,
    ColumnType.DATETIME: dt.datetime,
    ColumnType.BOOLEAN: bool,
}
"""Column type → the Python type a value may already have, so it is kept as it is."""

_CONVERTERS: dict[ColumnType, Converter] = {
    ColumnType.TEXT: _to_text,
    ColumnType.INTEGER: _to_int,
    ColumnType.DECIMAL: _to_decimal,
    ColumnType.MONEY: _to_decimal,
    ColumnType.PERCENT: _to_percent,
    ColumnType.DATE: as_date,
    ColumnType.DATETIME: _to_datetime,
    ColumnType.BOOLEAN: _to_bool,
}
