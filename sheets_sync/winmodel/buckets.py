"""Where a listing stands in its market cell on a day, as a (rank bucket, gap bucket) pair.

One definition, spelled twice (SQL for the fit, Python for a hypothetical
price), in integer arithmetic on cents so both give the same bucket to the
cent, on both databases.

- **rank bucket**: ``ALONE`` (0) when no other listing is online in the cell,
  else the dense rank by price (1 = pays the most, ties share a rank) capped
  at ``MAX_RANK`` (4 = "4th or worse");
- **gap**: how much less the listing pays than the best *other* online
  listing, in % of that price. Behind the leader it is the usual gap to the
  best offer (> 0); for the leader it is minus its lead over the runner-up
  (≤ 0, 0 when tied), so stepping down while staying first still shows.
  The gap bucket counts the edges of :data:`GAP_EDGES` at or below the gap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, literal
from sqlalchemy.sql import ColumnElement

ALONE = 0
MAX_RANK = 4
RANK_BUCKETS = MAX_RANK + 1
GAP_EDGES: tuple[int, ...] = (-5, -2, 0, 2, 5, 10, 20)
"""In % of the best other price: lead ≥ 5, 2–5, 0–2 | tied or behind < 2, 2–5, 5–10, 10–20, ≥ 20."""
GAP_BUCKETS = len(GAP_EDGES) + 1
RANK_LABELS = ("alone", "1st", "2nd", "3rd", "4th+")
GAP_LABELS = (
    "lead ≥5%",
    "lead 2–5%",
    "lead <2%",
    "tied or <2% behind",
    "2–5% behind",
    "5–10% behind",
    "10–20% behind",
    "≥20% behind",
)


def rank_bucket(rank: int, others: int) -> int:
    """The rank bucket of a listing with dense ``rank`` among ``others`` + 1 online listings."""
    return ALONE if others == 0 else min(rank, MAX_RANK)


def gap_bucket(price: int, best_other: int | None) -> int:
    """The gap bucket of ``price`` (cents) against the best other price (None: alone → 0)."""
    if not best_other:
        return 0
    behind = 100 * (best_other - price)
    return sum(behind >= edge * best_other for edge in GAP_EDGES)


def gap_bucket_sql(price: ColumnElement[Any], best_other: ColumnElement[Any]) -> ColumnElement[Any]:
    """:func:`gap_bucket` in SQL (integer cents; NULL best other → 0)."""
    behind = 100 * (best_other - price)
    hits = [case((behind >= edge * best_other, 1), else_=0) for edge in GAP_EDGES]
    total: ColumnElement[Any] = literal(0)
    for hit in hits:
        total = total + hit
    return case((best_other.is_(None), 0), else_=total)
