"""``sheets_quota``: a request's place in the shared window, taken and settled atomically.

Every process and instance reads and rewrites one row per account and kind
(:mod:`.window`), one at a time: PostgreSQL locks the row (``SELECT … FOR
UPDATE``) for the few statements that read and rewrite it; SQLite takes the
database's write lock at ``BEGIN`` (:func:`~sheets_sync.db.sqlite_immediate`).
Time is the database's on PostgreSQL (``clock_timestamp()``), so instances
with clocks apart still agree on the window; SQLite lives on one machine and
its processes share that machine's clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from sheets_sync.db import sqlite_immediate
from sheets_sync.quota import window
from sheets_sync.schema import sheets_quota


@dataclass(frozen=True)
class Bucket:
    """One quota: an account's ``read`` or ``write`` requests."""

    account: str
    kind: str


@dataclass(frozen=True)
class Taken:
    """A place taken (``end``: the end logged for the request), or how long to wait."""

    end: str | None
    wait_seconds: float = 0.0
    exact: bool = True
    """The wait is when a place frees (False: it may free sooner; poll)."""


@dataclass(frozen=True)
class Usage:
    """One quota's totals and its requests counted right now (for benches and the doctor)."""

    account: str
    kind: str
    granted: int
    waited_seconds: float
    in_window: int


def take(
    engine: Engine,
    bucket: Bucket,
    limit: int,
    window_seconds: float,
    hold_seconds: float,
    *,
    waited: float = 0.0,
    lock_wait: float | None = None,
) -> Taken:
    """A place for one request if fewer than ``limit`` are counted, logged ``hold_seconds``
    ahead (its latest end); else how long until one frees. ``waited`` (what this request
    waited) goes to the row's total with the place."""
    with _locked(engine, lock_wait) as conn:
        recent, now = _read(conn, bucket)
        ends = window.live(window.parse(recent), now, window_seconds)
        if len(ends) >= limit:
            wait, exact = window.wait_for_place(ends, now, window_seconds)
            return Taken(None, wait, exact)
        end = window.end_at(now + hold_seconds)
        _write(conn, bucket, [*ends, end], granted=1, waited=waited)
        return Taken(end)


def settle(
    engine: Engine, bucket: Bucket, end: str, window_seconds: float, lock_wait: float
) -> None:
    """The request logged at ``end`` has its answer: it counts from now on until a window
    has passed, no longer until its pessimistic end."""
    with _locked(engine, lock_wait) as conn:
        recent, now = _read(conn, bucket)
        ends = window.live(window.parse(recent), now, window_seconds)
        _write(conn, bucket, window.settled(ends, end, now))


def usage(engine: Engine, window_seconds: float) -> list[Usage]:
    """Every quota's totals, and how many requests its window counts now."""
    c = sheets_quota.c
    query = select(c.account, c.kind, c.recent, c.granted, c.waited_seconds).order_by(
        c.account, c.kind
    )
    with engine.connect() as conn:
        now = _now(conn)
        rows = conn.execute(query).all()
    return [
        Usage(row.account, row.kind, int(row.granted), float(row.waited_seconds),
              len(window.live(window.parse(row.recent), now, window_seconds)))
        for row in rows
    ]  # fmt: skip


@contextmanager
def _locked(engine: Engine, lock_wait: float | None) -> Iterator[Connection]:
    """One short transaction that may rewrite a quota row; SQLite's lock taken at ``BEGIN``,
    waited for up to ``lock_wait`` seconds (the engine's own wait when None)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn, sqlite_immediate(conn, lock_wait) as locked:
            yield locked
        return
    with engine.begin() as conn:
        yield conn


def _read(conn: Connection, bucket: Bucket) -> tuple[str, float]:
    """The bucket's log, its row locked (made on first use), and the time now."""
    c = sheets_quota.c
    query = select(c.recent).where((c.account == bucket.account) & (c.kind == bucket.kind))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    recent = conn.execute(query).scalar()
    if recent is None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(sheets_quota)
            .values(account=bucket.account, kind=bucket.kind, recent="")
            .on_conflict_do_nothing()
        )
        recent = conn.execute(query).scalar()
    return str(recent or ""), _now(conn)


def _now(conn: Connection) -> float:
    if conn.dialect.name == "postgresql":
        return float(
            conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
        )
    return time.time()


def _write(
    conn: Connection, bucket: Bucket, ends: list[str], granted: int = 0, waited: float = 0.0
) -> None:
    c = sheets_quota.c
    conn.execute(
        update(sheets_quota)
        .where((c.account == bucket.account) & (c.kind == bucket.kind))
        .values(recent=window.dump(ends), granted=c.granted + granted,
                waited_seconds=c.waited_seconds + waited)
    )  # fmt: skip
