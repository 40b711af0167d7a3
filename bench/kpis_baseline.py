"""The baseline the KPI pushdown is measured against: all orders into pandas, then groupby.

This is the obvious way to build the same `KPI Daily` / `KPI Weekly` /
`KPI Monthly` numbers (DESIGN §4): ``SELECT *`` from ``tradein_orders`` joined to
products and sellers, parse the timestamps, then one filtered ``groupby`` per
event family. Rows come out typed exactly like the runner's frames (money as
Decimal cents, rates as floats rounded to 6 places) so results can be compared
with ``==``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

EVENTS = (
    "created_at", "shipped_at", "received_at", "inspected_at", "counter_answered_at",
    "paid_at", "cancelled_at", "returned_at",
)  # fmt: skip
MEASURES = (
    "orders_created", "offered_amount", "shipped", "received", "inspected",
    "inspected_within_sla", "counter_offers", "counter_offers_accepted",
    "counter_offers_refused", "paid", "paid_amount", "cancelled", "returned",
    "csat_sum", "csat_responses",
)  # fmt: skip
MONEY = {"offered_amount", "paid_amount", "average_paid_price", "paid_amount_target"}
SQL = """
SELECT o.*, p.category, s.name AS seller
FROM tradein_orders o
JOIN products p ON p.product_id = o.product_id
LEFT JOIN sellers s ON s.seller_id = o.seller_id
"""


def read_orders(conn: Connection) -> pd.DataFrame:
    """Every order with its category and seller name, timestamps parsed."""
    frame = pd.read_sql_query(text(SQL), conn)
    for column in EVENTS:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def _event_measures(rows: pd.DataFrame, event: str) -> dict[str, Any]:
    """The §4 measures dated by ``event``, as per-row contributions."""
    if event == "created_at":
        return {"orders_created": 1, "offered_amount": rows["offered_price"]}
    if event == "inspected_at":
        delay = rows["inspected_at"] - rows["received_at"]
        return {
            "inspected": 1,
            "inspected_within_sla": (delay <= pd.Timedelta(hours=48)).astype(int),
            "counter_offers": rows["counter_offer_price"].notna().astype(int),
        }
    if event == "counter_answered_at":
        status = rows["counter_offer_status"]
        return {
            "counter_offers_accepted": (status == "accepted").astype(int),
            "counter_offers_refused": status.isin(["refused", "expired"]).astype(int),
        }
    if event == "paid_at":
        csat = rows["csat"]
        return {
            "paid": 1,
            "paid_amount": rows["paid_price"].fillna(0.0),
            "csat_sum": csat.fillna(0).astype(int),
            "csat_responses": csat.notna().astype(int),
        }
    return {event.removesuffix("_at"): 1}


def _period(stamps: pd.Series, grain: str) -> pd.Series:
    day = stamps.dt.normalize()
    if grain == "week":
        return day - pd.to_timedelta(day.dt.weekday, unit="D")
    if grain == "month":
        return day.dt.to_period("M").dt.start_time
    return day


def aggregate(
    orders: pd.DataFrame, start: dt.date, end: dt.date, grain: str, dims: list[str]
) -> pd.DataFrame:
    """Summed measures (and the ship-rate cohort) per period × dims, like the SQL does."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end + dt.timedelta(days=1))
    parts = []
    for event in EVENTS:
        rows = orders[(orders[event] >= lo) & (orders[event] < hi)]
        if event == "counter_answered_at":
            rows = rows[rows["counter_offer_status"].isin(["accepted", "refused", "expired"])]
        part = pd.DataFrame({"period": _period(rows[event], grain), **{d: rows[d] for d in dims}})
        for name, values in _event_measures(rows, event).items():
            part[name] = values
        if event == "created_at":
            part["created_shipped"] = (rows["shipped_at"] < hi).astype(int)
        parts.append(part.groupby(["period", *dims], sort=False).sum())
    return pd.concat(parts).fillna(0).groupby(level=list(range(len(dims) + 1))).sum()


