"""Keeping the daily facts equal to the orders: incremental refresh, full rebuild, check.

- **Refresh** (before every KPI computation): the change log's rows are added to
  the facts as signed deltas (:func:`.measures.daily_facts` over the log), cells
  whose measures all fall to zero are deleted, and the log is emptied. Its cost
  follows what changed, not the size of ``tradein_orders``.
- **Full rebuild**: the facts recomputed from every order in one statement; done
  when the facts were never built (or a bulk load marked them so), or when the
  log holds a change the deltas cannot follow (a product's category changed, a
  product arrived that already has orders counted under ``unknown``,
  ``TRUNCATE``).
- **Check**: the stored facts compared with a full computation, both ways.

The facts are per database, not per spreadsheet, so two syncs of different
spreadsheets may refresh at once: one database-wide section serialises them —
a PostgreSQL session advisory lock, then a ``REPEATABLE READ`` transaction (the
deltas applied and the log rows deleted are exactly the ones its snapshot sees;
a writer committing meanwhile leaves its rows for the next refresh), or SQLite's
``BEGIN IMMEDIATE`` (one writer at a time for the whole database file).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from sheets_sync.db import sqlite_immediate
from sheets_sync.facts.measures import daily_facts, suspension_facts
from sheets_sync.facts.triggers import create_triggers, drop_triggers
from sheets_sync.locks.holder import advisory_key
from sheets_sync.schema import (
    FACT_DIMENSIONS,
    FACT_MEASURES,
    kpi_daily_facts,
    kpi_fact_changes,
    kpi_fact_state,
    kpi_suspension_facts,
    tradein_orders,
)

STATE_NAME = "kpi_daily_facts"
FACT_TABLES = ("kpi_daily_facts", "kpi_suspension_facts")
LOCK_KEY = advisory_key("kpi facts refresh")
SAMPLE_ROWS = 5
WAIT_SECONDS = 900
"""How long a refresh waits for another one (SQLite busy timeout; PostgreSQL lock_timeout)."""


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did: ``none`` (nothing changed), ``incremental`` or ``full``."""

    mode: str
    changes: int
    seconds: float


@dataclass
class CheckReport:
    """Rows only the stored facts have (``extra``) and only a full build has (``missing``)."""

    table: str
    missing: int = 0
    extra: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.missing == 0 and self.extra == 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@contextmanager
def exclusive(engine: Engine) -> Iterator[Connection]:
    """The database-wide section one refresh (or rebuild, or check) runs in."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Another sync's full build of a large database may hold the write lock
            # for minutes: wait for it, not just the engine's short busy wait.
            with sqlite_immediate(conn, wait_seconds=WAIT_SECONDS):
                yield conn
            return
        conn.exec_driver_sql(f"SET lock_timeout = '{WAIT_SECONDS}s'")
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        conn.commit()  # the session lock outlives this; the snapshot must start after it
        try:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
        finally:
            conn.execution_options(isolation_level="READ COMMITTED")
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.exec_driver_sql("RESET lock_timeout")
            conn.commit()


def is_fresh(conn: Connection) -> bool:
    """The facts were built and no change waits in the log (two index look-ups)."""
    built = conn.execute(select(kpi_fact_state.c.name).where(_state_row())).first()
    pending = conn.execute(select(kpi_fact_changes.c.change_id).limit(1)).first()
    return built is not None and pending is None


def ensure_fresh(conn: Connection) -> RefreshReport | None:
    """Refresh (on a connection of its own, committed) unless the facts are already fresh."""
    if is_fresh(conn):
        return None
    # Committed on its own connection: the caller's next statement sees it (READ
    # COMMITTED on PostgreSQL; SQLite's reads outside a write transaction).
    return refresh(conn.engine)


def refresh(engine: Engine) -> RefreshReport:
    """Bring the facts up to date: deltas of the logged changes, or a full build if needed."""
    started = time.perf_counter()
    with exclusive(engine) as conn:
        mode, changes = refresh_in(conn)
    return RefreshReport(mode, changes, time.perf_counter() - started)


def rebuild(engine: Engine) -> RefreshReport:
    """Recompute the facts from every order, whatever the log says."""
    started = time.perf_counter()
    with exclusive(engine) as conn:
        changes = _pending_row(conn)[0]
        rebuild_in(conn)
    return RefreshReport("full", changes, time.perf_counter() - started)


def check(engine: Engine) -> list[CheckReport]:
    """Refresh incrementally, then compare the stored facts with a full computation."""
    with exclusive(engine) as conn:
        refresh_in(conn)
        return [
            _compare(conn, kpi_daily_facts, daily_facts(tradein_orders)),
            _compare(conn, kpi_suspension_facts, suspension_facts(tradein_orders)),
        ]


def _state_row() -> Any:
    return kpi_fact_state.c.name == STATE_NAME


def _pending_row(conn: Connection) -> tuple[int, int | None, bool]:
    """(log rows, the last change id, whether one of them asks for a full rebuild)."""
    log = kpi_fact_changes.c
    count, last = conn.execute(select(func.count(), func.max(log.change_id))).one()
    full = conn.execute(select(log.change_id).where(log.full_rebuild.is_(True)).limit(1)).first()
    return int(count), last, full is not None


def _tune(conn: Connection) -> None:
    """PostgreSQL: room to hash-aggregate a year of facts in memory (this transaction only)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")


