"""Seller Scorecard: per seller, trailing 7 and 28 days, with a RAG status (docs/design.md §4, §5).

Every measure is dated by its own event, as in KPI Daily: a trailing window of
``n`` days holds the events whose UTC day is in ``[as_of - (n - 1), as_of]``, so
on a 7-day window the 7th day back is in and the 8th is out. Rates are ratios
of sums computed by the database and are NULL when their denominator is zero:

- ``orders_Nd``: orders created in the window (the seller's volume);
- ``win_share_Nd``: over the (country, category) cells where the seller created
  at least one order in the window, the seller's orders created divided by all
  sellers' orders created in those same cells and window;
- ``counter_offer_rate_Nd``: orders inspected with a counter-offer / inspected;
- ``sla_rate_Nd``: inspected within 48 h of reception / inspected;
- ``counter_acceptance_Nd``: counter-offers accepted / (accepted + refused or
  expired), dated by the customer's answer;
- ``csat_Nd``: CSAT sum / CSAT responses of orders paid in the window;
- ``avg_days_to_pay_Nd``: mean of ``paid_at - start`` in days (fractional) over
  orders paid in the window, where ``start`` is the moment the price was agreed:
  ``counter_answered_at`` for an order with an answered counter-offer, otherwise
  ``inspected_at`` (validated at inspection).

All sums are roll-ups of the daily facts (``kpi_daily_facts``, sheets_sync/facts/)
over the window's days; ``avg_days_to_pay`` is their ``pay_seconds`` sum over
their ``pay_n`` count. No raw order is read at sync time.

The RAG ``status`` is a SQL ``CASE`` (no Python row hook): ``LOW VOLUME`` when
the seller created fewer than ``min_volume`` orders in the status window,
else ``RED`` if any thresholded rate is beyond its ``red`` limit, ``AMBER`` if
beyond its ``amber`` limit, else ``GREEN``. "Beyond" is strict: a rate exactly on
a limit keeps the better colour; a NULL rate never raises the status. Limits
and their direction (``above``: higher is worse; ``below``: lower is worse) come
from the template's ``params.thresholds``.

Rows: active sellers, plus any other seller with an order event (created,
shipped, received, inspected, answered, paid, cancelled or returned) in the
28-day window — a paused seller still shipping or returning devices shows up.
``filters``: ``seller_id`` restricts rows; ``country`` restricts the orders
counted to those markets (win share then covers those markets only) and the
rows to the sellers with an event there, plus the active sellers based in
them, so a market team's sheet lists no seller of another market.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.common import filter_values, int_param
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.kpis.rollup import ACTIVITY, day_window, facts, trailing_start
from sheets_sync.schema import sellers
from sheets_sync.vocabulary.arithmetic import ratio, trailing_bounds

WINDOWS = (7, 28)
SECONDS_PER_DAY = 86400.0
STATUSES = ("RED", "AMBER", "GREEN", "LOW VOLUME")
RATES = (
    "win_share",
    "counter_offer_rate",
    "sla_rate",
    "counter_acceptance",
    "csat",
    "avg_days_to_pay",
)
DIRECTIONS = ("above", "below")

DEFAULTS: dict[str, Any] = {
    "min_volume": 20,
    "status_window_days": 28,
    "thresholds": {
        "counter_offer_rate": {"direction": "above", "amber": 0.25, "red": 0.35},
        "sla_rate": {"direction": "below", "amber": 0.85, "red": 0.75},
        "counter_acceptance": {"direction": "below", "amber": 0.50, "red": 0.40},
        "csat": {"direction": "below", "amber": 4.0, "red": 3.5},
    },
}

COLUMNS = (
    "seller_id",
    "seller",
    "country",
    "seller_status",
    *(f"{measure}_{w}d" for measure in ("orders", "inspected", *RATES) for w in WINDOWS),
    "status",
)


# -- the query --


def _window_sum(column: str, as_of: dt.date, w: int) -> ColumnElement[Any]:
    """The sum of a facts column over the ``w`` days ending on ``as_of``."""
    f = facts.c
    if w == max(WINDOWS):  # the rows read are exactly the longest window
        return func.sum(f[column])
    return func.sum(case((f.day >= trailing_start(as_of, w), f[column]), else_=0))


WINDOW_SUMS = {
    "orders": "orders_created", "inspected": "inspected", "sla": "inspected_within_sla",
    "counter": "counter_offers", "accepted": "counter_offers_accepted",
    "refused": "counter_offers_refused", "csat_sum": "csat_sum", "csat_n": "csat_responses",
    "pay_seconds": "pay_seconds", "pay_n": "pay_n",
}  # fmt: skip
"""Scorecard sum → the facts measure it adds up (each dated by its own event)."""


def _longest(ctx: QueryContext) -> list[ColumnElement[Any]]:
    """The facts of the longest window, in the spreadsheet's markets."""
    countries = filter_values(ctx, "country")
    where = day_window(facts, trailing_start(ctx.as_of, max(WINDOWS)), ctx.as_of)
    return [*where, facts.c.country.in_(countries)] if countries else where


