"""The Pricing tab's figures at the price the team typed in `New price` (docs/design.md §7).

- ``expected_at_new_price_28d``: the listing's expected orders per 28 days if it
  paid the typed price, every other listing keeping its current price
  (:func:`sheets_sync.winmodel.expected_at_price`, here over the whole market's
  grid at once: :class:`sheets_sync.kpis.impact.MarketGrid`);
- ``cost_change_at_new_price_28d``: those orders × (typed − current price): what
  the listing would pay out more on the orders it wins per 28 days (negative: kept).

A typed price exists only in the sheet, so the query returns these empty and
the backend fills them on the rows holding a pending `New price`, with every
such row in one call (:class:`sheets_sync.kpis.query.PendingStep`). The typed
value is read exactly as the push reads it (:mod:`sheets_sync.vocabulary.prices`):
one the push would refuse for the price alone (not a price, negative, above
the ceiling, more than 2 decimals) leaves both empty, never fails the sync; 0
(offline) wins no orders. Rules of the row (a reason, grade order, the version)
are the push's to judge: the figure says what the price would do, not whether it
would pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from sheets_sync.frame import PendingEdit
from sheets_sync.kpis.impact import KEY, MarketGrid, cost_change, market_grid
from sheets_sync.kpis.query import PendingCompute, PendingStep, QueryContext
from sheets_sync.vocabulary.prices import PriceRejected, parse_price, price_problem

COLUMNS = ("expected_at_new_price_28d", "cost_change_at_new_price_28d")
TYPED = "new_price"
"""The editable column whose pending value is the typed price."""


def typed_cents(value: Any, ceiling: Decimal) -> float:
    """The typed price in cents, as the push would take it; NaN when the push would refuse
    the price itself."""
    try:
        price = parse_price(value)
    except PriceRejected:
        return math.nan
    if price_problem(price, ceiling) is not None:
        return math.nan
    return float(price * 100)


def prepare(conn: Connection, ctx: QueryContext) -> PendingCompute:
    """The figures' function, over the market as this sync sees it (fitted once per sync)."""
    grid = market_grid(conn, ctx)
    ceiling = Decimal(str(ctx.params["ceiling"]))

    def compute(edits: Sequence[PendingEdit]) -> list[tuple[float | None, float | None]]:
        prices = np.array([typed_cents(e.values.get(TYPED), ceiling) for e in edits], dtype=float)
        return at_prices(grid, rows_of(grid, [e.key for e in edits]), prices)

    return compute


def rows_of(grid: MarketGrid, keys: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The grid row of each listing of ``keys`` (mappings of :data:`KEY`; -1: not listed)."""
    frame = pd.DataFrame([[str(k[part]) for part in KEY] for k in keys], columns=list(KEY))
    return grid.rows_of(frame)


def at_prices(
    grid: MarketGrid, rows: np.ndarray, prices: np.ndarray
) -> list[tuple[float | None, float | None]]:
    """(expected orders per 28 days, cost change per 28 days in money) of the listings at
    grid ``rows``, each at its price in cents (NaN, or a row -1: both None)."""
    expected = grid.expected_at(rows, prices)
    current = grid.listings["cents"].to_numpy(dtype=float)[np.where(rows >= 0, rows, 0)]
    cost = cost_change(expected, prices, current)
    return [
        (None, None) if math.isnan(orders) else (float(orders), float(paid))
        for orders, paid in zip(expected.tolist(), cost.tolist(), strict=True)
    ]


STEP = PendingStep(columns=COLUMNS, prepare=prepare)
