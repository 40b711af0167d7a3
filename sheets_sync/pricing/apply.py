"""Deciding and applying a push's edits in one database transaction (docs/design.md §7, step 5).

The listings are read, every edit assessed (:mod:`.validate`) and the valid
ones written in the same transaction, so a push never applies edits judged on
a state that moved meanwhile:

- on PostgreSQL the listings of the edited seller × product × country groups
  are read ``FOR UPDATE`` (in key order, so two pushes lock in the same order):
  a concurrent push on the same listings waits, then sees the new versions and
  reports a conflict instead of overwriting;
- everywhere, each ``UPDATE`` also requires ``version = <the version judged>``.
  If any row was changed in between (SQLite has no row locks), the transaction
  is rolled back and the push assessed again from what is there now; so an
  update is never lost, whatever the database.

Every price and its ``price_changes`` row (source ``sheet``: the edit was typed
in the sheet, whether the CLI or the add-on pushed it) commit together; any
database error rolls all of them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ColumnElement, Select

from sheets_sync.errors import DatabaseError, PricingError
from sheets_sync.pricing.model import (
    Group,
    Key,
    LastChange,
    Listing,
    Outcome,
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


class _Raced(Exception):
    """A listing changed between the assessment and its UPDATE."""


def utcnow() -> dt.datetime:
    """Naive UTC, as every timestamp of the schema."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def decide_and_apply(
    engine: Engine,
    rows: Sequence[SheetRow],
    rules: Rules,
    user: str,
    request_id: str | None = None,
    dry_run: bool = False,
) -> list[Outcome]:
    """Assess every row and, unless ``dry_run``, apply the valid edits atomically."""
    for _attempt in range(ATTEMPTS):
        try:
            return _attempt_once(engine, rows, rules, user, request_id, dry_run)
        except _Raced:
            continue
        except SQLAlchemyError as error:
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
    request_id: str | None,
    dry_run: bool,
) -> list[Outcome]:
    with engine.begin() as conn:
        listings = load_listings(conn, {row.key for row in rows}, lock=not dry_run)
        outcomes = assess(rows, listings, rules, user)
        now = utcnow()
        if dry_run:
            for outcome in outcomes:
                if outcome.to_write:
                    outcome.at = now
        else:
            apply_edits(conn, outcomes, user, request_id, now)
    return outcomes


def load_listings(conn: Connection, keys: Iterable[Key], lock: bool = False) -> dict[Key, Listing]:
    """Every listing of the groups ``keys`` belong to, with its latest change.

    ``lock`` reads them ``FOR UPDATE`` (PostgreSQL; SQLite ignores it).
    """
    groups = sorted({group_of(key) for key in keys})
    listings: dict[Key, Listing] = {}
    for chunk in _chunks(groups):
        last = _last_changes(conn, chunk)
        for row in conn.execute(_listings_query(chunk, lock)):
            key: Key = (row.seller_id, row.product_id, row.grade, row.country)
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


def _last_changes(conn: Connection, groups: Sequence[Group]) -> dict[Key, LastChange]:
    c = price_changes.c
    key_columns = (c.seller_id, c.product_id, c.grade, c.country)
    latest = (
        select(func.max(c.change_id).label("change_id"))
        .where(_in_groups((c.seller_id, c.product_id, c.country), groups))
        .group_by(*key_columns)
        .subquery("latest")
    )
    query = select(price_changes).join(latest, latest.c.change_id == c.change_id)
    return {
        (r.seller_id, r.product_id, r.grade, r.country): _change(r) for r in conn.execute(query)
    }


def _change(r: Any) -> LastChange:
    old = None if r.old_price is None else Decimal(r.old_price)
    return LastChange(old, Decimal(r.new_price), r.changed_by, r.changed_at, r.request_id, r.reason)


def apply_edits(
    conn: Connection,
    outcomes: Sequence[Outcome],
    user: str,
    request_id: str | None,
    now: dt.datetime,
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
        {"k_seller": o.key[0], "k_product": o.key[1], "k_grade": o.key[2],
         "k_country": o.key[3], "k_version": (o.version or 0) - 1, "k_price": o.price}
        for o in edits
    ]  # fmt: skip
    if conn.execute(statement, params).rowcount != len(edits):
        raise _Raced()
    conn.execute(insert(price_changes), [_audit_row(o, user, request_id, now) for o in edits])
    for outcome in edits:
        outcome.at = now


def _audit_row(
    outcome: Outcome, user: str, request_id: str | None, now: dt.datetime
) -> dict[str, object]:
    seller_id, product_id, grade, country = outcome.key
    return {
        "seller_id": seller_id, "product_id": product_id, "grade": grade, "country": country,
        "old_price": outcome.old_price, "new_price": outcome.price, "changed_by": user,
        "changed_at": now, "source": SOURCE, "request_id": request_id, "reason": outcome.reason,
    }  # fmt: skip