def refresh_in(conn: Connection) -> tuple[str, int]:
    """The refresh inside the caller's exclusive section: (mode, changes consumed)."""
    _tune(conn)
    count, last, full = _pending_row(conn)
    built = conn.execute(select(kpi_fact_state.c.built_at).where(_state_row())).scalar()
    if built is None or full:
        rebuild_in(conn)
        return "full", count
    if count == 0:
        return "none", 0
    _add(conn, kpi_daily_facts, daily_facts(kpi_fact_changes), FACT_MEASURES)
    _add(conn, kpi_suspension_facts, suspension_facts(kpi_fact_changes), ("suspended",))
    conn.execute(delete(kpi_daily_facts).where(and_(*(kpi_daily_facts.c[m] == 0
                                                      for m in FACT_MEASURES))))  # fmt: skip
    conn.execute(delete(kpi_suspension_facts).where(kpi_suspension_facts.c.suspended == 0))
    conn.execute(delete(kpi_fact_changes))
    _record(conn, built, last, count)
    return "incremental", count


def rebuild_in(conn: Connection) -> None:
    """The full build inside the caller's transaction (a bulk load's, or a refresh's)."""
    _tune(conn)
    count, last, _ = _pending_row(conn)
    conn.execute(delete(kpi_daily_facts))
    conn.execute(delete(kpi_suspension_facts))
    with _grouped_by_hash(conn):
        conn.execute(insert(kpi_daily_facts).from_select(
            [*FACT_DIMENSIONS, *FACT_MEASURES], daily_facts(tradein_orders)))  # fmt: skip
        conn.execute(insert(kpi_suspension_facts).from_select(
            [*FACT_DIMENSIONS, "reason", "suspended"], suspension_facts(tradein_orders)))  # fmt: skip
    conn.execute(delete(kpi_fact_changes))
    _record(conn, _now(), last, count)


@contextmanager
def _grouped_by_hash(conn: Connection) -> Iterator[None]:
    """PostgreSQL: the full build's grouped branches hash-aggregated, whatever the estimates.

    The planner cannot estimate how many day × cell groups an event's dates make
    (no statistics on ``CAST(… AS DATE)`` nor on the joined category), guesses one
    per order, and sorts the whole table once per event instead: the build took
    1.6–1.7× the CPU time it takes hashed at 1,000,000 orders, 1.6× at 10,000,000
    (docs/scaling.md, "The cold path"). A year's cells hash into a few tens of
    MB (within ``_tune``'s ``work_mem``; past it they spill to disk, not fail).
    Restored after, so the rest of the transaction plans as usual (a failure
    aborts the transaction, which undoes the ``SET LOCAL`` itself); SQLite has
    no choice to make (it always sorts to group).
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    previous = conn.exec_driver_sql("SELECT current_setting('enable_sort')").scalar()
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    yield
    conn.execute(text("SELECT set_config('enable_sort', :value, true)"), {"value": previous})


def _add(conn: Connection, table: Table, delta: Select[Any], measures: tuple[str, ...]) -> None:
    """Add the delta's rows to ``table``: new cells inserted, existing cells summed."""
    keys = [c.name for c in table.primary_key.columns]
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows = delta.subquery("delta")
    # SQLite needs a WHERE in INSERT … SELECT … ON CONFLICT (its parser's ambiguity).
    source = select(*rows.c).where(true())
    statement = dialect_insert(table).from_select([*keys, *measures], source)
    conn.execute(statement.on_conflict_do_update(
        index_elements=keys,
        set_={m: table.c[m] + statement.excluded[m] for m in measures},
    ))  # fmt: skip


def _record(conn: Connection, built: dt.datetime, last: int | None, count: int) -> None:
    conn.execute(delete(kpi_fact_state).where(_state_row()))
    conn.execute(insert(kpi_fact_state).values(
        name=STATE_NAME, built_at=built, refreshed_at=_now(), last_change_id=last,
        changes_applied=count))  # fmt: skip


def _compare(conn: Connection, table: Table, computed: Select[Any]) -> CheckReport:
    stored = select(*table.c)
    report = CheckReport(table.name)
    for name, first, second in (("missing", computed, stored), ("extra", stored, computed)):
        rows = conn.execute(first.except_(second)).all()
        setattr(report, name, len(rows))
        report.samples += [f"{name}: {tuple(row)}" for row in rows[:SAMPLE_ROWS]]
    return report


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Load many orders without logging each: triggers off, then on, facts marked unbuilt.

    All in the caller's transaction, so a concurrent writer waits for it and no
    change escapes both the log and the rebuild. The full build is left to the
    first refresh (the next sync, or ``sheets-sync facts rebuild``), so a bulk
    load costs what it did before the facts existed.
    """
    drop_triggers(conn)
    yield
    create_triggers(conn)
    conn.execute(delete(kpi_fact_changes))
    mark_unbuilt(conn)


def mark_unbuilt(conn: Connection) -> None:
    """The next refresh builds the facts in full (a bulk load's mark; a cold-path benchmark's)."""
    conn.execute(delete(kpi_fact_state).where(_state_row()))