def _cents(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator.astype(float) / denominator.astype(float).where(denominator != 0)


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    t = table
    answered = t["counter_offers_accepted"] + t["counter_offers_refused"]
    t["ship_rate"] = _ratio(t["created_shipped"], t["orders_created"])
    t["counter_offer_rate"] = _ratio(t["counter_offers"], t["inspected"])
    t["counter_acceptance"] = _ratio(t["counter_offers_accepted"], answered)
    t["sla_rate"] = _ratio(t["inspected_within_sla"], t["inspected"])
    t["average_paid_price"] = _ratio(t["paid_amount"].round(2), t["paid"])
    t["csat"] = _ratio(t["csat_sum"], t["csat_responses"])
    return t


def _typed(value: Any, column: str) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if column in MONEY or column == "csat":
        return _cents(value)
    if isinstance(value, float | np.floating):
        return round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


INTEGERS = {*MEASURES, "created_shipped", "orders_target"} - MONEY
RATES = (
    "ship_rate", "counter_offer_rate", "counter_acceptance", "sla_rate",
    "average_paid_price", "csat",
)  # fmt: skip
PERIOD_MEASURES = (*MEASURES, "created_shipped", *RATES)


def _rows(table: pd.DataFrame, columns: list[str], key: list[str]) -> list[tuple[Any, ...]]:
    table = table.sort_values(key, kind="stable")
    rows = []
    for record in table[columns].itertuples(index=False, name=None):
        rows.append(tuple(_value(v, c) for v, c in zip(record, columns, strict=True)))
    return rows


def _value(value: Any, column: str) -> Any:
    if column in INTEGERS and value is not None and not pd.isna(value):
        return int(value)
    return _typed(value, column)


def daily_rows(orders: pd.DataFrame, as_of: dt.date, window_days: int = 90) -> list[Any]:
    """`KPI Daily`: the last ``window_days`` days up to ``as_of``."""
    start = as_of - dt.timedelta(days=window_days - 1)
    dims = ["country", "seller_id", "category"]
    table = aggregate(orders, start, as_of, "day", dims).reset_index()
    names = orders.drop_duplicates("seller_id").set_index("seller_id")["seller"]
    table["seller"] = table["seller_id"].map(names)
    table["date"] = table["period"].dt.date
    table["week"] = table["period"].dt.strftime("%G-W%V")
    table["month"] = table["period"].dt.strftime("%Y-%m")
    columns = ["date", "week", "month", "country", "seller_id", "seller", "category", *MEASURES]
    return _rows(table, columns, ["date", "country", "seller_id", "category"])


def weekly_rows(orders: pd.DataFrame, as_of: dt.date, window_days: int = 91) -> list[Any]:
    """`KPI Weekly`: whole ISO weeks from the one holding ``as_of - window_days + 1``."""
    start = as_of - dt.timedelta(days=window_days - 1)
    start -= dt.timedelta(days=start.weekday())
    table = _with_rates(aggregate(orders, start, as_of, "week", ["country", "category"]))
    table = table.reset_index()
    table["week_start"] = table["period"].dt.date
    table["week"] = table["period"].dt.strftime("%G-W%V")
    columns = ["week", "week_start", "country", "category", *PERIOD_MEASURES]
    return _rows(table, columns, ["week", "country", "category"])


def monthly_rows(
    orders: pd.DataFrame, targets: pd.DataFrame, as_of: dt.date, window_days: int = 365
) -> list[Any]:
    """`KPI Monthly`: whole months, with targets (outer-joined) and attainment."""
    start = (as_of - dt.timedelta(days=window_days - 1)).replace(day=1)
    dims = ["period", "country", "category"]
    table = aggregate(orders, start, as_of, "month", ["country", "category"]).reset_index()
    month = pd.to_datetime(targets["month"])
    wanted = targets[(month >= pd.Timestamp(start)) & (month <= pd.Timestamp(as_of))]
    wanted = wanted.assign(period=month).drop(columns="month")
    table = table.merge(wanted, on=dims, how="outer")
    summed = [*MEASURES, "created_shipped"]
    table[summed] = table[summed].fillna(0)
    table = _with_rates(table)
    table["orders_attainment"] = _ratio(table["orders_created"], table["orders_target"])
    table["paid_amount_attainment"] = _ratio(
        table["paid_amount"].round(2), table["paid_amount_target"].astype(float)
    )
    table["month_start"] = table["period"].dt.date
    table["month"] = table["period"].dt.strftime("%Y-%m")
    extra = ["orders_target", "orders_attainment", "paid_amount_target", "paid_amount_attainment"]
    columns = ["month", "month_start", "country", "category", *PERIOD_MEASURES, *extra]
    return _rows(table, columns, ["month", "country", "category"])


def read_targets(conn: Connection) -> pd.DataFrame:
    return pd.read_sql_query(text("SELECT * FROM targets"), conn)


def all_tabs(conn: Connection, as_of: dt.date) -> dict[str, list[Any]]:
    """The three tabs computed the pandas way, keyed by sheet title."""
    orders = read_orders(conn)
    targets = read_targets(conn)
    return {
        "KPI Daily": daily_rows(orders, as_of),
        "KPI Weekly": weekly_rows(orders, as_of),
        "KPI Monthly": monthly_rows(orders, targets, as_of),
    }
