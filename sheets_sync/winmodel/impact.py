"""The win model over a whole price grid at once: expected orders at any column of prices.

:func:`~sheets_sync.winmodel.predict.expected_at_price` answers for one listing;
a tab answers for 50,000 of them at three prices each, so this is the same
arithmetic on arrays. :class:`Competition` pairs every listing once with the
other online listings of its cell (a cell holds a handful, so the pairs are a
few per listing); :meth:`Competition.positions` then places any price vector
against them: dense rank among the others' distinct prices, and the gap
bucket against the best of them, to the cent as :mod:`.buckets` defines
them. The other listings are assumed not to react, as in :mod:`.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_sync.winmodel.buckets import ALONE, GAP_EDGES, MAX_RANK
from sheets_sync.winmodel.fit import WinModel

CELL = ("product_id", "grade", "country")
LISTING_COLUMNS = (*CELL, "category", "cents")
"""What :class:`Competition` needs of each listing: its cell, its category and its
current price in whole cents (0: offline)."""


@dataclass(frozen=True)
class Competition:
    """Each listing (by row number) paired with every *other* online listing of its cell."""

    size: int
    listing: np.ndarray
    """Row number of the listing, one entry per pair, sorted."""
    other_cents: np.ndarray
    """The other listing's current price in cents (> 0)."""

    @classmethod
    def of(cls, listings: pd.DataFrame) -> Competition:
        """From a frame with :data:`LISTING_COLUMNS` (any index; rows are numbered in order)."""
        frame = listings.loc[:, list(LISTING_COLUMNS)].reset_index(drop=True)
        cell = frame.groupby(list(CELL), sort=False).ngroup().to_numpy(dtype=np.int64)
        cents = frame["cents"].to_numpy(dtype=np.int64)
        online = np.flatnonzero(cents > 0)
        online = online[np.argsort(cell[online], kind="stable")]  # grouped by cell
        size = np.bincount(cell[online], minlength=int(cell.max(initial=-1)) + 1)
        start = np.cumsum(size) - size
        count = size[cell] if len(cell) else np.zeros(0, dtype=np.int64)
        listing = np.repeat(np.arange(len(frame)), count)  # each listing × its cell's online
        within = np.arange(len(listing)) - np.repeat(np.cumsum(count) - count, count)
        other = online[np.repeat(start[cell], count) + within] if len(cell) else listing
        mine = listing != other
        return cls(size=len(frame), listing=listing[mine], other_cents=cents[other[mine]])

    def best_other(self) -> np.ndarray:
        """The best other online price of each listing's cell in cents (0: alone)."""
        best = np.zeros(self.size, dtype=np.int64)
        np.maximum.at(best, self.listing, self.other_cents)
        return best

    def positions(self, price_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rank and gap buckets of each listing if it paid ``price_cents`` (int64, > 0)."""
        price = np.asarray(price_cents, dtype=np.int64)
        above = self.other_cents > price[self.listing]
        distinct = pd.DataFrame(
            {"row": self.listing[above], "cents": self.other_cents[above]}
        ).drop_duplicates()
        rank = 1 + np.bincount(distinct["row"].to_numpy(), minlength=self.size)
        best = self.best_other()
        alone = best == 0
        behind = 100 * (best - price)
        gap = sum((behind >= edge * best).astype(np.int64) for edge in GAP_EDGES)
        rank_bucket = np.where(alone, ALONE, np.minimum(rank, MAX_RANK))
        return rank_bucket, np.where(alone, 0, gap)


def shares(
    model: WinModel, groups: pd.DataFrame, rank_bucket: np.ndarray, gap_bucket: np.ndarray
) -> np.ndarray:
    """The share each listing's position wins, on its category × country curve.

    ``groups`` has ``category`` and ``country`` columns, one row per listing.
    """
    keys = list(model.curves)
    stack = np.stack([*(model.curves[k] for k in keys), model.overall])
    curve = np.full(len(groups), len(keys), dtype=np.int64)  # the overall curve by default
    if keys and len(groups):
        pairs = [groups[c].astype(str) for c in ("category", "country")]
        at = pd.MultiIndex.from_tuples(keys).get_indexer(pd.MultiIndex.from_arrays(pairs))
        curve = np.where(at < 0, len(keys), at)
    return stack[curve, rank_bucket, gap_bucket].astype(float)


def demand(model: WinModel, listings: pd.DataFrame) -> np.ndarray:
    """Each listing's cell's expected orders per ``DEMAND_DAYS`` days."""
    return model.demand.of_many(listings)


def expected_orders(
    model: WinModel,
    listings: pd.DataFrame,
    competition: Competition,
    price_cents: np.ndarray,
    cell_demand: np.ndarray | None = None,
) -> np.ndarray:
    """Expected orders per 28 days of each listing at ``price_cents`` (a float array: NaN
    where no price is given; 0 or below: offline, no orders)."""
    price = np.asarray(price_cents, dtype=float)
    given = ~np.isnan(price)
    whole = np.where(given, price, 0).astype(np.int64)
    rank_bucket, gap_bucket = competition.positions(whole)
    cells = demand(model, listings) if cell_demand is None else cell_demand
    expected = cells * shares(model, listings, rank_bucket, gap_bucket)
    return np.where(~given, np.nan, np.where(whole > 0, expected, 0.0))
