"""The win model over a whole grid (winmodel.impact) answers as the one-listing functions do.

The arrays are checked against :func:`expected_at_price`, listing by listing,
on random grids with ties, offline listings, lone listings and cells whose
curves were never fitted, so a vectorised shortcut cannot drift from the
definition the rest of the product relies on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sheets_sync.winmodel import Market, WinModel, expected_at_price
from sheets_sync.winmodel.buckets import GAP_BUCKETS, RANK_BUCKETS
from sheets_sync.winmodel.demand import Demand
from sheets_sync.winmodel.fit import monotonic
from sheets_sync.winmodel.impact import Competition, expected_orders


def _model(rng: np.random.Generator) -> WinModel:
    def curve() -> np.ndarray:
        return monotonic(rng.uniform(0, 1, (RANK_BUCKETS, GAP_BUCKETS)))

    demand = Demand(
        days=56, per_days=28,
        cells={(f"P{p}", g, c): float(rng.integers(0, 30))
               for p in range(4) for g in ("A", "B") for c in ("FR", "DE")},
        products={(f"P{p}", c): float(rng.integers(0, 60)) for p in range(4) for c in ("FR",)},
        mix={("phones", "FR", "A"): 0.6, ("phones", "FR", "B"): 0.4},
    )  # fmt: skip
    return WinModel(
        as_of=pd.Timestamp("2026-06-30").date(),
        overall=curve(),
        curves={("phones", "FR"): curve(), ("tablets", "DE"): curve()},
        demand=demand,
    )


def _grid(rng: np.random.Generator, size: int) -> pd.DataFrame:
    prices = rng.choice([0, 9_900, 10_000, 10_000, 10_100, 10_500, 12_000, 20_000], size)
    return pd.DataFrame({
        "product_id": [f"P{i}" for i in rng.integers(0, 4, size)],
        "grade": rng.choice(["A", "B"], size),
        "country": rng.choice(["FR", "DE"], size),
        "category": rng.choice(["phones", "tablets", "laptops"], size),
        "cents": prices,
    })  # fmt: skip


def _one_by_one(model: WinModel, grid: pd.DataFrame, price: np.ndarray) -> list[float]:
    expected = []
    for i, row in enumerate(grid.itertuples(index=False)):
        if np.isnan(price[i]):
            expected.append(np.nan)
            continue
        same = (
            (grid["product_id"] == row.product_id)
            & (grid["grade"] == row.grade)
            & (grid["country"] == row.country)
        )
        others = [int(c) for j, c in enumerate(grid["cents"]) if same.iloc[j] and j != i]
        market = Market(row.product_id, row.grade, row.country, row.category)
        expected.append(expected_at_price(model, market, int(price[i]), others))
    return expected


@pytest.mark.parametrize("seed", range(6))
def test_the_grid_answers_as_each_listing_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model, grid = _model(rng), _grid(rng, 60)
    competition = Competition.of(grid)
    typed = np.where(rng.uniform(size=60) < 0.3, np.nan, rng.integers(0, 25_000, 60))
    for price in (grid["cents"].to_numpy(dtype=float), typed):
        got = expected_orders(model, grid, competition, price)
        np.testing.assert_allclose(got, _one_by_one(model, grid, price), equal_nan=True)


def test_an_empty_grid_gives_nothing() -> None:
    rng = np.random.default_rng(0)
    grid = _grid(rng, 0)
    got = expected_orders(_model(rng), grid, Competition.of(grid), np.array([], dtype=float))
    assert got.shape == (0,)
