"""The quick consistency check: the facts' daily totals against the orders', per measure.

The full check (:func:`.maintain.check`) compares every stored cell with a full
computation — minutes at 10 M orders. This one compares totals: per day of a
recent window and per measure, what the stored facts add up to against what
the orders add up to, each order dated by its own event as in the facts. One
statement, ``UNION ALL`` of grouped branches summed per day: the stored side
is a range read of the facts' primary key (``day`` first), the orders' side a
grouped aggregate per order event over the window (``created_at`` by its
index). Categories are left out on purpose: a day's totals do not depend on
which category an order counts under, so a product arriving (which moves
orders out of ``unknown``) never looks like drift; the full check covers
categories.

The stored side counts the change log as applied (its signed deltas, as a
refresh would add them), so the check is right whether or not a refresh ran
since the last write, and in one snapshot: a writer's order and its log rows
commit together. Facts never built, or with a full rebuild pending (a bulk
load, a product that moved orders, a ``TRUNCATE``), are not drift: the next
refresh recomputes them from every order, so the check finds nothing until then.

The same statement is the alert metric ``facts_drift`` (:mod:`sheets_sync.alerts`),
counted in SQL: the number of differing measure-days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, exists, func, or_, select, union_all
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement, FromClause, Select

from sheets_sync.facts.maintain import STATE_NAME, refresh
from sheets_sync.facts.measures import ZERO, event_values, not_marker, summed, weight_of
from sheets_sync.schema import (
    FACT_MEASURES,
    kpi_daily_facts,
    kpi_fact_changes,
    kpi_fact_state,
    kpi_suspension_facts,
    tradein_orders,
)
from sheets_sync.vocabulary.orders import ORDER_EVENTS
from sheets_sync.vocabulary.sqlfuncs import day_of

QUICK_DAYS = 28
"""The window a quick check reads by default: four weeks ending on the as-of day."""
BY_REASON = "suspended_by_reason"
"""``kpi_suspension_facts`` summed over reasons: the Quality tab's reason lists."""
MEASURES: tuple[str, ...] = (*FACT_MEASURES, BY_REASON)
SAMPLE_DIFFERENCES = 5
"""Differences a warning names (the CLI lists them all)."""


@dataclass(frozen=True)
class Difference:
    """One measure of one day whose stored total is not the orders' total."""

    day: dt.date
    measure: str
    stored: int
    orders: int

    def __str__(self) -> str:
        return (
            f"{self.day.isoformat()} {self.measure}: facts {self.stored:,}, orders {self.orders:,}"
        )


def window(last: dt.date, days: int = QUICK_DAYS) -> tuple[dt.date, dt.date]:
    """The first and last day of the ``days`` days ending on ``last``."""
    return last - dt.timedelta(days=days - 1), last


def _columns(
    day: ColumnElement[Any],
    stored: Mapping[str, ColumnElement[Any]],
    counted: Mapping[str, ColumnElement[Any]],
) -> list[ColumnElement[Any]]:
    """One branch's row: the day, then stored_<m> and orders_<m> per measure (0 where absent)."""
    return [
        day.label("day"),
        *(stored.get(m, ZERO).label(f"stored_{m}") for m in MEASURES),
        *(counted.get(m, ZERO).label(f"orders_{m}") for m in MEASURES),
    ]


def _event_branches(src: FromClause, bounds: tuple[dt.datetime, dt.datetime]) -> list[Select[Any]]:
    """Per order event, its measures summed per event day within ``bounds``.

    ``src`` is the orders (the orders' side) or the change log (weighted by
    sign: the deltas the next refresh would add, part of the stored side).
    """
    weight, side = weight_of(src), "stored" if src is kpi_fact_changes else "orders"
    branches = []
    for event, values in event_values(src).items():
        sums = {m: summed(v, weight) for m, v in values.items()}
        if event == "inspected_at":
            sums[BY_REASON] = summed(values["suspended"], weight)
        day, column = day_of(src.c[event]), src.c[event]
        stored, counted = (sums, {}) if side == "stored" else ({}, sums)
        branches.append(
            select(*_columns(day, stored, counted))
            .where(column >= bounds[0], column < bounds[1], *not_marker(src))
            .group_by(day)
        )
    return branches


def _touching(bounds: tuple[dt.datetime, dt.datetime]) -> FromClause:
    """The orders with an event in the window, read once: most events but creation have
    no index, so each branch reading ``tradein_orders`` would scan it (eight scans)."""
    o = tradein_orders.c
    inside = [and_(o[e] >= bounds[0], o[e] < bounds[1]) for e in ORDER_EVENTS]
    return select(tradein_orders).where(or_(*inside)).cte("touching")


