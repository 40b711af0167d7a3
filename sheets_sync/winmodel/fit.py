"""Fit the win model: the share of a cell's trade-ins a listing wins, per position.

The counts come from SQL (:func:`sheets_sync.winmodel.positions.position_counts`, kept
per day by :mod:`sheets_sync.winmodel.counts`);
this is the one small pandas step: turn exposure and wins into shares, per
category × country, each pulled towards the overall curve by its evidence
(empirical Bayes: the group's own rate weighs ``n / (n + PRIOR_ORDERS)``,
the overall curve the rest, ``n`` being the orders the group's listings in
that position competed for), then made monotonic: a share never rises as
the rank or the gap worsens, so a higher price never predicts fewer orders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from sheets_sync.winmodel.buckets import ALONE, GAP_BUCKETS, RANK_BUCKETS
from sheets_sync.winmodel.counts import ensure_counted, stored_counts, window
from sheets_sync.winmodel.demand import Demand, demand_from
from sheets_sync.winmodel.positions import cell_demand

FIT_DAYS = 56
"""History the fit reads, ending on ``as_of``: long enough for thin markets, recent enough
to follow the market's current habits (and what keeps the fit fast)."""
DEMAND_DAYS = 28
"""Expected orders are per this many days."""
DEMAND_HISTORY_DAYS = 56
"""A cell's 28-day demand is read from this many days, scaled to 28 (and pooled with its
product's, :mod:`sheets_sync.winmodel.demand`): one month of one cell is mostly noise."""
PRIOR_ORDERS = 50.0
"""How many orders of its own a category × country needs in a position to weigh as much
as the overall curve there."""


@dataclass(frozen=True)
class WinModel:
    """Shares per (rank bucket, gap bucket), overall and per category × country, and demand.

    ``curves[(category, country)]`` and ``overall`` are ``RANK_BUCKETS × GAP_BUCKETS``
    arrays of shares in [0, 1]; ``demand.of(product_id, grade, country, category)`` is a
    cell's expected orders per ``DEMAND_DAYS`` days.
    """

    as_of: dt.date
    overall: np.ndarray
    curves: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    demand: Demand = field(default_factory=lambda: Demand(DEMAND_DAYS, DEMAND_DAYS))

    def curve(self, category: str, country: str) -> np.ndarray:
        """The category × country curve; the overall one for a pair never seen."""
        return self.curves.get((category, country), self.overall)


def fit(
    conn: Connection,
    as_of: dt.date,
    days: int = FIT_DAYS,
    demand_days: int = DEMAND_HISTORY_DAYS,
) -> WinModel:
    """Fit on the ``days`` days ending on ``as_of`` (later orders and prices are not read).

    The counts come from ``winmodel_counts``, the days it lacks counted first
    (:mod:`.counts`): on a database counted yesterday, one day's pass.
    """
    start, end = window(as_of, days)
    ensure_counted(conn, start, end)
    counts = stored_counts(conn, start, end)
    overall, curves = smooth(counts)
    demand = demand_from(cell_demand(conn, as_of, demand_days), demand_days, DEMAND_DAYS)
    return WinModel(as_of=as_of, overall=overall, curves=curves, demand=demand)


def _grid(counts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exposure and wins as RANK_BUCKETS × GAP_BUCKETS arrays (zeros where unseen)."""
    exposure = np.zeros((RANK_BUCKETS, GAP_BUCKETS))
    wins = np.zeros((RANK_BUCKETS, GAP_BUCKETS))
    at = (counts["rank_bucket"].to_numpy(), counts["gap_bucket"].to_numpy())
    np.add.at(exposure, at, counts["exposure"].to_numpy(dtype=float))
    np.add.at(wins, at, counts["wins"].to_numpy(dtype=float))
    return exposure, wins


def _filled(shares: np.ndarray) -> np.ndarray:
    """Unseen positions take their nearest seen neighbour on the same rank (else the rank above)."""
    out = pd.DataFrame(shares).T.ffill().bfill().T.to_numpy(copy=True)
    for rank in range(1, RANK_BUCKETS):
        if np.isnan(out[rank]).all():
            out[rank] = out[rank - 1]
    out[ALONE] = np.where(np.isnan(out[ALONE]), 1.0, out[ALONE])
    return np.nan_to_num(out, nan=0.0)


def monotonic(shares: np.ndarray) -> np.ndarray:
    """Never rising with a worse gap (along a row) or a worse rank (down the ranked rows)."""
    out = np.minimum.accumulate(shares, axis=1)
    out[1:] = np.minimum.accumulate(out[1:], axis=0)
    return np.clip(out, 0.0, 1.0)


def smooth(
    counts: pd.DataFrame, prior: float = PRIOR_ORDERS
) -> tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]:
    """The overall curve and each category × country's, shrunk towards it where thin."""
    exposure, wins = _grid(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = monotonic(_filled(wins / exposure))
    curves: dict[tuple[str, str], np.ndarray] = {}
    for (category, country), group in counts.groupby(["category", "country"], sort=True):
        n, w = _grid(group)
        curves[(str(category), str(country))] = monotonic((w + prior * overall) / (n + prior))
    return overall, curves
