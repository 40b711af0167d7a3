"""The demo grid's past: sellers reprice now and then, some follow their competitors.

A *listing base* is one seller × product × market (its six grades move
together, so grade order always holds). Each base carries a price factor per
day: 1 from its last change on (so today's price is the grid's), and before
each change the price that change replaced. Changes come two ways:

- **spontaneous**: every base reprices at its seller's own pace (a few
  "active" sellers about monthly, the others every few months), with a small
  downward drift (prices fall over time) and a few percent of noise;
- **reactions**: when a base reprices, the active sellers' listings of the
  same product × market follow with some probability one to four days later,
  in the same direction, by a bit less.

Prices are whole euros, at least 1 € while a listing is online; an offline
listing (0) stays offline over the whole window. A change takes effect at
midnight of its day (``changed_at`` 00:00:00, an overnight import), so every
order of a day sees that day's price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_sync.demo.spec import DemoSpec
from sheets_sync.schema import GRADES

SPONTANEOUS_PER_DAY = (1 / 150, 1 / 50)
"""Own repricing rate per listing base: (patient seller, active seller)."""
ACTIVE_SHARE = 0.45
"""Share of sellers who reprice often and follow competitors."""
STEP_MEAN, STEP_SD = -0.012, 0.035
"""A spontaneous change multiplies the price by exp(N(mean, sd)): prices drift down."""
FOLLOW_P = 0.3
FOLLOW_LAG_DAYS = (1, 4)
FOLLOW_SCALE = (0.5, 1.0)
"""A reaction repeats a competitor's move scaled by U(0.5, 1.0), 1-4 days later."""
CHANGED_BY = "demo-data"
SOURCE = "import"
REASON = "demo history"


@dataclass(frozen=True)
class History:
    """Every change of every listing base, sorted by base then day, with suffix sums.

    ``later[i]`` is the sum of the log steps of change ``i`` and of every later
    change of the same base: undoing them gives the price in force before ``i``.
    """

    base: np.ndarray
    day: np.ndarray
    later: np.ndarray
    days: int

    def factor(self, base: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The price factor of ``base`` on ``day`` (0 = the window's first day)."""
        if self.base.size == 0:
            return np.ones(np.shape(base))
        key = self.base * (self.days + 1) + self.day
        i = np.searchsorted(key, base * (self.days + 1) + day, side="right")
        clipped = np.minimum(i, key.size - 1)
        same = (i < key.size) & (self.base[clipped] == base)
        return np.exp(-np.where(same, self.later[clipped], 0.0))


def spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices ``start, start + 1, ..., start + count - 1`` of every span, concatenated."""
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def prices_on(final: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Cents in force: the final (grid) cents scaled by the day's factor, whole euros, ≥ 1 €."""
    euros = np.maximum(np.rint(final / 100 * factor), 1)
    return np.where(final > 0, euros * 100, 0).astype(np.int64)


def _markets(grid: pd.DataFrame) -> np.ndarray:
    """Market id (product × country) of each listing base."""
    base = grid.iloc[:: len(GRADES)]
    keys = base["product_id"].astype(str) + "|" + base["country"].astype(str)
    return pd.factorize(keys)[0]


def _styles(grid: pd.DataFrame, sellers: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Whether each base belongs to an active (often repricing, reactive) seller."""
    active = rng.random(len(sellers)) < ACTIVE_SHARE
    active[sellers["rank"].to_numpy() == 0] = True
    by_seller = dict(zip(sellers["seller_id"], active, strict=True))
    return grid["seller_id"].iloc[:: len(GRADES)].map(by_seller).to_numpy(dtype=bool)


def _spontaneous(
    online: np.ndarray, active: np.ndarray, days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base, day, log step) of each own change, on days 1 .. days-1."""
    rate = np.where(active, SPONTANEOUS_PER_DAY[1], SPONTANEOUS_PER_DAY[0]) * (days - 1)
    count = rng.poisson(np.where(online, rate, 0.0))
    base = np.repeat(np.arange(online.size), count)
    day = rng.integers(1, days, base.size) if days > 1 else np.zeros(0, np.int64)
    return base, day, rng.normal(STEP_MEAN, STEP_SD, base.size)


def _reactions(
    events: tuple[np.ndarray, np.ndarray, np.ndarray],
    market: np.ndarray,
    follower: np.ndarray,
    days: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Followers' changes: other active bases of the same market, a few days later."""
    base, day, step = events
    by_market = np.argsort(market, kind="stable")
    starts = np.searchsorted(market[by_market], market[base], side="left")
    counts = np.searchsorted(market[by_market], market[base], side="right") - starts
    source = np.repeat(np.arange(base.size), counts)
    other = by_market[spans(starts, counts)]
    lag = rng.integers(FOLLOW_LAG_DAYS[0], FOLLOW_LAG_DAYS[1] + 1, other.size)
    scale = rng.uniform(*FOLLOW_SCALE, other.size)
    keep = follower[other] & (other != base[source]) & (rng.random(other.size) < FOLLOW_P)
    keep &= day[source] + lag < days
    return other[keep], (day[source] + lag)[keep], (step[source] * scale)[keep]


def build_history(
    grid: pd.DataFrame, sellers: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> History:
    """Draw the window's changes; same-day changes of a base merge into one."""
    final = grid["price"].to_numpy().reshape(-1, len(GRADES))
    online = np.asarray((final > 0).any(axis=1))
    active = _styles(grid, sellers, rng) & online
    own = _spontaneous(online, active, spec.days, rng)
    follow = _reactions(own, _markets(grid), active, spec.days, rng)
    base = np.concatenate([own[0], follow[0]])
    day = np.concatenate([own[1], follow[1]])
    step = np.concatenate([own[2], follow[2]])
    keys, inverse = np.unique(base * (spec.days + 1) + day, return_inverse=True)
    merged = np.bincount(inverse, weights=step, minlength=keys.size)
    base, day = keys // (spec.days + 1), keys % (spec.days + 1)
    later = _suffix_sums(base, merged)
    return History(base=base, day=day, later=later, days=spec.days)


def _suffix_sums(base: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Per base (sorted), the sum of each step and the steps after it."""
    total = np.r_[np.cumsum(step[::-1])[::-1], 0.0]
    return total[:-1] - total[np.searchsorted(base, base, side="right")]


def changes_frame(grid: pd.DataFrame, history: History, spec: DemoSpec) -> pd.DataFrame:
    """``price_changes`` rows (cents), chronological: one per grade whose price moved."""
    g = len(GRADES)
    final = grid["price"].to_numpy().reshape(-1, g)
    before = prices_on(final[history.base], history.factor(history.base, history.day - 1)[:, None])
    after = prices_on(final[history.base], history.factor(history.base, history.day)[:, None])
    event, grade = np.nonzero(before != after)
    rows = history.base[event] * g + grade
    first = np.datetime64(spec.start_date, "s")
    frame = pd.DataFrame(
        {
            "seller_id": grid["seller_id"].to_numpy()[rows],
            "product_id": grid["product_id"].to_numpy()[rows],
            "grade": grid["grade"].to_numpy()[rows],
            "country": grid["country"].to_numpy()[rows],
            "old_price": before[event, grade],
            "new_price": after[event, grade],
            "changed_by": CHANGED_BY,
            "changed_at": first + history.day[event] * np.timedelta64(86_400, "s"),
            "source": SOURCE,
            "reason": REASON,
            "_row": rows,
        }
    )
    return frame.sort_values(["changed_at", "_row"], kind="stable", ignore_index=True)
