"""Monthly targets per market × category, set the way a team would: from the run rate.

Each target is the month's expected volume (the realised daily rate over the
days of that month the data covers, times the month's length) moved by up to
±15%, so some markets beat their targets and others miss them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_sync.demo.spec import MARKETS, DemoSpec
from sheets_sync.errors import ConfigError
from sheets_sync.schema import CATEGORIES

EXPECTED_PAID_SHARE = 0.57
"""Roughly the share of created orders' offered amount that ends up paid."""

MONEY_LIMIT_CENTS = 10**10
"""Money columns are NUMERIC(10,2): every amount is under 100,000,000.00."""


def _months(spec: DemoSpec) -> pd.DatetimeIndex:
    first = pd.Timestamp(spec.start_date).to_period("M").to_timestamp()
    return pd.date_range(first, pd.Timestamp(spec.end_date), freq="MS")


def _covered_days(spec: DemoSpec, months: pd.DatetimeIndex) -> np.ndarray:
    """How many days of each month fall inside the generated window."""
    start, end = pd.Timestamp(spec.start_date), pd.Timestamp(spec.end_date)
    month_end = months + pd.offsets.MonthEnd(0)
    lo = np.maximum(months.to_numpy(), start.to_datetime64())
    hi = np.minimum(month_end.to_numpy(), end.to_datetime64())
    return ((hi - lo) // np.timedelta64(1, "D")).astype(np.int64) + 1


def targets_frame(
    spec: DemoSpec, orders: pd.DataFrame, products: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """``targets`` rows: every month of the window × market × category (money in cents)."""
    months = _months(spec)
    grid = pd.MultiIndex.from_product(
        [months, MARKETS, CATEGORIES], names=["month", "country", "category"]
    )
    category = orders["product_id"].map(products.set_index("product_id")["category"])
    month = orders["created_at"].dt.to_period("M").dt.to_timestamp()
    keys = [month.rename("month"), orders["country"], category.rename("category")]
    volume = orders.groupby(keys)["offered_price"].agg(["size", "sum"]).reindex(grid, fill_value=0)
    covered = pd.Series(_covered_days(spec, months), index=months)
    scale = months.days_in_month.to_numpy() / covered.to_numpy()
    per_month = pd.Series(scale, index=months).reindex(grid.get_level_values("month")).to_numpy()
    orders_target = volume["size"].to_numpy() * per_month * rng.uniform(0.85, 1.15, len(grid))
    orders_target = np.maximum(np.round(orders_target / 5) * 5, 5).astype(np.int64)
    avg = orders.groupby(["country", category.rename("category")])["offered_price"].mean()
    avg_price = avg.reindex(grid.droplevel("month")).fillna(10_000).to_numpy()
    amount = orders_target * avg_price * EXPECTED_PAID_SHARE * rng.uniform(0.9, 1.1, len(grid))
    frame = grid.to_frame(index=False)
    frame["month"] = frame["month"].dt.date
    frame["orders_target"] = orders_target
    frame["paid_amount_target"] = np.maximum(np.round(amount / 10_000) * 10_000, 10_000).astype(
        np.int64
    )
    _check_money_fits(spec, frame)
    return frame


def _check_money_fits(spec: DemoSpec, frame: pd.DataFrame) -> None:
    """Refuse, before anything is written, a month whose target a money column cannot hold
    (the database would stop the load at its first such row, with a bare overflow)."""
    if frame.empty or frame["paid_amount_target"].max() < MONEY_LIMIT_CENTS:
        return
    largest = frame.iloc[int(frame["paid_amount_target"].to_numpy().argmax())]
    days = int(np.ceil(spec.days * largest["paid_amount_target"] / (0.9 * MONEY_LIMIT_CENTS)))
    raise ConfigError(
        f"--orders {spec.orders:,} over --days {spec.days} make a monthly paid-amount target "
        f"of {largest['paid_amount_target'] / 100:,.2f} for {largest['country']} "
        f"{largest['category']} ({largest['month']}), more than money columns hold "
        f"(NUMERIC(10,2), under 100,000,000.00): spread the orders over more days "
        f"(--days {days} or more) or ask for fewer orders"
    )
