"""How far to trust the win model: forecast 28 days of orders per listing, compare with what happened.

For each seed: the full-size demo (``--orders``, 120 days to 2025-06-30) is
loaded into a SQLite file; for each cut-off the model is fitted from the
database as of the cut-off (it reads nothing later), then every listing
online at the cut-off gets a forecast of its orders over the next 28 days:

- **model**: its cell's orders of the 28 days to the cut-off, spread evenly
  over the next 28 days, × the share the model gives the listing's position
  on each of those days. The positions use the prices in force each day
  after the cut-off — the model is told the prices, as when the team types
  one; it is not told the orders;
- **model, frozen**: the same with every price frozen at the cut-off (what
  the model would say if nobody changed anything: shows how much of the
  gain comes from knowing the prices);
- **naive**: the listing's own orders of the last 28 days.

Error: weighted absolute percentage error, sum |forecast − actual| / sum
actual, over every listing, and over the listings whose price or rank
changed in the 28 days after the cut-off. Medians over seeds × cut-offs.
Goal: on changed listings ≥ 30 % lower error than naive; overall no worse.

Run:  .venv/bin/python -P bench/pricing_model.py [--orders 60000] [--seeds 42 7 2024]
      [--cutoffs 28 42 56]   (cut-offs in days before the end date)
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import datetime as dt
import statistics
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_sync.db import make_engine
from sheets_sync.demo import build_frames, generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.winmodel import WinModel, fit
from sheets_sync.winmodel.buckets import ALONE, GAP_EDGES, MAX_RANK

END = dt.date(2025, 6, 30)
HORIZON = 28
FIT_OPTIONS: dict[str, int] = {}
LISTING = ["seller_id", "product_id", "grade", "country"]
CELL = ["product_id", "grade", "country"]


@dataclass
class Score:
    seed: int
    cutoff: dt.date
    listings: int
    changed: int
    errors: dict[str, tuple[float, float]]  # forecast -> (overall, changed)


def daily_prices(frames: dict[str, pd.DataFrame], days: list[dt.date]) -> np.ndarray:
    """Cents in force per grid row (rows) and day (columns): the end-of-day price."""
    grid, changes = frames["price_grid"], frames["price_changes"]
    prices = np.repeat(grid["price"].to_numpy()[:, None], len(days), axis=1)
    row = pd.Series(np.arange(len(grid)), index=pd.MultiIndex.from_frame(grid[LISTING]))
    rows = row.reindex(pd.MultiIndex.from_frame(changes[LISTING])).to_numpy()
    first_next = [np.datetime64(d + dt.timedelta(days=1)) for d in days]
    later = changes["changed_at"].to_numpy() >= np.datetime64(days[0] + dt.timedelta(days=1))
    for i in np.nonzero(later)[0][::-1]:  # latest first: earlier changes overwrite
        at = changes["changed_at"].to_numpy()[i]
        upto = sum(1 for nxt in first_next if at >= nxt)
        prices[rows[i], :upto] = changes["old_price"].to_numpy()[i]
    return prices


def positions(cell: np.ndarray, cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank bucket, gap bucket) of every row for one day's prices (offline rows: -1)."""
    online = cents > 0
    out_r, out_g = np.full(cents.size, -1), np.full(cents.size, -1)
    idx = np.nonzero(online)[0]
    c, p = cell[idx], cents[idx]
    order = np.lexsort((-p, c))
    c, p, idx = c[order], p[order], idx[order]
    first = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(c.size), 0))
    distinct = np.cumsum(first | np.r_[True, p[1:] != p[:-1]])
    rank = distinct - distinct[start] + 1
    size = np.bincount(np.cumsum(first) - 1)[np.cumsum(first) - 1]
    best = p[start]
    nxt = np.r_[p[1:], 0]
    same_cell_next = np.r_[c[1:] == c[:-1], False]
    tied = np.r_[False, (p[1:] == p[:-1]) & (c[1:] == c[:-1])] | (same_cell_next & (nxt == p))
    other = np.where((rank == 1) & ~tied, np.where(same_cell_next, nxt, 0), best)
    behind = 100 * (other - p)
    gap = sum((behind >= e * other).astype(int) for e in GAP_EDGES)
    alone = size == 1
    out_r[idx] = np.where(alone, ALONE, np.minimum(rank, MAX_RANK))
    out_g[idx] = np.where(alone, 0, gap)
    return out_r, out_g


def shares(
    model: WinModel, groups: list[tuple[str, str]], g: np.ndarray, r: np.ndarray, b: np.ndarray
) -> np.ndarray:
    curves = np.stack([model.curve(cat, country) for cat, country in groups])
    return np.where(r >= 0, curves[g, np.maximum(r, 0), np.maximum(b, 0)], 0.0)


def won(orders: pd.DataFrame, grid: pd.DataFrame, first: dt.date, last: dt.date) -> np.ndarray:
    """Orders per grid row created on days first..last."""
    day = orders["created_at"].dt.date
    mask = (day >= first) & (day <= last)
    counts = orders[mask].groupby(["seller_id", "product_id", "declared_grade", "country"]).size()
    counts.index = counts.index.set_names(LISTING)
    return counts.reindex(pd.MultiIndex.from_frame(grid[LISTING]), fill_value=0).to_numpy()


