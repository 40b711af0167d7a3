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
from sheets_sync.kpis.common import (
    ORDER_EVENTS,
    REFUSED_STATUSES,
    count_if,
    filter_values,
    int_param,
    ratio,
    trailing_bounds,
    within_inspection_sla,
)
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.kpis.sqlfuncs import seconds_between
from sheets_sync.schema import products, sellers, tradein_orders

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


def _in(column: ColumnElement[Any], bounds: tuple[dt.datetime, dt.datetime]) -> ColumnElement[Any]:
    return and_(column >= bounds[0], column < bounds[1])


def _window_measures(w: int, as_of: dt.date) -> list[ColumnElement[Any]]:
    """Additive per-seller sums for one window; every one dated by its own event."""
    o, bounds = tradein_orders.c, trailing_bounds(as_of, w)
    inspected, answered, paid = (_in(o.inspected_at, bounds), _in(o.counter_answered_at, bounds),
                                 _in(o.paid_at, bounds))  # fmt: skip
    within_sla = within_inspection_sla(o.inspected_at, o.received_at)
    pay_start = func.coalesce(o.counter_answered_at, o.inspected_at)
    has_csat, has_start = and_(paid, o.csat.is_not(None)), and_(paid, pay_start.is_not(None))
    return [
        count_if(_in(o.created_at, bounds)).label(f"orders_{w}"),
        count_if(inspected).label(f"inspected_{w}"),
        count_if(and_(inspected, within_sla)).label(f"sla_{w}"),
        count_if(and_(inspected, o.counter_offer_price.is_not(None))).label(f"counter_{w}"),
        count_if(and_(answered, o.counter_offer_status == "accepted")).label(f"accepted_{w}"),
        count_if(and_(answered, o.counter_offer_status.in_(REFUSED_STATUSES))).label(
            f"refused_{w}"
        ),
        func.sum(case((has_csat, o.csat), else_=0)).label(f"csat_sum_{w}"),
        count_if(has_csat).label(f"csat_n_{w}"),
        func.sum(case((has_start, seconds_between(o.paid_at, pay_start)), else_=0)).label(
            f"pay_seconds_{w}"
        ),
        count_if(has_start).label(f"pay_n_{w}"),
    ]


def _order_filters(ctx: QueryContext) -> list[ColumnElement[Any]]:
    countries = filter_values(ctx, "country")
    return [tradein_orders.c.country.in_(countries)] if countries else []


def _events(ctx: QueryContext) -> Subquery:
    """Per-seller event sums over the orders touching the longest window."""
    o = tradein_orders.c
    start, end = trailing_bounds(ctx.as_of, max(WINDOWS))
    touched = or_(*(o[c] >= start for c in ORDER_EVENTS))
    measures = [m for w in WINDOWS for m in _window_measures(w, ctx.as_of)]
    activity = count_if(or_(*(_in(o[c], (start, end)) for c in ORDER_EVENTS)))
    measures.append(activity.label("activity"))
    return (
        select(o.seller_id, *measures)
        .where(touched, o.created_at < end, *_order_filters(ctx))
        .group_by(o.seller_id)
        .subquery("events")
    )


def _win_share_sums(ctx: QueryContext) -> Subquery:
    """Per seller: its orders created, and all sellers' orders in the cells it sold in.

    The cell totals are computed over every seller, so a spreadsheet filtered to
    one seller still shows that seller's share of the whole market.
    """
    o = tradein_orders.c
    windows = {w: trailing_bounds(ctx.as_of, w) for w in WINDOWS}
    cells = (
        select(o.seller_id, o.country, products.c.category,
               *(count_if(_in(o.created_at, b)).label(f"c{w}") for w, b in windows.items()))
        .join_from(tradein_orders, products, products.c.product_id == o.product_id)
        .where(_in(o.created_at, windows[max(WINDOWS)]), *_order_filters(ctx))
        .group_by(o.seller_id, o.country, products.c.category)
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


QUERY = BuiltinQuery(name="seller_scorecard", build=build, columns=COLUMNS, defaults=DEFAULTS)