def _stored_branches(first: dt.date, last: dt.date) -> list[Select[Any]]:
    """The stored facts' rows of the window (a range of their primary key)."""
    f, s = kpi_daily_facts.c, kpi_suspension_facts.c
    return [
        select(*_columns(f.day, {m: f[m] for m in FACT_MEASURES}, {}))
        .where(f.day >= first, f.day <= last),
        select(*_columns(s.day, {BY_REASON: s.suspended}, {}))
        .where(s.day >= first, s.day <= last),
    ]  # fmt: skip


def drift_by_day(first: dt.date, last: dt.date) -> Select[Any]:
    """``day``, ``stored_<m>``, ``orders_<m>`` and ``differing`` (how many measures differ)
    of every day from ``first`` to ``last`` whose totals differ; no row when all agree."""
    end = last + dt.timedelta(days=1)
    bounds = (dt.datetime.combine(first, dt.time()), dt.datetime.combine(end, dt.time()))
    branches = [
        *_stored_branches(first, last),
        *_event_branches(kpi_fact_changes, bounds),
        *_event_branches(_touching(bounds), bounds),
    ]
    rows = union_all(*branches).subquery("totals")
    pairs = [
        (cast(func.sum(rows.c[f"stored_{m}"]), BigInteger),
         cast(func.sum(rows.c[f"orders_{m}"]), BigInteger))
        for m in MEASURES
    ]  # fmt: skip
    differing = sum((case((s != o, 1), else_=0) for s, o in pairs), ZERO)
    columns = [c.label(f"{side}_{m}") for m, p in zip(MEASURES, pairs, strict=True)
               for side, c in zip(("stored", "orders"), p, strict=True)]  # fmt: skip
    return (
        select(rows.c.day, *columns, differing.label("differing"))
        .where(_built_and_no_rebuild_pending())
        .group_by(rows.c.day)
        .having(or_(*(s != o for s, o in pairs)))
    )


def _built_and_no_rebuild_pending() -> ColumnElement[bool]:
    """Whether the stored facts plus the log should equal the orders (else the next
    refresh rebuilds them in full: nothing to report)."""
    built = exists().where(kpi_fact_state.c.name == STATE_NAME)
    marker = exists().where(kpi_fact_changes.c.full_rebuild.is_(True))
    return and_(built, ~marker)


def differing_count(first: dt.date, last: dt.date) -> ColumnElement[Any]:
    """The number of differing measure-days of the window, as one SQL value (0 when none)."""
    per_day = drift_by_day(first, last).subquery("drift")
    return select(func.coalesce(func.sum(per_day.c.differing), 0)).scalar_subquery()


def differences_in(conn: Connection, first: dt.date, last: dt.date) -> list[Difference]:
    """Every differing measure-day of the window, by day then measure order."""
    found = []
    for row in conn.execute(drift_by_day(first, last)).mappings():
        day = row["day"] if isinstance(row["day"], dt.date) else dt.date.fromisoformat(row["day"])
        found += [
            Difference(day, m, int(row[f"stored_{m}"]), int(row[f"orders_{m}"]))
            for m in MEASURES
            if row[f"stored_{m}"] != row[f"orders_{m}"]
        ]
    return sorted(found, key=lambda d: (d.day, MEASURES.index(d.measure)))


def quick_check(engine: Engine, first: dt.date, last: dt.date) -> list[Difference]:
    """Refresh, then the quick check (the CLI's ``facts check --quick``): facts never
    built are built first, rather than reported as equal."""
    refresh(engine)
    with engine.connect() as conn:
        return differences_in(conn, first, last)


def drift_warning(differences: list[Difference]) -> str | None:
    """The sentence a sync says when the facts would differ from the orders, or None."""
    if not differences:
        return None
    days = sorted({d.day for d in differences})
    named = "; ".join(str(d) for d in differences[:SAMPLE_DIFFERENCES])
    more = len(differences) - SAMPLE_DIFFERENCES
    return (
        f"the KPI facts differ from the orders on {len(days):,} day(s) "
        f"({days[0].isoformat()} to {days[-1].isoformat()}): {named}"
        + (f" (and {more:,} more)" if more > 0 else "")
        + ". The KPI tabs show the facts' figures. Fix: run `sheets-sync facts rebuild`, and "
        "check that the kpi_facts_* triggers exist (`sheets-sync init-db` recreates them)"
    )
