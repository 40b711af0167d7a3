"""Deciding and applying a push's edits in one database transaction (docs/design.md §7, step 5).

The listings are read, every edit assessed (:mod:`.validate`) and the valid
ones written in the same transaction, so a push never applies edits judged on
a state that moved meanwhile, and two pushes (from two spreadsheets, say) are
judged one after the other:

- on PostgreSQL the listings of the edited seller × product × country groups
  are read ``FOR UPDATE`` (in key order, so two pushes lock in the same order):
  a concurrent push on the same listings waits, then sees the new versions and
  reports a conflict instead of overwriting;
- on SQLite, which has no row locks, the transaction takes the database's one
  write lock *before* reading (``BEGIN IMMEDIATE``): a concurrent push waits
  there, then judges the state the first one committed. Without it both could
  pass grade order alone and break it together (one raises `cracked` under
  `good`, the other lowers `good` above `cracked`);
- everywhere, each ``UPDATE`` also requires ``version = <the version judged>``:
  if a row changed in between anyway, the transaction is rolled back and the
  push assessed again from what is there now.

Waiting is bounded: SQLite's busy timeout (the engine's, ``db.SQLITE_BUSY_SECONDS``
by default) and, on PostgreSQL, a ``lock_timeout`` of as long. A push that does
not get the lock in time changes nothing and fails with a :class:`TransientError`
saying to push again. A dry run takes no lock and waits for no one.

Every price and its ``price_changes`` row (source ``sheet``: the edit was typed
in the sheet, whether the CLI or the add-on pushed it) commit together; any
database error rolls all of them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql import ColumnElement, Select

from sheets_sync.clock import utcnow
from sheets_sync.db import SQLITE_BUSY_SECONDS, sqlite_immediate
from sheets_sync.errors import DatabaseError, PricingError, TransientError
from sheets_sync.pricing.model import (
    Group,
    LastChange,
    Listing,
    Outcome,
    PricingKey,
    Rules,
    SheetRow,
    group_of,
)
from sheets_sync.pricing.validate import assess
from sheets_sync.schema import price_changes, price_grid

SOURCE = "sheet"
ATTEMPTS = 3
CHUNK = 500
"""Groups per ``IN`` list: far below SQLite's bound-parameter limit."""
PG_LOCK_WAIT_SECONDS = SQLITE_BUSY_SECONDS
"""How long a push waits for another transaction's row locks on PostgreSQL: as long as
SQLite's default busy wait for its write lock."""
PG_LOCK_NOT_AVAILABLE = "55P03"


class _Raced(Exception):
    """A listing changed between the assessment and its UPDATE."""


def decide_and_apply(
    engine: Engine,
    rows: Sequence[SheetRow],
    rules: Rules,
    user: str,
    request_id: str | None = None,
    dry_run: bool = False,
    trace_id: str | None = None,
) -> list[Outcome]:
    """Assess every row and, unless ``dry_run``, apply the valid edits atomically.

    ``request_id`` and ``trace_id`` (the platform's, on App Engine) go on every
    ``price_changes`` row, in the same transaction as the prices."""
    for _attempt in range(ATTEMPTS):
        try:
            return _attempt_once(engine, rows, rules, user, (request_id, trace_id), dry_run)
        except _Raced:
            continue
        except SQLAlchemyError as error:
            if _lock_timed_out(error):
                raise _busy(engine) from error
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise DatabaseError(
                f"the database refused the pricing push ({reason}); no price was changed. "
                "Fix the database error above, then push again"
            ) from error
    raise PricingError(
        f"the listings kept changing while this push ran ({ATTEMPTS} attempts); push again"
    )


def _attempt_once(
    engine: Engine,
    rows: Sequence[SheetRow],
    rules: Rules,
    user: str,
    ids: tuple[str | None, str | None],
    dry_run: bool,
) -> list[Outcome]:
    with _transaction(engine, write=not dry_run) as conn:
        listings = load_listings(conn, {row.key for row in rows}, lock=not dry_run)
        outcomes = assess(rows, listings, rules, user)
        now = utcnow()
        if dry_run:
            for outcome in outcomes:
                if outcome.to_write:
                    outcome.at = now
        else:
            apply_edits(conn, outcomes, user, ids[0], now, trace_id=ids[1])
    return outcomes


@contextmanager
def _transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    """The one transaction a push reads, judges and (unless a dry run) writes in.

    A writing push on SQLite takes the write lock at ``BEGIN`` (see the module
    doc); on PostgreSQL it bounds its wait for row locks. A dry run reads in a
    plain transaction: it locks nothing.
    """
    if write and engine.dialect.name == "sqlite":
        with engine.connect() as conn, sqlite_immediate(conn):
            yield conn
        return
    with engine.begin() as conn:
        if write and engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{PG_LOCK_WAIT_SECONDS * 1000:.0f}ms'")
        yield conn


