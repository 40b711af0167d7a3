"""The baseline the KPI pushdown is measured against: raw tables into pandas, then groupby.

This is the obvious way to build the same tabs: ``SELECT *`` each raw table a
tab needs into pandas (orders joined to their product's category and seller
name), parse the timestamps, then one small function per KPI with
groupby / merge / rank following its module's docstring in
``sheets_sync/kpis/``. The result is typed by the tab's column types the way
the runner types the database's rows (money and decimals as Decimal cents,
percents as floats rounded to 6 places, integers as int) and sorted by the
tab's key, so both variants can be compared with ``==``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sheets_sync.kpis.registry import builtin_query
from sheets_sync.kpis.runner import _ordered as ordered_like_runner
from sheets_sync.schema import GRADE_RANK, ONBOARDING_STEPS
from sheets_sync.tab_templates.model import ColumnType, TabTemplate

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
SLA = pd.Timedelta(hours=48)
ORDERS_SQL = """
SELECT o.*, p.category, s.name AS seller
FROM tradein_orders o
JOIN products p ON p.product_id = o.product_id
LEFT JOIN sellers s ON s.seller_id = o.seller_id
"""
TIMESTAMPS = {
    "orders": EVENTS,
    "sellers": ("created_at", "onboarded_at"),
    "seller_onboarding": ("completed_at",),
    "targets": ("month",),
}


class Tables:
    """The raw tables, each read with ``SELECT *`` the first time a KPI asks for it.

    A run computing one tab reads only what that tab needs; a run computing
    every tab reads each table once and shares it, as a pandas report would.
    """

    def __init__(self, conn: Connection, streamed: bool = False) -> None:
        self.conn = conn
        self.streamed = streamed
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            sql = ORDERS_SQL if name == "orders" else f"SELECT * FROM {name}"
            frame = self._read(sql)
            for column in TIMESTAMPS.get(name, ()):
                frame[column] = pd.to_datetime(frame[column], format="ISO8601")
            self._frames[name] = frame
        return self._frames[name]

    def _read(self, sql: str) -> pd.DataFrame:
        """``streamed``: a server-side cursor read in chunks, for 10,000,000 orders (read at
        once, the driver's rows and their Python tuples held 22 GB and the check was killed).
        Off by default: bench/kpis.py's baseline is the plain read a pandas report makes."""
        if not self.streamed:
            return pd.read_sql_query(text(sql), self.conn)
        conn = self.conn.execution_options(stream_results=True, max_row_buffer=STREAM_ROWS)
        chunks = pd.read_sql_query(text(sql), conn, chunksize=STREAM_ROWS)
        return pd.concat(list(chunks), ignore_index=True)


STREAM_ROWS = 200_000


def day_bounds(first: dt.date, last: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Half-open timestamp bounds of the UTC days ``first`` … ``last`` inclusive."""
    return pd.Timestamp(first), pd.Timestamp(last + dt.timedelta(days=1))


def trailing(as_of: dt.date, days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return day_bounds(as_of - dt.timedelta(days=days - 1), as_of)


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as floats, NaN (an empty cell) where the denominator is 0."""
    return numerator.astype(float) / denominator.astype(float).where(denominator != 0)


# -- KPI Daily / Weekly / Monthly (docs/design.md §4) --


def _event_measures(rows: pd.DataFrame, event: str) -> dict[str, Any]:
    """The §4 measures dated by ``event``, as per-row contributions."""
    if event == "created_at":
        return {"orders_created": 1, "offered_amount": rows["offered_price"]}
    if event == "inspected_at":
        delay = rows["inspected_at"] - rows["received_at"]
        return {
            "inspected": 1,
            "inspected_within_sla": (delay <= SLA).astype(int),
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
    lo, hi = day_bounds(start, end)
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


def _with_rates(t: pd.DataFrame) -> pd.DataFrame:
    answered = t["counter_offers_accepted"] + t["counter_offers_refused"]
    t["ship_rate"] = ratio(t["created_shipped"], t["orders_created"])
    t["counter_offer_rate"] = ratio(t["counter_offers"], t["inspected"])
    t["counter_acceptance"] = ratio(t["counter_offers_accepted"], answered)
    t["sla_rate"] = ratio(t["inspected_within_sla"], t["inspected"])
    t["average_paid_price"] = ratio(t["paid_amount"].round(2), t["paid"])
    t["csat"] = ratio(t["csat_sum"], t["csat_responses"])
    return t


def kpi_daily(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """`KPI Daily`: the last 90 days up to ``as_of``, per day × country × seller × category."""
    orders = tables["orders"]
    start = as_of - dt.timedelta(days=params["window_days"] - 1)
    dims = ["country", "seller_id", "category"]
    table = aggregate(orders, start, as_of, "day", dims).reset_index()
    names = orders.drop_duplicates("seller_id").set_index("seller_id")["seller"]
    table["seller"] = table["seller_id"].map(names)
    table["date"] = table["period"].dt.date
    table["week"] = table["period"].dt.strftime("%G-W%V")
    table["month"] = table["period"].dt.strftime("%Y-%m")
    return table


def kpi_weekly(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """`KPI Weekly`: whole ISO weeks from the one holding ``as_of - window + 1``."""
    start = as_of - dt.timedelta(days=params["window_days"] - 1)
    start -= dt.timedelta(days=start.weekday())
    table = aggregate(tables["orders"], start, as_of, "week", ["country", "category"])
    table = _with_rates(table).reset_index()
    table["week_start"] = table["period"].dt.date
    table["week"] = table["period"].dt.strftime("%G-W%V")
    return table


def kpi_monthly(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """`KPI Monthly`: whole months, with targets (outer-joined) and attainment."""
    start = (as_of - dt.timedelta(days=params["window_days"] - 1)).replace(day=1)
    table = aggregate(tables["orders"], start, as_of, "month", ["country", "category"])
    targets = tables["targets"]
    wanted = targets[targets["month"].between(pd.Timestamp(start), pd.Timestamp(as_of))]
    wanted = wanted.rename(columns={"month": "period"})
    table = table.reset_index().merge(wanted, on=["period", "country", "category"], how="outer")
    summed = [*MEASURES, "created_shipped"]
    table[summed] = table[summed].fillna(0)
    table = _with_rates(table)
    table["orders_attainment"] = ratio(table["orders_created"], table["orders_target"])
    table["paid_amount_attainment"] = ratio(
        table["paid_amount"].round(2), table["paid_amount_target"].astype(float)
    )
    table["month_start"] = table["period"].dt.date
    table["month"] = table["period"].dt.strftime("%Y-%m")
    return table


# -- Seller Scorecard (sheets_sync/kpis/scorecard.py) --


def _seller_window(orders: pd.DataFrame, as_of: dt.date, w: int) -> pd.DataFrame:
    """Per seller, one trailing window's sums; every measure dated by its own event."""
    lo, hi = trailing(as_of, w)
    o = orders
    within = {event: o[event].ge(lo) & o[event].lt(hi) for event in EVENTS}
    created, inspected, answered, paid = (
        within[e] for e in ("created_at", "inspected_at", "counter_answered_at", "paid_at")
    )
    start = o["counter_answered_at"].fillna(o["inspected_at"])
    started, rated = paid & start.notna(), paid & o["csat"].notna()
    flags = pd.DataFrame({
        "seller_id": o["seller_id"],
        "orders": created, "inspected": inspected,
        "sla": inspected & (o["inspected_at"] - o["received_at"]).le(SLA),
        "counter": inspected & o["counter_offer_price"].notna(),
        "accepted": answered & o["counter_offer_status"].eq("accepted"),
        "refused": answered & o["counter_offer_status"].isin(["refused", "expired"]),
        "events": pd.concat(within.values(), axis=1).any(axis=1),
        "csat_sum": o["csat"].where(rated, 0), "csat_n": rated,
        "pay_seconds": (o["paid_at"] - start).dt.total_seconds().round().where(started, 0),
        "pay_n": started,
    })  # fmt: skip
    return flags.groupby("seller_id").sum()


def _win_share(orders: pd.DataFrame, as_of: dt.date, w: int) -> pd.Series:
    """A seller's orders / all orders created in the country × category cells it sold in."""
    lo, hi = trailing(as_of, w)
    created = orders[orders["created_at"].ge(lo) & orders["created_at"].lt(hi)]
    cell = ["country", "category"]
    own = created.groupby(["seller_id", *cell]).size().rename("own").reset_index()
    market = created.groupby(cell).size().rename("market").reset_index()
    sums = own.merge(market, on=cell).groupby("seller_id")[["own", "market"]].sum()
    return ratio(sums["own"], sums["market"])


def _window_figures(orders: pd.DataFrame, as_of: dt.date, w: int) -> pd.DataFrame:
    s = _seller_window(orders, as_of, w)
    return pd.DataFrame({
        f"orders_{w}d": s["orders"], f"inspected_{w}d": s["inspected"],
        f"win_share_{w}d": _win_share(orders, as_of, w),
        f"counter_offer_rate_{w}d": ratio(s["counter"], s["inspected"]),
        f"sla_rate_{w}d": ratio(s["sla"], s["inspected"]),
        f"counter_acceptance_{w}d": ratio(s["accepted"], s["accepted"] + s["refused"]),
        f"csat_{w}d": ratio(s["csat_sum"], s["csat_n"]),
        f"avg_days_to_pay_{w}d": ratio(s["pay_seconds"], s["pay_n"] * 86400.0),
        f"events_{w}d": s["events"],
    })  # fmt: skip


def _rag(table: pd.DataFrame, params: Mapping[str, Any], volume: str = "orders") -> pd.Series:
    """LOW VOLUME under min_volume, else RED / AMBER strictly beyond a limit, else GREEN."""
    w = params["status_window_days"]
    red = amber = pd.Series(False, index=table.index)
    for metric, limits in params["thresholds"].items():
        rate = table[f"{metric}_{w}d"]
        beyond = rate.gt if limits["direction"] == "above" else rate.lt
        red, amber = red | beyond(limits["red"]), amber | beyond(limits["amber"])
    status = pd.Series("GREEN", index=table.index).mask(amber, "AMBER").mask(red, "RED")
    return status.mask(table[f"{volume}_{w}d"] < params["min_volume"], "LOW VOLUME")


def seller_scorecard(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """Active sellers and any seller with an order event in 28 days (any of the order's
    eight timestamps), with volumes, rates and RAG."""
    orders = tables["orders"]
    figures = pd.concat([_window_figures(orders, as_of, w) for w in (7, 28)], axis=1)
    sellers = tables["sellers"].rename(columns={"name": "seller", "status": "seller_status"})
    table = sellers.merge(figures, left_on="seller_id", right_index=True, how="left")
    volumes = [f"{m}_{w}d" for m in ("orders", "inspected", "events") for w in (7, 28)]
    table[volumes] = table[volumes].fillna(0)
    listed = table["seller_status"].eq("active") | table["events_28d"].gt(0)
    table = table[listed & table["created_at"].lt(trailing(as_of, 1)[1])].copy()
    table["status"] = _rag(table, params)
    return table


# -- Quality (sheets_sync/kpis/quality.py) --

QUALITY_COUNTS = ("inspected", "graded", "down_one", "down_two_plus", "counter_offers",
                  "suspended", "returned")  # fmt: skip


def _quality_flags(o: pd.DataFrame) -> pd.DataFrame:
    """Per order: its grade drop and whether it was suspended."""
    drop = o["inspected_grade"].map(GRADE_RANK) - o["declared_grade"].map(GRADE_RANK)
    suspended = o["suspended_reason"].notna() | o["status"].eq("suspended")
    reason = o["suspended_reason"].replace("", None).fillna("unspecified")
    return pd.DataFrame({"drop": drop, "suspended": suspended, "reason": reason})


def _quality_window(o: pd.DataFrame, flags: pd.DataFrame, as_of: dt.date, w: int) -> pd.DataFrame:
    lo, hi = trailing(as_of, w)
    inspected = o["inspected_at"].ge(lo) & o["inspected_at"].lt(hi)
    counts = pd.DataFrame({
        "seller_id": o["seller_id"], "category": o["category"], "inspected": inspected,
        "graded": inspected & flags["drop"].notna(), "down_one": inspected & flags["drop"].eq(1),
        "down_two_plus": inspected & flags["drop"].ge(2),
        "counter_offers": inspected & o["counter_offer_price"].notna(),
        "suspended": inspected & flags["suspended"],
        "returned": o["returned_at"].ge(lo) & o["returned_at"].lt(hi),
    }).groupby(["seller_id", "category"]).sum()  # fmt: skip
    table = counts.rename(columns={c: f"{c}_{w}d" for c in QUALITY_COUNTS})
    table[f"down_one_share_{w}d"] = ratio(counts["down_one"], counts["graded"])
    table[f"down_two_plus_share_{w}d"] = ratio(counts["down_two_plus"], counts["graded"])
    table[f"counter_offer_rate_{w}d"] = ratio(counts["counter_offers"], counts["inspected"])
    reasons = pd.DataFrame({"seller_id": o["seller_id"], "category": o["category"],
                            "reason": flags["reason"]})[inspected & flags["suspended"]]  # fmt: skip
    table[f"suspension_reasons_{w}d"] = reasons.groupby(["seller_id", "category"])["reason"].agg(
        _reason_list
    )
    return table


def _reason_list(reasons: pd.Series) -> str:
    """``reason: n`` most frequent first (ties by code point), five at most, then ``+N``."""
    counted = sorted(reasons.value_counts().items(), key=lambda item: (-item[1], item[0]))
    text = "; ".join(f"{reason}: {n}" for reason, n in counted[:5])
    return text + (f"; +{len(counted) - 5} other reasons" if len(counted) > 5 else "")


def quality(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """Seller × category cells with an inspection or a return in 28 days, with RAG."""
    orders = tables["orders"]
    flags = _quality_flags(orders)
    table = pd.concat([_quality_window(orders, flags, as_of, w) for w in (7, 28)], axis=1)
    table = table[table["inspected_28d"].gt(0) | table["returned_28d"].gt(0)].reset_index()
    names = tables["sellers"][["seller_id", "name"]].rename(columns={"name": "seller"})
    table = table.merge(names, on="seller_id", how="left")
    table["status"] = _rag(table, params, volume="inspected")
    return table


# -- Pricing (sheets_sync/kpis/pricing.py), money in integer cents --


def _cents(values: pd.Series) -> pd.Series:
    return (values.astype(float) * 100).round().astype("int64")


def _competition(grid: pd.DataFrame) -> pd.DataFrame:
    """Best active price, dense rank and the best price of the other sellers, per cell."""
    cell = ["product_id", "grade", "country"]
    active = grid["cents"].where(grid["cents"] > 0)
    grid["best"] = active.groupby([grid[c] for c in cell]).transform("max")
    grid["rank"] = active.groupby([grid[c] for c in cell]).rank(method="dense", ascending=False)
    at_best = grid["cents"].eq(grid["best"])
    alone = at_best & at_best.groupby([grid[c] for c in cell]).transform("sum").eq(1)
    below = active.where(~at_best)
    grid["second"] = below.groupby([grid[c] for c in cell]).transform("max")
    grid["competing"] = grid["second"].where(alone, grid["best"])
    return grid


def _suggestion(grid: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    """Price to win held within ±max_change_pct (truncated) and under the ceiling."""
    step, ceiling = round(params["step"] * 100), round(params["ceiling"] * 100)
    allowance = grid["cents"] * round(params["max_change_pct"] * 100) // 10_000
    grid["floor"] = grid["cents"] - allowance
    grid["to_win"] = grid["competing"] + step
    capped = grid["to_win"].clip(grid["floor"], grid["cents"] + allowance).clip(upper=ceiling)
    grid["suggested"] = capped.where(grid["cents"] > 0)
    grid["proposed"] = grid["suggested"].fillna(grid["cents"]).where(grid["cents"] > 0)
    return grid


def _monotonic(grid: pd.DataFrame) -> pd.Series:
    """The suggestion lowered to the lowest proposal of the same or better grades (seller ×
    product × market), though never under its own floor."""
    grid = grid.assign(grade_rank=grid["grade"].map(GRADE_RANK))
    grid = grid.sort_values(["seller_id", "product_id", "country", "grade_rank"])
    lowest = grid.groupby(["seller_id", "product_id", "country"])["proposed"].cummin()
    return grid["suggested"].clip(upper=lowest.clip(lower=grid["floor"]))


def pricing(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """One row per price_grid row: where it stands in its cell, orders 28d, suggestion."""
    grid = tables["price_grid"].rename(columns={"price": "current_price"})
    grid["cents"] = _cents(grid["current_price"])
    grid = _suggestion(_competition(grid), params)
    grid["suggested_price"] = _monotonic(grid) / 100
    grid["best_price"], grid["price_to_win"] = grid["best"] / 100, grid["to_win"] / 100
    orders = tables["orders"]
    lo, hi = trailing(as_of, 28)
    recent = orders[orders["created_at"].ge(lo) & orders["created_at"].lt(hi)]
    listing = ["seller_id", "product_id", "declared_grade", "country"]
    counts = recent.groupby(listing).size().rename("orders_28d").reset_index()
    counts = counts.rename(columns={"declared_grade": "grade"})
    grid = grid.merge(counts, on=["seller_id", "product_id", "grade", "country"], how="left")
    grid["orders_28d"] = grid["orders_28d"].fillna(0)
    sellers = tables["sellers"][["seller_id", "name"]].rename(columns={"name": "seller"})
    grid = grid.merge(sellers, on="seller_id").merge(tables["products"], on="product_id")
    return grid.assign(new_price=None, reason=None, status=None)


# -- Onboarding (sheets_sync/kpis/onboarding.py) --


def onboarding(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """Sellers (not offboarded, created by as_of) with steps left, and how long they wait."""
    end = trailing(as_of, 1)[1]
    sellers = tables["sellers"]
    sellers = sellers[sellers["created_at"].lt(end) & sellers["status"].ne("offboarded")]
    steps = tables["seller_onboarding"]
    done = steps[steps["completed_at"].lt(end)]
    flags = pd.crosstab(done["seller_id"], done["step"]).reindex(columns=ONBOARDING_STEPS)
    table = sellers.rename(columns={"name": "seller", "created_at": "created"}).set_index(
        "seller_id"
    )
    flags = flags.reindex(table.index).fillna(0).gt(0)
    table["steps_done"] = flags.sum(axis=1)
    table["current_step"] = flags.idxmin(axis=1).where(~flags.all(axis=1))
    latest = done.groupby("seller_id")["completed_at"].max().reindex(table.index)
    table["last_progress"] = latest.where(latest > table["created"], table["created"])
    days = table["last_progress"].dt.normalize()
    table["days_stalled"] = (pd.Timestamp(as_of) - days).dt.days
    table["stalled"] = (
        table["days_stalled"].gt(params["stall_days"]).map({True: "yes", False: "no"})
    )
    return table[table["steps_done"] < len(ONBOARDING_STEPS)].reset_index()


# -- Dashboard headline (sheets_sync/kpis/headline.py) --

HEADLINE_PERIODS = ("Day", "Week to date", "Month to date")
HEADLINE_METRICS = ("Orders created", "Paid amount", "Ship rate (%)", "Counter-offer rate (%)",
                    "Inspection SLA rate (%)", "CSAT (1–5)")  # fmt: skip
HEADLINE_RATES = dict(zip(HEADLINE_METRICS[2:], (("ship_rate", 100.0), ("counter_offer_rate",
                      100.0), ("sla_rate", 100.0), ("csat", 1.0)), strict=True))  # fmt: skip


def _headline_values(
    orders: pd.DataFrame, first: dt.date, as_of: dt.date, maturity: int
) -> tuple[list[Any], list[int]]:
    """One period's six figures (None where a rate has nothing to divide) and the orders
    each rate rests on, per headline.py: the ship rate over the cohort ``maturity`` days
    earlier."""
    lo, hi = day_bounds(first, as_of)
    shift = dt.timedelta(days=maturity)
    born_lo, born_hi = day_bounds(first - shift, as_of - shift)
    created = orders["created_at"].ge(lo) & orders["created_at"].lt(hi)
    matured = orders["created_at"].ge(born_lo) & orders["created_at"].lt(born_hi)
    inspected = orders["inspected_at"].ge(lo) & orders["inspected_at"].lt(hi)
    paid = orders["paid_at"].ge(lo) & orders["paid_at"].lt(hi)
    rated = paid & orders["csat"].notna()
    n_created, n_inspected = int(created.sum()), int(inspected.sum())
    n_matured = int(matured.sum())
    shipped = int((matured & orders["shipped_at"].lt(hi)).sum())
    in_sla = int((inspected & (orders["inspected_at"] - orders["received_at"]).le(SLA)).sum())
    countered = int((inspected & orders["counter_offer_price"].notna()).sum())

    def share(num: float, den: float) -> float | None:
        return float(num) / float(den) if den else None

    return [
        float(n_created), round(float(orders["paid_price"][paid].astype(float).sum()), 2),
        share(shipped * 100.0, n_matured), share(countered * 100.0, n_inspected),
        share(in_sla * 100.0, n_inspected),
        share(float(orders["csat"][rated].sum()), int(rated.sum())),
    ], [n_matured, n_inspected, n_inspected, int(rated.sum())]  # fmt: skip


def _volume_targets(targets: pd.DataFrame, first: dt.date, as_of: dt.date) -> list[Any]:
    """Orders and paid-amount targets pro-rated by day (None when no target row applies)."""
    days = pd.date_range(pd.Timestamp(first), pd.Timestamp(as_of), freq="D")
    weights = (1 / days.days_in_month).to_series(index=days.to_period("M").start_time)
    weights = weights.groupby(level=0).sum()
    rows = targets[targets["month"].isin(weights.index)]
    if rows.empty:
        return [None, None]
    share = rows["month"].map(weights)
    return [float((rows[m].astype(float) * share).sum())
            for m in ("orders_target", "paid_amount_target")]  # fmt: skip


def _headline_status(
    value: Any, target: Any, lower: bool, limits: Mapping[str, Any], low_volume: bool
) -> Any:
    """(attainment, status) as the SQL's CASE decides it."""
    attainment = (
        (target / value if value else None) if lower else (value / target if target else None)
    )
    if value is None:
        return attainment, "NO DATA"
    if low_volume:
        return attainment, "LOW VOLUME"
    if not target:
        return attainment, "NO TARGET"
    if lower and value == 0:
        return attainment, "GREEN"
    shown = round(attainment, 6)
    if shown >= limits["green"]:
        return attainment, "GREEN"
    return attainment, "AMBER" if shown >= limits["amber"] else "RED"


def dashboard_headline(tables: Tables, as_of: dt.date, params: Mapping[str, Any]) -> pd.DataFrame:
    """The 18 headline rows: metric × (as-of day, week to date, month to date) vs target."""
    orders, targets = tables["orders"], tables["targets"]
    firsts = (as_of, as_of - dt.timedelta(days=as_of.weekday()), as_of.replace(day=1))
    rows = []
    maturity, shift = params["ship_maturity_days"], dt.timedelta(days=params["ship_maturity_days"])
    for period, first in zip(HEADLINE_PERIODS, firsts, strict=True):
        values, volumes = _headline_values(orders, first, as_of, maturity)
        goals = _volume_targets(targets, first, as_of)
        volumes = [None, None, *volumes]
        for metric, value, volume in zip(HEADLINE_METRICS, values, volumes, strict=True):
            key, points = HEADLINE_RATES.get(metric, ("", 0.0))
            target = params["rate_targets"][key] * points if key else goals.pop(0)
            lower = metric == "Counter-offer rate (%)"
            low = volume is not None and volume < params["min_volume"]
            attainment, status = _headline_status(value, target, lower, params["status"], low)
            ship = key == "ship_rate"
            rows.append({"metric": f"{metric}, orders {maturity}+ days old" if ship else metric,
                         "period": period, "period_start": first - shift if ship else first,
                         "period_end": as_of - shift if ship else as_of, "value": value,
                         "target": target, "attainment": attainment,
                         "status": status})  # fmt: skip
    return pd.DataFrame(rows, dtype=object)


# -- typing the rows like the runner does, and the registry of KPIs --


def _money(value: Any) -> Decimal:
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _integer(value: Any) -> int:
    return int(Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _datetime(value: Any) -> dt.datetime:
    return pd.Timestamp(value).to_pydatetime()


TYPERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.TEXT: str,
    ColumnType.INTEGER: _integer,
    ColumnType.DECIMAL: _money,
    ColumnType.MONEY: _money,
    ColumnType.PERCENT: lambda value: round(float(value), 6),
    ColumnType.DATE: _date,
    ColumnType.DATETIME: _datetime,
}


MODEL_COLUMNS = frozenset({
    "cell_demand_28d", "expected_orders_28d", "expected_at_suggested_28d",
    "cost_change_at_suggested_28d", "expected_at_new_price_28d", "cost_change_at_new_price_28d",
})  # fmt: skip
"""Pricing's win-model figures: a fitted model's output, not an aggregate of rows, so the
baseline has no twin of them. The pushdown still computes them (its time includes the
fit), and both sides show them blank where they are compared (:func:`blank_model_columns`)."""


def blank_model_columns(rows: list[Any], template: TabTemplate) -> list[tuple[Any, ...]]:
    """The pushdown's rows with the win model's figures blanked, as the baseline leaves them."""
    model = [i for i, c in enumerate(template.columns) if c.source in MODEL_COLUMNS]
    if not model:
        return [tuple(row) for row in rows]
    return [tuple(None if i in model else v for i, v in enumerate(row)) for row in rows]


def typed_rows(table: pd.DataFrame, template: TabTemplate) -> list[tuple[Any, ...]]:
    """The tab's columns typed like the runner's frame, in the runner's order."""
    typers = [TYPERS[column.type] for column in template.columns]
    table = table.assign(**{c.source: None for c in template.columns
                            if c.source in MODEL_COLUMNS})  # fmt: skip
    sources = table[[column.source for column in template.columns]]
    rows = [
        tuple(None if pd.isna(v) else typer(v) for v, typer in zip(record, typers, strict=True))
        for record in sources.itertuples(index=False, name=None)
    ]
    # The runner's own order (its key, or the query's order_by with grades by rank): the
    # order is not what is measured, the numbers are.
    return ordered_like_runner(rows, template, builtin_query(str(template.query)))


KPI = Callable[[Tables, dt.date, Mapping[str, Any]], pd.DataFrame]
KPIS: dict[str, KPI] = {
    "kpi_daily": kpi_daily,
    "kpi_weekly": kpi_weekly,
    "kpi_monthly": kpi_monthly,
    "seller_scorecard": seller_scorecard,
    "quality": quality,
    "pricing": pricing,
    "onboarding": onboarding,
    "dashboard_headline": dashboard_headline,
}
"""Built-in query name → its pandas computation (the template's params and window in ``params``)."""


def compute(
    tables: Tables, template: TabTemplate, as_of: dt.date, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """One tab's rows the pandas way, typed and ordered like ``compute_frame``'s."""
    return typed_rows(KPIS[str(template.query)](tables, as_of, params), template)
