"""The win model's counts, kept per day like the KPI facts: only new or stale days recounted.

Rebuilding every listing's position on every day of the fit window costs tens
of seconds on a full-size database; the exposure and wins of a past day do not
change unless something that day depends on does. So they are stored per day
(``winmodel_counts``, the days held in ``winmodel_days``) and a fit only counts
the days of its window not yet held (normally just the new day) and the days
the triggers marked stale (:mod:`sheets_sync.facts.stale_days`: a late order, a
price change dated in the past), each contiguous run of them in one pass of
:func:`~sheets_sync.winmodel.positions.position_counts`. :func:`rebuild`
recounts a whole window, whatever is held: the same pass, so the same counts.

One refresh at a time per database: SQLite's ``BEGIN IMMEDIATE``; on
PostgreSQL a ``SHARE ROW EXCLUSIVE`` lock on ``winmodel_days``, which also holds
back the triggers of writers meanwhile, so an order committed during a recount
either is read by it or marks its day stale after it (writers wait for the
recount, a second or so for a day).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, and_, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

from sheets_sync.db import sqlite_immediate
from sheets_sync.facts.maintain import WAIT_SECONDS
from sheets_sync.schema import winmodel_counts, winmodel_days
from sheets_sync.winmodel.positions import COUNT_COLUMNS, position_counts


@dataclass(frozen=True)
class CountReport:
    """Which days a refresh counted (new or stale ones) and how long it took."""

    days: tuple[dt.date, ...]
    seconds: float


def window(as_of: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the ``days`` days ending on ``as_of``."""
    return as_of - dt.timedelta(days=days - 1), as_of


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with sqlite_immediate(conn, wait_seconds=WAIT_SECONDS):
                yield conn
            return
        with conn.begin():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'")
            conn.exec_driver_sql("LOCK TABLE winmodel_days IN SHARE ROW EXCLUSIVE MODE")
            yield conn


def _between(start: dt.date, end: dt.date) -> ColumnElement[bool]:
    return and_(winmodel_days.c.day >= start, winmodel_days.c.day <= end)


def is_counted(conn: Connection, start: dt.date, end: dt.date) -> bool:
    """Every day of ``start..end`` is held and none is stale (one index range)."""
    d = winmodel_days.c
    fresh = select(func.count()).where(_between(start, end), d.stale.is_(False))
    return conn.execute(fresh).scalar_one() == (end - start).days + 1


def ensure_counted(conn: Connection, start: dt.date, end: dt.date) -> CountReport | None:
    """Count (on a connection of its own, committed) what ``start..end`` lacks, if anything."""
    if is_counted(conn, start, end):
        return None
    return refresh(conn.engine, start, end)


def refresh(engine: Engine, start: dt.date, end: dt.date) -> CountReport:
    """Count the days of ``start..end`` not held yet or marked stale."""
    started = time.perf_counter()
    with _exclusive(engine) as conn:
        d = winmodel_days.c
        held = select(d.day).where(_between(start, end), d.stale.is_(False))
        fresh = set(conn.execute(held).scalars())
        todo = [day for day in _days(start, end) if day not in fresh]
        for first, last in runs(todo):
            count_in(conn, first, last)
    return CountReport(tuple(todo), time.perf_counter() - started)


def rebuild(engine: Engine, start: dt.date, end: dt.date) -> CountReport:
    """Recount every day of ``start..end``, whatever is held."""
    started = time.perf_counter()
    with _exclusive(engine) as conn:
        count_in(conn, start, end)
    return CountReport(tuple(_days(start, end)), time.perf_counter() - started)


def count_in(conn: Connection, start: dt.date, end: dt.date) -> None:
    """Replace the counts of ``start..end`` by a fresh pass, in the caller's transaction."""
    c = winmodel_counts.c
    conn.execute(delete(winmodel_counts).where(and_(c.day >= start, c.day <= end)))
    conn.execute(delete(winmodel_days).where(_between(start, end)))
    counts = position_counts(conn, start, end, by_day=True)
    rows = [
        {str(k): v for k, v in row.items()}
        for row in counts.astype({"exposure": int, "wins": int}).to_dict("records")
    ]
    if rows:
        conn.execute(insert(winmodel_counts), rows)
    conn.execute(insert(winmodel_days), [{"day": day, "stale": False} for day in
                                         _days(start, end)])  # fmt: skip


def stored_counts(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The held exposure and wins of ``start..end`` summed per category × country × position."""
    c = winmodel_counts.c
    keys = (c.category, c.country, c.rank_bucket, c.gap_bucket)
    query = (
        select(*keys, func.sum(c.exposure), func.sum(c.wins))
        .where(c.day >= start, c.day <= end)
        .group_by(*keys)
    )
    return pd.DataFrame(conn.execute(query).all(), columns=list(COUNT_COLUMNS)).astype(
        {"rank_bucket": int, "gap_bucket": int, "exposure": float, "wins": float}
    )


def runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as contiguous (first, last) runs: each run is one counting pass."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