def _events(ctx: QueryContext) -> Subquery:
    """Per-seller sums of the facts of both windows, and its count of events (activity)."""
    f = facts.c
    sums = [_window_sum(column, ctx.as_of, w).label(f"{name}_{w}")
            for w in WINDOWS for name, column in WINDOW_SUMS.items()]  # fmt: skip
    activity = func.sum(sum((f[m] for m in ACTIVITY), literal(0))).label("activity")
    return (
        select(f.seller_id, *sums, activity)
        .where(*_longest(ctx))
        .group_by(f.seller_id)
        .subquery("events")
    )


def _win_share_sums(ctx: QueryContext) -> Subquery:
    """Per seller: its orders created, and all sellers' orders in the cells it sold in.

    The cell totals are computed over every seller, so a spreadsheet filtered to
    one seller still shows that seller's share of the whole market. A seller sold
    in a cell when its orders created there in the window are above zero: a
    presence read off the per-seller sums, so it stays exact (no distinct count).
    """
    f = facts.c
    cells = (
        select(f.seller_id, f.country, f.category,
               *(_window_sum("orders_created", ctx.as_of, w).label(f"c{w}") for w in WINDOWS))
        .where(*_longest(ctx))
        .group_by(f.seller_id, f.country, f.category)
        .subquery("cells")
    )  # fmt: skip
    totals = (
        select(cells.c.country, cells.c.category,
               *(func.sum(cells.c[f"c{w}"]).label(f"t{w}") for w in WINDOWS))
        .group_by(cells.c.country, cells.c.category)
        .subquery("cell_totals")
    )  # fmt: skip
    sums: list[ColumnElement[Any]] = []
    for w in WINDOWS:
        own = cells.c[f"c{w}"]
        sums.append(func.sum(own).label(f"own_{w}"))
        sums.append(func.sum(case((own > 0, totals.c[f"t{w}"]), else_=0)).label(f"all_{w}"))
    return (
        select(cells.c.seller_id, *sums)
        .join_from(cells, totals, and_(cells.c.country == totals.c.country,
                                       cells.c.category == totals.c.category))
        .group_by(cells.c.seller_id)
        .subquery("win")
    )  # fmt: skip