def wape(forecast: np.ndarray, actual: np.ndarray, mask: np.ndarray) -> float:
    return float(np.abs(forecast[mask] - actual[mask]).sum() / max(actual[mask].sum(), 1))


def score(frames: dict[str, pd.DataFrame], model: WinModel, seed: int, cutoff: dt.date) -> Score:
    grid, orders = frames["price_grid"], frames["tradein_orders"]
    days = [cutoff + dt.timedelta(days=i) for i in range(HORIZON + 1)]
    prices = daily_prices(frames, days)
    cell = pd.factorize(pd.MultiIndex.from_frame(grid[CELL]))[0]
    category = grid["product_id"].map(frames["products"].set_index("product_id")["category"])
    pairs = pd.MultiIndex.from_arrays([category, grid["country"]])
    g, groups = pd.factorize(pairs)
    keys = zip(grid["product_id"], grid["grade"], grid["country"], category, strict=True)
    demand = np.array([model.demand.of(*k) for k in keys])
    ranks, gaps = zip(*(positions(cell, prices[:, i]) for i in range(len(days))), strict=True)
    r, b = np.column_stack(ranks), np.column_stack(gaps)
    s = np.column_stack(
        [shares(model, list(groups), g, r[:, i], b[:, i]) for i in range(len(days))]
    )
    forecasts = {
        "model": demand / HORIZON * s[:, 1:].sum(axis=1),
        "model, frozen": demand * s[:, 0],
        "naive": won(orders, grid, cutoff - dt.timedelta(days=HORIZON - 1), cutoff),
    }
    actual = won(orders, grid, cutoff + dt.timedelta(days=1), cutoff + dt.timedelta(days=HORIZON))
    online = prices[:, 0] > 0
    dense = np.column_stack([positions_rank(cell, prices[:, i]) for i in range(len(days))])
    changed = online & ((prices[:, 1:] != prices[:, :1]).any(axis=1)
                        | (dense[:, 1:] != dense[:, :1]).any(axis=1))  # fmt: skip
    errors = {k: (wape(f, actual, online), wape(f, actual, changed)) for k, f in forecasts.items()}
    errors["floor (Poisson)"] = _floor(forecasts["model"], online, changed, seed)
    return Score(seed, cutoff, int(online.sum()), int(changed.sum()), errors)


def _floor(
    expected: np.ndarray, online: np.ndarray, changed: np.ndarray, seed: int
) -> tuple[float, float]:
    """The error of a forecast that were exactly right on average: orders drawn as Poisson
    around it, scored against it. Counts this small are mostly noise; no forecast beats this."""
    drawn = np.random.default_rng(seed).poisson(expected)
    return wape(expected, drawn, online), wape(expected, drawn, changed)


def positions_rank(cell: np.ndarray, cents: np.ndarray) -> np.ndarray:
    """The dense rank itself (uncapped), to tell whether a listing's rank moved."""
    out = np.zeros(cents.size, dtype=int)
    idx = np.nonzero(cents > 0)[0]
    c, p = cell[idx], cents[idx]
    order = np.lexsort((-p, c))
    c, p, idx = c[order], p[order], idx[order]
    first = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(c.size), 0))
    distinct = np.cumsum(first | np.r_[True, p[1:] != p[:-1]])
    out[idx] = distinct - distinct[start] + 1
    return out


def run(orders: int, seeds: list[int], cutoffs: list[int]) -> list[Score]:
    scores = []
    for seed in seeds:
        spec = DemoSpec(orders=orders, seed=seed, end_date=END, days=120)
        frames = build_frames(spec)
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/tradein.db")
            generate(engine, spec)
            for back in cutoffs:
                cutoff = END - dt.timedelta(days=back)
                with engine.connect() as conn:
                    model = fit(conn, cutoff, **FIT_OPTIONS)
                scores.append(score(frames, model, seed, cutoff))
                print(report_line(scores[-1]), flush=True)
            engine.dispose()
    return scores


def report_line(s: Score) -> str:
    parts = " | ".join(f"{k}: {o:.3f} / {c:.3f}" for k, (o, c) in s.errors.items())
    return f"seed {s.seed} cut-off {s.cutoff} ({s.listings} listings, {s.changed} changed): {parts}"


def summary(scores: list[Score]) -> None:
    print("\n| forecast | WAPE, all listings (median) | WAPE, changed listings (median) |")
    print("|---|---:|---:|")
    medians = {}
    for name in scores[0].errors:
        overall = statistics.median(s.errors[name][0] for s in scores)
        changed = statistics.median(s.errors[name][1] for s in scores)
        medians[name] = (overall, changed)
        print(f"| {name} | {overall:.3f} | {changed:.3f} |")
    naive, model = medians["naive"], medians["model"]
    print(f"\nmodel vs naive: {1 - model[1] / naive[1]:+.1%} lower error on changed listings, "
          f"{1 - model[0] / naive[0]:+.1%} overall")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 2024])
    parser.add_argument("--cutoffs", type=int, nargs="+", default=[28, 42, 56])
    parser.add_argument("--fit-days", type=int)
    parser.add_argument("--demand-days", type=int)
    args = parser.parse_args()
    if args.fit_days:
        FIT_OPTIONS["days"] = args.fit_days
    if args.demand_days:
        FIT_OPTIONS["demand_days"] = args.demand_days
    summary(run(args.orders, args.seeds, args.cutoffs))


if __name__ == "__main__":
    main()
