"""Build every demo table as a DataFrame, without touching a database.

Frames use the tables' column names. Money columns hold integer **cents**
(exact, see :data:`MONEY_COLUMNS`); timestamps are ``datetime64[s]`` (naive
UTC, NaT for NULL); ``targets.month`` holds ``datetime.date``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_sync.demo.catalog import PRODUCT_COLUMNS, catalog
from sheets_sync.demo.orders import orders_frame
from sheets_sync.demo.sellers import grid_frame, onboarding_frame, seller_rows, sellers_frame
from sheets_sync.demo.spec import CURRENCY, GRID_UPDATED_BY, GRID_VERSION, DemoSpec
from sheets_sync.demo.targets import targets_frame

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "price_grid": ("price",),
    "tradein_orders": ("offered_price", "counter_offer_price", "paid_price"),
    "targets": ("paid_amount_target",),
}
"""Columns that hold integer cents in the frames (NUMERIC(10,2) euros in the database)."""

_STREAMS = ("sellers", "onboarding", "grid", "orders", "targets")


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent random stream per table, so e.g. the grid does not depend on --orders."""
    return {name: np.random.default_rng([seed, i]) for i, name in enumerate(_STREAMS)}


def _grid_rows(grid: pd.DataFrame, spec: DemoSpec) -> pd.DataFrame:
    """The ``price_grid`` table: today's prices, version 1, written by the generator."""
    out = grid.copy()
    out["currency"] = CURRENCY
    out["version"] = GRID_VERSION
    out["updated_at"] = np.datetime64(spec.end_date, "s") + np.timedelta64(6 * 3600, "s")
    out["updated_by"] = GRID_UPDATED_BY
    return out


def build_frames(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    """Every demo table keyed by table name, in load order (parents first)."""
    rng = _rngs(spec.seed)
    products = catalog()
    sellers = sellers_frame(spec, rng["sellers"])
    onboarding = onboarding_frame(sellers, spec, rng["onboarding"])
    grid = grid_frame(sellers, products, rng["grid"])
    orders = orders_frame(spec, sellers, products, grid, rng["orders"])
    targets = targets_frame(spec, orders, products, rng["targets"])
    return {
        "sellers": seller_rows(sellers, onboarding),
        "products": products[list(PRODUCT_COLUMNS)].copy(),
        "price_grid": _grid_rows(grid, spec),
        "tradein_orders": orders,
        "seller_onboarding": onboarding,
        "targets": targets,
    }