def _zero(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A seller without events in the window has an outer-join NULL: count it as 0."""
    return func.coalesce(column, 0)


def _figures(ev: Subquery, win: Subquery, w: int) -> list[ColumnElement[Any]]:
    """One window's volumes and rates, named as the tab's columns."""
    e = {name: _zero(ev.c[f"{name}_{w}"]) for name in (
        "orders", "inspected", "sla", "counter", "accepted", "refused",
        "csat_sum", "csat_n", "pay_seconds", "pay_n")}  # fmt: skip
    return [
        cast(e["orders"], Integer).label(f"orders_{w}d"),
        cast(e["inspected"], Integer).label(f"inspected_{w}d"),
        ratio(_zero(win.c[f"own_{w}"]), _zero(win.c[f"all_{w}"])).label(f"win_share_{w}d"),
        ratio(e["counter"], e["inspected"]).label(f"counter_offer_rate_{w}d"),
        ratio(e["sla"], e["inspected"]).label(f"sla_rate_{w}d"),
        ratio(e["accepted"], e["accepted"] + e["refused"]).label(f"counter_acceptance_{w}d"),
        ratio(e["csat_sum"], e["csat_n"]).label(f"csat_{w}d"),
        ratio(e["pay_seconds"], e["pay_n"] * SECONDS_PER_DAY).label(f"avg_days_to_pay_{w}d"),
    ]


def _listed(ev: Subquery, ctx: QueryContext) -> list[ColumnElement[Any]]:
    """Active sellers, and any other seller with an order event in the longest window.

    Under a ``country`` filter the events are those markets' only (see
    :func:`_events`) and an active seller is listed when based in one of them.
    """
    s = sellers.c
    listed_active = s.status == "active"
    if countries := filter_values(ctx, "country"):  # a market sheet: its own markets' sellers
        listed_active = and_(listed_active, s.country.in_(countries))
    wheres = [
        or_(listed_active, _zero(ev.c.activity) > 0),
        s.created_at < trailing_bounds(ctx.as_of, 1)[1],
    ]
    if seller_ids := filter_values(ctx, "seller_id"):
        wheres.append(s.seller_id.in_(seller_ids))
    return wheres


def _rates(ctx: QueryContext) -> Subquery:
    """One row per listed seller with its volumes and rates (the figures of the tab)."""
    ev, win, s = _events(ctx), _win_share_sums(ctx), sellers.c
    figures = [f for w in WINDOWS for f in _figures(ev, win, w)]
    return (
        select(s.seller_id, s.name.label("seller"), s.country,
               s.status.label("seller_status"), *figures)
        .select_from(sellers.outerjoin(ev, ev.c.seller_id == s.seller_id)
                     .outerjoin(win, win.c.seller_id == s.seller_id))
        .where(*_listed(ev, ctx))
        .subquery("rates")
    )  # fmt: skip


def thresholds(
    params: Mapping[str, Any], metrics: tuple[str, ...] = RATES
) -> dict[str, tuple[str, float, float]]:
    """Validated ``metric → (direction, amber, red)`` from the template's params.

    ``metrics`` are the rates the tab may threshold (the Quality tab passes its own).
    """
    raw = params.get("thresholds")
    if not isinstance(raw, Mapping):
        raise TemplateError(
            "params.thresholds: must be a mapping of metric → {direction, amber, red}. "
            "Fix: e.g. `sla_rate: {direction: below, amber: 0.85, red: 0.75}`"
        )
    return {str(metric): _threshold(str(metric), spec, metrics) for metric, spec in raw.items()}


def _threshold(metric: str, spec: Any, metrics: tuple[str, ...]) -> tuple[str, float, float]:
    key = f"params.thresholds.{metric}"
    if metric not in metrics:
        raise TemplateError(f"{key}: unknown metric. Fix: use one of {list(metrics)}")
    if not isinstance(spec, Mapping) or set(spec) != {"direction", "amber", "red"}:
        raise TemplateError(
            f"{key}: needs exactly `direction`, `amber` and `red`. "
            "Fix: e.g. `{direction: above, amber: 0.25, red: 0.35}`"
        )
    direction = spec["direction"]
    if direction not in DIRECTIONS:
        raise TemplateError(
            f"{key}.direction: {direction!r} is not allowed. Fix: use `above` "
            "(higher is worse) or `below` (lower is worse)"
        )
    amber, red = (_limit(spec[name], f"{key}.{name}") for name in ("amber", "red"))
    if (red < amber) if direction == "above" else (red > amber):
        worse = "higher" if direction == "above" else "lower"
        raise TemplateError(
            f"{key}: red {red:g} is not beyond amber {amber:g} for direction {direction}. "
            f"Fix: make red {worse} than (or equal to) amber"
        )
    return direction, amber, red


def _limit(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TemplateError(f"{key}: {value!r} is not a number. Fix: write e.g. `0.25`")
    return float(value)


def status_case(
    rates: Subquery,
    params: Mapping[str, Any],
    *,
    metrics: tuple[str, ...] = RATES,
    volume: str = "orders",
) -> ColumnElement[Any]:
    """The RAG status as a SQL CASE over the status window's figures.

    ``rates`` has ``{metric}_{w}d`` for every metric of ``metrics`` and ``{volume}_{w}d``
    (the count ``min_volume`` applies to) for both windows: the Quality tab reuses this
    rule with its own rates and its inspected orders as the volume.
    """
    window = int_param(params, "status_window_days", 1)
    if window not in WINDOWS:
        raise TemplateError(
            f"params.status_window_days: {window} is not a window of this tab. "
            f"Fix: use one of {list(WINDOWS)}"
        )
    min_volume = int_param(params, "min_volume", 0)
    red, amber = [], []
    for metric, (direction, amber_at, red_at) in thresholds(params, metrics).items():
        rate = rates.c[f"{metric}_{window}d"]
        beyond = rate.__gt__ if direction == "above" else rate.__lt__
        red.append(beyond(literal(red_at, Float)))
        amber.append(beyond(literal(amber_at, Float)))
    whens: list[tuple[ColumnElement[Any], str]] = [
        (rates.c[f"{volume}_{window}d"] < min_volume, "LOW VOLUME")
    ]
    if red:
        whens += [(or_(*red), "RED"), (or_(*amber), "AMBER")]
    return case(*whens, else_="GREEN")


def build(ctx: QueryContext) -> Select[Any]:
    """The scorecard rows, worst status first, then by 28-day volume."""
    rates = _rates(ctx)
    status = status_case(rates, ctx.params)
    severity = case(*((status == s, i) for i, s in enumerate(STATUSES)), else_=len(STATUSES))
    return select(*(rates.c[c] for c in COLUMNS[:-1]), status.label("status")).order_by(
        severity, rates.c[f"orders_{max(WINDOWS)}d"].desc(), rates.c.seller_id
    )


QUERY = BuiltinQuery(
    name="seller_scorecard", build=build, columns=COLUMNS, defaults=DEFAULTS, reads_facts=True
)
