"""The win model as the tabs use it: fitted once per sync, over the whole market's grid.

Pricing and Pricing opportunities (docs/design.md §7, "Pricing impact") both
ask "how many orders per 28 days would this listing win at this price": the
model (:func:`win_model`) and the market's grid of every listing with its
competitors (:func:`market_grid`) are made once per sync and kept in its
scratch space (:attr:`QueryContext.shared`), never across syncs, so a price
changed since the last sync is always seen. The grid is the whole market,
whatever the sheet's filters: a sheet filtered to one seller still prices it
against every competitor, as its Best price and Rank do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from sheets_sync.kpis.query import QueryContext
from sheets_sync.schema import price_grid, products
from sheets_sync.vocabulary.arithmetic import cents
from sheets_sync.winmodel import WinModel, fit
from sheets_sync.winmodel.impact import Competition, demand, expected_orders

KEY = ("seller_id", "product_id", "grade", "country")
"""A listing, as the Pricing tab keys it."""


def win_model(conn: Connection, ctx: QueryContext) -> WinModel:
    """The win model as of the sync's day, fitted by the first tab that asks."""
    slot = ("win_model", ctx.as_of)
    if slot not in ctx.shared:
        ctx.shared[slot] = fit(conn, ctx.as_of)
    model: WinModel = ctx.shared[slot]
    return model


@dataclass(frozen=True)
class MarketGrid:
    """Every listing (row order of ``listings``), its competitors, its cell's demand and its
    expected orders per 28 days at its current price."""

    model: WinModel
    listings: pd.DataFrame
    competition: Competition
    cell_demand: np.ndarray
    expected_now: np.ndarray

    def rows_of(self, keys: pd.DataFrame) -> np.ndarray:
        """The grid row of each listing of ``keys`` (columns :data:`KEY`; -1: not listed)."""
        where = pd.Series(np.arange(len(self.listings)), index=self.listings.index)
        index = pd.MultiIndex.from_frame(keys.loc[:, list(KEY)].astype(str))
        return where.reindex(index).fillna(-1).to_numpy(dtype=np.int64)

    def expected_at(self, rows: np.ndarray, price_cents: np.ndarray) -> np.ndarray:
        """Expected orders per 28 days of the listings at ``rows`` if each paid its price
        (NaN price or row -1: NaN), every other listing keeping its current price."""
        prices = np.full(len(self.listings), np.nan)
        listed = rows >= 0
        prices[rows[listed]] = np.asarray(price_cents, dtype=float)[listed]
        at = expected_orders(self.model, self.listings, self.competition, prices, self.cell_demand)
        return np.where(listed, at[np.where(listed, rows, 0)], np.nan)


def market_grid(conn: Connection, ctx: QueryContext) -> MarketGrid:
    """The market's grid as of now, made by the first tab of the sync that asks."""
    slot = ("market_grid", ctx.as_of)
    if slot not in ctx.shared:
        model = win_model(conn, ctx)
        listings = _listings(conn)
        competition = Competition.of(listings)
        cell_demand = demand(model, listings)
        now = expected_orders(
            model, listings, competition, listings["cents"].to_numpy(dtype=float), cell_demand
        )
        ctx.shared[slot] = MarketGrid(model, listings, competition, cell_demand, now)
    grid: MarketGrid = ctx.shared[slot]
    return grid


def _listings(conn: Connection) -> pd.DataFrame:
    """Every ``price_grid`` row with its category and current price in cents, indexed by KEY."""
    g = price_grid.c
    query = select(*(g[k] for k in KEY), products.c.category, cents(g.price).label("cents"))
    query = query.join_from(price_grid, products, products.c.product_id == g.product_id)
    rows = [tuple(row) for row in conn.execute(query).all()]  # tuples: read 3× faster than Rows
    frame = pd.DataFrame.from_records(rows, columns=[*KEY, "category", "cents"])
    frame = frame.astype({k: str for k in KEY}).astype({"cents": np.int64})
    return frame.set_index(list(KEY), drop=False)


def cost_change(
    expected: np.ndarray, price_cents: np.ndarray, current_cents: np.ndarray
) -> np.ndarray:
    """Per 28 days, in money: the orders expected at the new price × (new − current price):
    what a raise pays out more on the orders it wins, negative for what a cut keeps; 0
    (never −0.00) where no order is expected, NaN where either is unknown."""
    paid = expected * (price_cents - current_cents) / 100
    return np.where(expected == 0, 0.0, paid)
