"""What each candidate move of `Pricing opportunities` is worth, and which ones the tab keeps.

One vectorised pandas step over the SQL's candidates (:mod:`.opportunities`),
with the win model and the market's grid made once per sync
(:func:`sheets_sync.kpis.impact.market_grid`: the listing's competitors keep
their current prices). Per 28 days, in euros:

- expected orders at the current and at the suggested price, and the change;
- cost change = expected orders at the suggested price × (suggested − current):
  what the listing pays more (growth) or less (savings, negative) on the orders
  it would win;
- growth value = extra orders per € 100 of that extra cost; ranked by value ×
  the market's **target weight** = target pace / orders so far this month,
  held between 1 and 3 (pace = the month's ``orders_target`` × days elapsed /
  days in the month; no target: 1; a target and no orders yet: 3);
- savings value = € kept (minus the cost change), ranked by it; the orders lost
  are the change (≤ 0).

Moves gaining nothing, or under ``min_extra_orders`` extra orders or ``min_kept``
€ kept, are left out; each kind keeps its ``top`` best, ties broken by the listing's key (seller,
product, grade, country), so the order is the same on both databases.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from sheets_sync.kpis.common import int_param, number_param
from sheets_sync.kpis.impact import KEY, cost_change, market_grid
from sheets_sync.kpis.query import QueryContext

KINDS = ("growth", "savings")
COLUMNS = (
    "rank", "listing", "expected_now", "expected_at_suggested", "order_change",
    "cost_change_28d", "orders_per_100", "kept_28d", "target_weight",
)  # fmt: skip
MAX_WEIGHT = 3.0
"""A market far behind its target counts at most this many times over."""
PER_EUROS = 100.0
"""Growth value is extra orders per this much extra spend."""


def target_weight(target: pd.Series, orders: pd.Series, as_of: dt.date) -> np.ndarray:
    """Target pace over orders so far this month, between 1 and :data:`MAX_WEIGHT`."""
    days = calendar.monthrange(as_of.year, as_of.month)[1]
    pace = pd.to_numeric(target, errors="coerce").fillna(0).to_numpy(float) * as_of.day / days
    done = pd.to_numeric(orders).fillna(0).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        behind = np.where(done > 0, pace / done, MAX_WEIGHT)
    return np.where(pace > 0, np.clip(behind, 1.0, MAX_WEIGHT), 1.0)


def _figures(conn: Connection, ctx: QueryContext, frame: pd.DataFrame) -> pd.DataFrame:
    """Expected orders, cost and value of every candidate (NaN: a listing the grid lacks)."""
    grid = market_grid(conn, ctx)
    rows = grid.rows_of(frame)
    current = frame["current_cents"].to_numpy(float)
    suggested = frame["suggested_cents"].to_numpy(float)
    now, then = grid.expected_at(rows, current), grid.expected_at(rows, suggested)
    cost = cost_change(then, suggested, current)
    growth = (frame["move"] == "growth").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_100 = np.where(growth, (then - now) / cost * PER_EUROS, np.nan)
    weight = target_weight(frame["month_target"], frame["month_orders"], ctx.as_of)
    return pd.DataFrame(
        {
            "expected_now": now, "expected_at_suggested": then, "order_change": then - now,
            "cost_change_28d": cost, "orders_per_100": per_100,
            "kept_28d": np.where(growth, np.nan, -cost), "target_weight": weight,
            "score": np.where(growth, per_100 * weight, -cost),
        },
        index=frame.index,
    )  # fmt: skip


def _worth(figures: pd.DataFrame, growth: pd.Series, extra: float, kept: float) -> pd.Series:
    """The moves big enough to show: enough extra orders, or enough money kept (and some)."""
    gain = figures["order_change"].where(growth, figures["kept_28d"])
    return figures["score"].notna() & (gain > 0) & (gain >= np.where(growth, extra, kept))


def _ranked(figures: pd.DataFrame, frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """Each kind best first (ties by key), numbered from 1, its ``top`` best kept."""
    order = pd.concat([frame.loc[figures.index, ["move", *KEY]], -figures["score"]], axis=1)
    order["kind"] = order["move"].map({k: i for i, k in enumerate(KINDS)})
    order = order.sort_values(["kind", "score", *KEY], kind="stable")
    ranked = figures.loc[order.index].copy()
    ranked["rank"] = order.groupby("kind").cumcount().to_numpy() + 1
    return ranked[ranked["rank"] <= top]


def _listing(frame: pd.DataFrame) -> pd.Series:
    """A row's name for a chart axis: seller · model storage · grade · country."""
    storage = frame["storage_gb"].map(lambda gb: "" if pd.isna(gb) else f" {int(gb)} GB")
    named = frame["seller"].astype(str) + " · " + frame["model"].astype(str) + storage
    return named + " · " + frame["grade"].astype(str) + " · " + frame["country"].astype(str)


def compute(conn: Connection, ctx: QueryContext, frame: pd.DataFrame) -> pd.DataFrame:
    """The moves the tab shows, best first per kind: the rows kept are the index."""
    top = int_param(ctx.params, "top", 1)
    extra, kept = (number_param(ctx.params, n) for n in ("min_extra_orders", "min_kept"))
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    figures = _figures(conn, ctx, frame)
    figures = figures[_worth(figures, frame["move"] == "growth", extra, kept)]
    ranked = _ranked(figures, frame, top)
    ranked["listing"] = _listing(frame.loc[ranked.index])
    out = ranked.loc[:, list(COLUMNS)]
    return out.astype(object).where(out.notna(), None)  # Python numbers, None for blanks
