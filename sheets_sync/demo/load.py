"""Bulk loading of the demo frames: one transaction, the fastest path per database.

SQLite gets ``executemany`` in large chunks with the load-time PRAGMAs tuned;
PostgreSQL gets ``COPY ... FROM STDIN`` through psycopg 3. Values are encoded
the way SQLAlchemy itself stores them (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``
text and REAL/INTEGER money), so rows read back exactly like rows the library
writes later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, Integer, Numeric, Table, delete, func, select

from sheets_sync import schema
from sheets_sync.db import describe
from sheets_sync.errors import DatabaseError

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``: stage is a table name or ``generate``."""

CHUNK_ROWS = 100_000
_PG_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _kind(table: Table, column: str) -> str:
    """How a column is encoded: datetime, date, money, int or text."""
    col_type = table.c[column].type
    if isinstance(col_type, DateTime):
        return "datetime"
    if isinstance(col_type, Date):
        return "date"
    if isinstance(col_type, Numeric) and not isinstance(col_type, Integer):
        return "money"
    if isinstance(col_type, Integer):
        return "int"
    return "text"


@lru_cache(maxsize=4)
def _times_of_day(suffix: str) -> np.ndarray:
    """``HH:MM:SS`` + suffix for each of the 86,400 seconds of a day."""
    return np.array(
        [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86_400)],
        dtype=object,
    )


def _datetime_text(values: pd.Series, suffix: str) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS`` + suffix; NULL stays None.

    Vectorised by table lookup: a string per distinct day and per second of
    the day, joined per row (one Python string concatenation each).
    """
    stamps = values.to_numpy(dtype="datetime64[s]")
    present = ~np.isnat(stamps)
    days, seconds = np.divmod(stamps[present].view(np.int64), 86_400)
    out = np.full(stamps.size, None, dtype=object)
    if days.size:
        first = int(days.min())
        span = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
        day_text = np.array([f"{d} " for d in span], dtype=object)
        out[present] = day_text[days - first] + _times_of_day(suffix)[seconds]
    return out


def _encode(values: pd.Series, kind: str, dialect: str) -> list[Any]:
    """One column as a list of driver values (SQLite) or COPY text fields (PostgreSQL)."""
    missing = values.isna().to_numpy()
    null: Any = None if dialect == "sqlite" else "\\N"
    if kind == "datetime":
        out = _datetime_text(values, ".000000" if dialect == "sqlite" else "")
    elif kind == "date":
        out = pd.to_datetime(values).dt.strftime("%Y-%m-%d").to_numpy(dtype=object, copy=True)
    elif kind == "money":
        cents = values.to_numpy(dtype="float64", na_value=0.0) / 100
        out = (
            cents.astype(object)
            if dialect == "sqlite"
            else np.char.mod("%.2f", cents).astype(object)
        )
    elif kind == "int":
        ints = values.to_numpy(dtype="int64", na_value=0)
        out = ints.astype(object) if dialect == "sqlite" else ints.astype(str).astype(object)
    else:
        out = values.to_numpy(dtype=object, copy=True)
        if dialect == "postgresql":
            out = _escape_copy_text(out, missing)
    out[missing] = null
    return list(out)


def _escape_copy_text(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Escape COPY text specials; a cheap scan skips columns that have none."""
    present = values[~missing]
    joined = "".join(str(v) for v in present)
    if not any(special in joined for special, _ in _PG_ESCAPES):
        return values
    escaped = values.copy()
    for i in np.nonzero(~missing)[0]:
        text = str(values[i])
        for special, replacement in _PG_ESCAPES:
            text = text.replace(special, replacement)
        escaped[i] = text
    return escaped


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start : start + CHUNK_ROWS]


def _columns(table: Table, frame: pd.DataFrame) -> list[str]:
    return [c.name for c in table.columns if c.name in frame.columns]


def _load_sqlite(
    conn: Connection, table: Table, frame: pd.DataFrame, progress: ProgressCallback
) -> None:
    columns = _columns(table, frame)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    done = 0
    for chunk in _chunks(frame):
        encoded = [_encode(chunk[c], _kind(table, c), "sqlite") for c in columns]
        cursor.executemany(sql, zip(*encoded, strict=True))
        done += len(chunk)
        progress(table.name, done, len(frame))
    cursor.close()


def _load_postgresql(
    conn: Connection, table: Table, frame: pd.DataFrame, progress: ProgressCallback
) -> None:
    columns = _columns(table, frame)
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    done = 0
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for chunk in _chunks(frame):
            encoded = [_encode(chunk[c], _kind(table, c), "postgresql") for c in columns]
            copy.write("".join("\t".join(row) + "\n" for row in zip(*encoded, strict=True)))
            done += len(chunk)
            progress(table.name, done, len(frame))


def refuse_existing(conn: Connection) -> None:
    """Refuse to mix demo data with existing data (one line naming the fix)."""
    orders_first = sorted(schema.DATA_TABLES, key=lambda t: t.name != "tradein_orders")
    for table in orders_first:
        rows = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if rows:
            raise DatabaseError(
                f"{describe(conn.engine)} already holds data ({rows:,} rows in {table.name}); "
                "pass --replace to delete it and load fresh demo data."
            )


def empty_tables(conn: Connection) -> None:
    """Delete every row of the data tables, children first (caller's transaction)."""
    for table in reversed(schema.DATA_TABLES):
        conn.execute(delete(table))


@contextmanager
def tuned_for_load(conn: Connection) -> Iterator[None]:
    """SQLite: skip fsyncs and keep pages in memory during the load, then restore.

    Safe because the load is one transaction: a crash loses it as a whole,
    and the defaults come back before the connection returns to the pool.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    for pragma in ("synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY"):
        raw.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        for pragma in ("synchronous=NORMAL", "cache_size=-2000", "temp_store=DEFAULT"):
            raw.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def analyze(conn: Connection, tables: list[str]) -> None:
    """Refresh planner statistics so the first KPI queries pick good plans (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return
    with conn.begin():
        for name in tables:
            conn.exec_driver_sql(f"ANALYZE {name}")


def load_frames(
    conn: Connection, frames: dict[str, pd.DataFrame], progress: ProgressCallback
) -> dict[str, int]:
    """Insert every frame into its table on ``conn`` (inside the caller's transaction)."""
    loader = _load_sqlite if conn.dialect.name == "sqlite" else _load_postgresql
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        table = schema.metadata.tables[name]
        if len(frame):
            with _indexes_rebuilt(conn, table):
                loader(conn, table, frame, progress)
        counts[name] = len(frame)
    _continue_sequences(conn, frames)
    return counts


def _continue_sequences(conn: Connection, frames: dict[str, pd.DataFrame]) -> None:
    """PostgreSQL: the next ``change_id`` a push takes follows the ids the demo wrote.

    The demo writes its ids itself (1, 2, ...: the same on every reload, like
    every other row), which a serial column's sequence does not see.
    """
    changes = frames.get("price_changes")
    if conn.dialect.name != "postgresql" or changes is None:
        return
    last = int(changes["change_id"].max()) if len(changes) else 0
    conn.exec_driver_sql(
        "SELECT setval(pg_get_serial_sequence('price_changes', 'change_id'), %s, %s)",
        (max(last, 1), last > 0),
    )


@contextmanager
def _indexes_rebuilt(conn: Connection, table: Table) -> Iterator[None]:
    """Build secondary indexes once after the load instead of row by row during it."""
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    for index in indexes:
        index.drop(conn, checkfirst=True)
    yield
    for index in indexes:
        index.create(conn)
