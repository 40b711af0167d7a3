"""Who wins each demo order: the customer's choice among the offers in force that day.

Every order of a market cell (product × grade × country) on a day chooses among
the cell's online listings at that day's prices. A listing's pull falls
smoothly with its gap to the best offer (how much less it pays, in %) and
with its rank (where it shows in the list), times a fixed appeal of its own
(reviews, brand, speed of payment), so the best offer usually wins and the
runners-up win a share that falls with rank and gap:

    pull = appeal × exp(-sensitivity × gap %) × rank ** -RANK_DECAY

The sensitivity differs per category and country (customers compare phone
offers closely, console offers less). The win model of
:mod:`sheets_sync.winmodel` never sees this formula: it learns shares per
rank and gap bucket from the orders and prices the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sheets_sync.demo.history import History, prices_on, spans

RANK_DECAY = 0.9
APPEAL_SD = 0.25
CATEGORY_SENSITIVITY = {
    "smartphone": 0.35,
    "tablet": 0.25,
    "laptop": 0.2,
    "console": 0.15,
    "smartwatch": 0.2,
}
"""Per % of gap to the best offer: a phone listing 2 % behind pulls half as much."""
COUNTRY_SENSITIVITY = np.array([1.0, 1.2, 0.8, 0.85, 1.1, 0.9, 1.0])
"""Per market, in ``MARKETS`` order (DE and NL compare most, ES and IT least)."""


@dataclass(frozen=True)
class Choice:
    """Per order: the winning listing (index into the candidates) and its price that day."""

    pick: np.ndarray
    cents: np.ndarray


def _groups(cell: np.ndarray, day: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (cell, day) pairs and each order's pair."""
    keys, inverse = np.unique(cell * days + day, return_inverse=True)
    return keys, inverse


def _ranked(group: np.ndarray, cents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order entries by group then price (best first); dense rank and gap % to the best."""
    # Entries already come best-final-price first, so a stable sort on one integer key is
    # nearly linear (prices below 2**31 cents).
    order = np.argsort(group.astype(np.int64) << 31 | ((1 << 31) - 1 - cents), kind="stable")
    g, c = group[order], cents[order]
    first = np.r_[True, g[1:] != g[:-1]]
    new_price = first | np.r_[True, c[1:] != c[:-1]]
    distinct = np.cumsum(new_price)
    start = np.maximum.accumulate(np.where(first, np.arange(g.size), 0))
    rank = distinct - distinct[start] + 1
    best = c[start]
    return order, rank, 100.0 * (best - c) / best


def choose(
    cand: dict[str, np.ndarray],
    cell: np.ndarray,
    day: np.ndarray,
    history: History,
    sensitivity: np.ndarray,
    rng: np.random.Generator,
) -> Choice:
    """Draw every order's winner among its cell's listings at that day's prices.

    ``sensitivity`` is per cell (``cand`` order); ``cell`` and ``day`` per order.
    """
    keys, inverse = _groups(cell, day, history.days)
    k, d = keys // history.days, keys % history.days
    entry = spans(cand["start"][k], cand["count"][k])
    group = np.repeat(np.arange(keys.size), cand["count"][k])
    b, g = cand["b_idx"][entry], cand["g_idx"][entry]
    cents = prices_on(cand["price"][b, g], history.factor(b, d[group]))
    order, rank, gap = _ranked(group, cents)
    appeal = np.asarray(rng.lognormal(0.0, APPEAL_SD, cand["price"].shape[0]))
    pull = appeal[b[order]] * np.exp(-sensitivity[k][group[order]] * gap) * rank**-RANK_DECAY
    sorted_group = group[order]
    share = pull / np.bincount(sorted_group, weights=pull)[sorted_group]
    count = cand["count"][k]
    starts = np.cumsum(count) - count
    running = np.cumsum(share)
    within = running - np.r_[0.0, running][starts][sorted_group]  # reaches 1 at a group's end
    pos = _draw(within, starts[inverse], count[inverse], rng.random(inverse.size))
    return Choice(pick=entry[order][pos], cents=cents[order][pos])


def _draw(within: np.ndarray, start: np.ndarray, count: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw per order: the first entry of its group whose running share exceeds u.

    One pass per position in the largest group (a dozen or so), not a search per order.
    """
    pos = start.copy()
    for j in range(int(count.max(initial=1)) - 1):
        pos += (j < count - 1) & (within[np.minimum(start + j, within.size - 1)] <= u)
    return pos