def _lock_timed_out(error: SQLAlchemyError) -> bool:
    """SQLite's busy timeout ran out, or PostgreSQL's ``lock_timeout`` did."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(orig)


def _busy(engine: Engine) -> TransientError:
    if engine.dialect.name == "sqlite":
        held = f"the SQLite database's write lock for more than {_busy_seconds(engine):g} s"
    else:
        held = f"locks on these listings for more than {PG_LOCK_WAIT_SECONDS:g} s"
    return TransientError(
        f"another writer (a pricing push, a sync) held {held}: this push stopped waiting, "
        "and no price was changed. Push again in a moment"
    )


def _busy_seconds(engine: Engine) -> float:
    """The busy timeout of the engine's SQLite connections (its wait for the write lock)."""
    try:
        with engine.connect() as conn:
            return float(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()) / 1000
    except SQLAlchemyError:
        return float(SQLITE_BUSY_SECONDS)


def load_listings(
    conn: Connection, keys: Iterable[PricingKey], lock: bool = False
) -> dict[PricingKey, Listing]:
    """Every listing of the groups ``keys`` belong to, with its latest change.

    ``lock`` reads them ``FOR UPDATE`` (PostgreSQL; SQLite ignores it).
    """
    groups = sorted({group_of(key) for key in keys})
    listings: dict[PricingKey, Listing] = {}
    for chunk in _chunks(groups):
        last = _last_changes(conn, chunk)
        for row in conn.execute(_listings_query(chunk, lock)):
            key = _key(row)
            listings[key] = Listing(
                key, Decimal(row.price), row.version, row.updated_at, row.updated_by,
                last.get(key),
            )  # fmt: skip
    return listings


def _chunks(groups: Sequence[Group]) -> Iterator[Sequence[Group]]:
    for start in range(0, len(groups), CHUNK):
        yield groups[start : start + CHUNK]


def _in_groups(
    columns: tuple[ColumnElement[Any], ...], groups: Sequence[Group]
) -> ColumnElement[bool]:
    return tuple_(*columns).in_(list(groups))


def _listings_query(groups: Sequence[Group], lock: bool) -> Select[Any]:
    g = price_grid.c
    query = (
        select(g.seller_id, g.product_id, g.grade, g.country, g.price, g.version,
               g.updated_at, g.updated_by)
        .where(_in_groups((g.seller_id, g.product_id, g.country), groups))
        .order_by(g.seller_id, g.product_id, g.country, g.grade)
    )  # fmt: skip
    return query.with_for_update() if lock else query


def _last_changes(conn: Connection, groups: Sequence[Group]) -> dict[PricingKey, LastChange]:
    c = price_changes.c
    key_columns = (c.seller_id, c.product_id, c.grade, c.country)
    latest = (
        select(func.max(c.change_id).label("change_id"))
        .where(_in_groups((c.seller_id, c.product_id, c.country), groups))
        .group_by(*key_columns)
        .subquery("latest")
    )
    query = select(price_changes).join(latest, latest.c.change_id == c.change_id)
    return {_key(r): _change(r) for r in conn.execute(query)}


def _key(r: Any) -> PricingKey:
    """A ``price_grid`` or ``price_changes`` row's listing."""
    return PricingKey(r.seller_id, r.product_id, r.grade, r.country)


def _change(r: Any) -> LastChange:
    old = None if r.old_price is None else Decimal(r.old_price)
    return LastChange(old, Decimal(r.new_price), r.changed_by, r.changed_at, r.request_id, r.reason)


def apply_edits(
    conn: Connection,
    outcomes: Sequence[Outcome],
    user: str,
    request_id: str | None,
    now: dt.datetime,
    trace_id: str | None = None,
) -> None:
    """Write every applicable outcome, each only if its version is still the one judged."""
    edits = [o for o in outcomes if o.to_write]
    if not edits:
        return
    g = price_grid.c
    statement = (
        update(price_grid)
        .where(and_(
            g.seller_id == bindparam("k_seller"), g.product_id == bindparam("k_product"),
            g.grade == bindparam("k_grade"), g.country == bindparam("k_country"),
            g.version == bindparam("k_version"),
        ))
        .values(price=bindparam("k_price"), version=g.version + 1, updated_at=now, updated_by=user)
    )  # fmt: skip
    params = [
        {"k_seller": o.key.seller, "k_product": o.key.product, "k_grade": o.key.grade,
         "k_country": o.key.country, "k_version": (o.version or 0) - 1, "k_price": o.price}
        for o in edits
    ]  # fmt: skip
    if conn.execute(statement, params).rowcount != len(edits):
        raise _Raced()
    audit = [_audit_row(o, user, request_id, now) | {"trace_id": trace_id} for o in edits]
    conn.execute(insert(price_changes), audit)
    for outcome in edits:
        outcome.at = now


def _audit_row(
    outcome: Outcome, user: str, request_id: str | None, now: dt.datetime
) -> dict[str, object]:
    key = outcome.key
    return {
        "seller_id": key.seller, "product_id": key.product, "grade": key.grade,
        "country": key.country,
        "old_price": outcome.old_price, "new_price": outcome.price, "changed_by": user,
        "changed_at": now, "source": SOURCE, "request_id": request_id, "reason": outcome.reason,
    }  # fmt: skip
