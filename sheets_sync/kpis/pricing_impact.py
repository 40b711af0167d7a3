"""The Pricing tab's impact columns (docs/design.md §7): what each listing's price is worth.

Computed after the ``pricing`` query's SQL, over its whole result at once
(:class:`~sheets_sync.kpis.query.AfterStep`), from the win model and the
market's grid that :mod:`.impact` makes once per sync. Every figure is per
28 days (:data:`~sheets_sync.winmodel.DEMAND_DAYS`):

- ``cell_demand_28d``: the orders the listing's market cell (product × grade
  × country) is expected to bring, all sellers together;
- ``expected_orders_28d``: this listing's share of them at its current price
  (0 offline);
- ``expected_at_suggested_28d``: the same at its ``suggested_price``, every
  other listing keeping its current price (empty without a suggestion);
- ``cost_change_at_suggested_28d``: the orders expected at the suggested
  price × (suggested − current price): what raising pays out more on the
  orders it wins, negative for what lowering saves (empty without a
  suggestion).

The same arithmetic as the figures at the typed price (:mod:`.typed_price`):
the cost is computed from the unrounded orders (the tab shows them to a
tenth), and is 0, never −0.00, where no order is expected.

Each listing is placed against the whole market, whatever the sheet's
filters, so a sheet filtered to some sellers or countries shows the same
figures for its rows as the unfiltered one. A row the grid does not hold (a
listing added between the query and the grid) gets empty figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from sheets_sync.kpis.impact import cost_change, market_grid
from sheets_sync.kpis.query import QueryContext

COLUMNS = (
    "cell_demand_28d",
    "expected_orders_28d",
    "expected_at_suggested_28d",
    "cost_change_at_suggested_28d",
)
READS = ("seller_id", "product_id", "grade", "country", "current_price", "suggested_price")
"""What the step reads of the query's result: the listing's key and its two prices."""


def impact_columns(conn: Connection, ctx: QueryContext, result: pd.DataFrame) -> pd.DataFrame:
    """The impact columns of every row of the ``pricing`` query's ``result`` (its labels)."""
    grid = market_grid(conn, ctx)
    rows = grid.rows_of(result)
    listed = rows >= 0
    current, suggested = _cents(result["current_price"]), _cents(result["suggested_price"])
    at_suggested = grid.expected_at(rows, suggested)
    cost = cost_change(at_suggested, suggested, current)
    return pd.DataFrame({
        "cell_demand_28d": _at(grid.cell_demand, rows, listed),
        "expected_orders_28d": _at(grid.expected_now, rows, listed),
        "expected_at_suggested_28d": at_suggested,
        "cost_change_at_suggested_28d": cost,
    })  # fmt: skip


def _cents(money: pd.Series) -> np.ndarray:
    """Money (Decimal or float; None) as whole cents in a float array (NaN: none)."""
    return np.round(money.astype(float).to_numpy(dtype=float) * 100)


def _at(values: np.ndarray, rows: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """``values`` of the grid rows ``rows`` (NaN where a row is not in the grid)."""
    return np.where(listed, values[np.where(listed, rows, 0)] if len(values) else np.nan, np.nan)
