"""A market cell's expected orders per 28 days: its own recent orders, pooled with its product's.

A cell (product × grade × country) sells a handful of devices a month, so
its own count is mostly noise. Its product sells far more in that country,
and the grade mix of its category there is steady; their product is the
cell's *pooled* estimate. The two are blended empirical-Bayes style: the
cell's own count weighs ``m / (m + DEMAND_PRIOR_ORDERS)``, ``m`` being the
pooled estimate of its orders over the window (its expected size, not its
noisy count, so a lucky month does not earn itself more weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

DEMAND_PRIOR_ORDERS = 5.0
"""Orders over the window at which a cell's own count and the pooled estimate weigh the same."""


@dataclass(frozen=True)
class Demand:
    """Orders over a window of ``days`` per cell, per product × country, and the grade mix."""

    days: int
    per_days: int
    cells: dict[tuple[str, ...], float] = field(default_factory=dict)
    """(product_id, grade, country) → orders."""
    products: dict[tuple[str, ...], float] = field(default_factory=dict)
    """(product_id, country) → orders."""
    mix: dict[tuple[str, ...], float] = field(default_factory=dict)
    """(category, country, grade) → the grade's share of the category's orders there."""

    def of(self, product_id: str, grade: str, country: str, category: str) -> float:
        """Expected orders of the cell per ``per_days`` days."""
        own = self.cells.get((product_id, grade, country), 0.0)
        pooled = self.products.get((product_id, country), 0.0) * self.mix.get(
            (category, country, grade), 0.0
        )
        blended = own if pooled == 0 else _blend(own, pooled)
        return blended * self.per_days / self.days

    def of_many(self, cells: pd.DataFrame) -> np.ndarray:
        """:meth:`of` for every row of ``cells`` (columns product_id, grade, country,
        category) at once, with the same arithmetic: a grid of 50,000 listings in
        milliseconds instead of a Python call each."""
        text = {c: cells[c].astype(str) for c in ("product_id", "grade", "country", "category")}
        own = _lookup(self.cells, [text["product_id"], text["grade"], text["country"]])
        pooled = _lookup(self.products, [text["product_id"], text["country"]]) * _lookup(
            self.mix, [text["category"], text["country"], text["grade"]]
        )
        blended = np.where(pooled == 0, own, _blend(own, pooled))
        return np.asarray(blended * self.per_days / self.days, dtype=float)


def _lookup(table: dict[tuple[str, ...], float], keys: list[pd.Series]) -> np.ndarray:
    """``table.get(key, 0.0)`` for the keys made of the series' rows."""
    if not table or not len(keys[0]):
        return np.zeros(len(keys[0]))
    known = pd.Series(list(table.values()), index=pd.MultiIndex.from_tuples(list(table)))
    wanted = pd.MultiIndex.from_arrays([k.to_numpy() for k in keys])
    return known.reindex(wanted).fillna(0.0).to_numpy(dtype=float)


def _blend(own: Any, pooled: Any) -> Any:
    """Works on floats and on arrays alike (the same arithmetic either way)."""
    weight = pooled / (pooled + DEMAND_PRIOR_ORDERS)
    return weight * own + (1 - weight) * pooled


def demand_from(counts: pd.DataFrame, days: int, per_days: int) -> Demand:
    """From orders per product × grade × country × category over ``days`` days."""
    by_product = counts.groupby(["product_id", "country"])["orders"].sum()
    by_grade = counts.groupby(["category", "country", "grade"])["orders"].sum()
    mix = by_grade / by_grade.groupby(level=["category", "country"]).transform("sum")
    cells = counts.set_index(["product_id", "grade", "country"])["orders"]
    return Demand(
        days=days,
        per_days=per_days,
        cells=_keyed(cells),
        products=_keyed(by_product),
        mix=_keyed(mix),
    )


def _keyed(series: pd.Series) -> dict[tuple[str, ...], float]:
    """A multi-indexed series as a plain dict keyed by tuples of text."""
    return {
        tuple(str(part) for part in key): float(value)
        for key, value in zip(series.index.tolist(), series.tolist(), strict=True)
    }
