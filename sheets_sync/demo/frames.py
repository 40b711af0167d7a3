"""Build every demo table as a DataFrame, without touching a database.

Frames use the tables' column names. Money columns hold integer **cents**
(exact, see :data:`MONEY_COLUMNS`); timestamps are ``datetime64[s]`` (naive
UTC, NaT for NULL); ``targets.month`` holds ``datetime.date``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_sync.demo.catalog import PRODUCT_COLUMNS, catalog
from sheets_sync.demo.history import build_history, changes_frame
from sheets_sync.demo.orders import orders_frame
from sheets_sync.demo.sellers import grid_frame, onboarding_frame, seller_rows, sellers_frame
from sheets_sync.demo.spec import CURRENCY, GRID_UPDATED_BY, GRID_VERSION, DemoSpec
from sheets_sync.demo.targets import targets_frame

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "price_grid": ("price",),
    "price_changes": ("old_price", "new_price"),
    "tradein_orders": ("offered_price", "counter_offer_price", "paid_price"),
    "targets": ("paid_amount_target",),
}
"""Columns that hold integer cents in the frames (NUMERIC(10,2) euros in the database)."""

_STREAMS = ("sellers", "onboarding", "grid", "orders", "targets", "history")


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent random stream per table, so e.g. the grid does not depend on --orders."""
    return {name: np.random.default_rng([seed, i]) for i, name in enumerate(_STREAMS)}


def _grid_rows(grid: pd.DataFrame, changes: pd.DataFrame, spec: DemoSpec) -> pd.DataFrame:
    """The ``price_grid`` table: today's prices; version 1 + the row's changes in the window.

    A row the window never changed was last set the day before it starts; a
    changed row was last set by its last change.
    """
    out = grid.copy()
    out["currency"] = CURRENCY
    per_row = changes.groupby("_row")
    version = per_row.size().reindex(range(len(grid)), fill_value=0).to_numpy()
    out["version"] = GRID_VERSION + version
    before = np.datetime64(spec.start_date, "s") - np.timedelta64(18 * 3600, "s")
    last = per_row["changed_at"].max().reindex(range(len(grid))).to_numpy(dtype="datetime64[s]")
    out["updated_at"] = np.where(np.isnat(last), before, last)
    out["updated_by"] = GRID_UPDATED_BY
    return out


def _change_rows(changes: pd.DataFrame) -> pd.DataFrame:
    """The ``price_changes`` table: ids 1, 2, ... in chronological order."""
    out = changes.drop(columns="_row")
    out.insert(0, "change_id", np.arange(1, len(out) + 1))
    return out


def build_frames(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    """Every demo table keyed by table name, in load order (parents first)."""
    rng = _rngs(spec.seed)
    products = catalog()
    sellers = sellers_frame(spec, rng["sellers"])
    onboarding = onboarding_frame(sellers, spec, rng["onboarding"])
    grid = grid_frame(sellers, products, rng["grid"])
    history = build_history(grid, sellers, spec, rng["history"])
    changes = changes_frame(grid, history, spec)
    orders = orders_frame(spec, sellers, products, grid, history, rng["orders"])
    targets = targets_frame(spec, orders, products, rng["targets"])
    return {
        "sellers": seller_rows(sellers, onboarding),
        "products": products[list(PRODUCT_COLUMNS)].copy(),
        "price_grid": _grid_rows(grid, changes, spec),
        "price_changes": _change_rows(changes),
        "tradein_orders": orders,
        "seller_onboarding": onboarding,
        "targets": targets,
    }
