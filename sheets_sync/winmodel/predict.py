"""Expected orders per 28 days of a listing, at its price or at any price the team might type.

A listing's expected orders are its cell's 28-day demand × the share its
position wins (:class:`sheets_sync.winmodel.fit.WinModel`). A hypothetical
price is evaluated by recomputing the position that price would have
against the other listings' current prices (they are assumed not to react):
:func:`expected_at_price`. Because the fitted shares never rise as rank or
gap worsen, raising a price never lowers the expectation, lowering it never
raises it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sheets_sync.winmodel.buckets import ALONE, GAP_EDGES, MAX_RANK, gap_bucket
from sheets_sync.winmodel.fit import WinModel


@dataclass(frozen=True)
class Market:
    """Where a listing sells: its cell and the cell's category (the curve it follows)."""

    product_id: str
    grade: str
    country: str
    category: str


@dataclass(frozen=True)
class Position:
    """A (rank bucket, gap bucket) pair, as :mod:`sheets_sync.winmodel.buckets` defines them."""

    rank_bucket: int
    gap_bucket: int


def position(rank: int, gap_pct: float, alone: bool = False) -> Position:
    """The position of a listing with dense ``rank`` and ``gap_pct`` % behind the best other
    price (negative: the leader's lead over the runner-up); ``alone`` when nobody else lists it."""
    if alone:
        return Position(ALONE, 0)
    return Position(min(rank, MAX_RANK), sum(gap_pct >= edge for edge in GAP_EDGES))


def position_of(price_cents: int, others_cents: Sequence[int]) -> Position:
    """The position ``price_cents`` would have against the other online listings' prices."""
    others = [p for p in others_cents if p > 0]
    if not others:
        return Position(ALONE, 0)
    rank = 1 + len({p for p in others if p > price_cents})
    return Position(min(rank, MAX_RANK), gap_bucket(price_cents, max(others)))


def share(model: WinModel, category: str, country: str, at: Position) -> float:
    """The share of its cell's orders a listing at ``at`` wins."""
    return float(model.curve(category, country)[at.rank_bucket, at.gap_bucket])


def expected_orders(model: WinModel, market: Market, at: Position) -> float:
    """Expected orders per 28 days of a listing of ``market`` at position ``at``."""
    demand = model.demand.of(market.product_id, market.grade, market.country, market.category)
    return demand * share(model, market.category, market.country, at)


def expected_at_price(
    model: WinModel, market: Market, price_cents: int, others_cents: Sequence[int]
) -> float:
    """Expected orders per 28 days at a hypothetical price (0: offline, no orders)."""
    if price_cents <= 0:
        return 0.0
    return expected_orders(model, market, position_of(price_cents, others_cents))
