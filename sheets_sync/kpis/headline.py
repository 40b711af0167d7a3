"""The `Dashboard` headline figures (docs/design.md §4, §5): the as-of day, week and month to date.

One row per metric × period, so a status column can colour each figure:

- periods: ``Day`` (the as-of day: yesterday by default), ``Week to date``
  (the ISO week's Monday to the as-of day) and ``Month to date`` (the 1st to
  the as-of day);
- metrics, each dated by its own event as in KPI Daily: ``Orders created``,
  ``Paid amount`` (sum of ``paid_price`` paid in the period), the ship rate,
  ``Counter-offer rate (%)`` and ``Inspection SLA rate (%)`` (over orders
  inspected in the period; SLA 48 h), ``CSAT (1–5)`` (CSAT sum / responses of
  orders paid in the period). Rates are in percent points, so one number format
  fits the whole ``Value`` column.

The ship rate needs time: an order created yesterday has not had the days it
takes to ship, so the rate of the period's own orders is low by construction.
It is measured on the matured cohort instead — orders created in a window of the
period's length ending ``params.ship_maturity_days`` before the as-of day, shipped
by the as-of day — and its label says so (``Ship rate (%), orders 14+ days
old``), its ``From`` / ``To`` being the days those orders were created. The other
rates are known when their event happens (counter-offer and SLA at inspection,
CSAT with the payment), so they keep the period itself.

Targets. Volumes are measured against the ``targets`` table pro-rated by day:
a day's target is its month's target (summed over the sheet's markets and
categories) divided by the month's length, and a period's target is the sum
over its days (a week across two months takes its days from each). A sheet
restricted to some sellers has no volume target (targets are per market).
Rates are measured against ``params.rate_targets`` (the same for every
period). Attainment is value / target, or target / value for the
counter-offer rate, where lower is better — so 100 % or more is always on
target. Status: ``NO DATA`` when the rate has nothing to divide, ``LOW
VOLUME`` when it rests on fewer than ``params.min_volume`` orders (a handful of
orders says nothing about the operation), ``NO TARGET`` when there is no (or a
zero) target, ``GREEN`` at attainment ≥ ``params.status.green``, ``AMBER`` at ≥
``params.status.amber``, else ``RED``; a counter-offer rate of 0 is ``GREEN``.
The attainment compared is rounded to 6 decimals, as shown.

The orders are read once: one grouped select sums every period's measures
with conditional counts, the targets are a second one-row select, and the 18
rows are a ``UNION ALL`` over those two rows (SQL pushdown, both dialects).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, Select

from sheets_sync.kpis.common import filter_values, order_filters
from sheets_sync.kpis.headline_rules import DEFAULTS, Rules, rules
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.schema import products, targets, tradein_orders
from sheets_sync.vocabulary.arithmetic import count_if, ratio
from sheets_sync.vocabulary.orders import within_inspection_sla

PERIODS = ("Day", "Week to date", "Month to date")
SHIP_RATE = "Ship rate (%)"
"""The ship rate's metric; its row's label names the cohort's age (:func:`ship_label`)."""
METRICS = (
    "Orders created",
    "Paid amount",
    SHIP_RATE,
    "Counter-offer rate (%)",
    "Inspection SLA rate (%)",
    "CSAT (1–5)",
)
RATE_KEYS = {
    SHIP_RATE: "ship_rate",
    "Counter-offer rate (%)": "counter_offer_rate",
    "Inspection SLA rate (%)": "sla_rate",
    "CSAT (1–5)": "csat",
}
"""Rate metric → its key under ``params.rate_targets``."""
LOWER_IS_BETTER = frozenset({"Counter-offer rate (%)"})
PERCENT_POINTS = frozenset({SHIP_RATE, "Counter-offer rate (%)", "Inspection SLA rate (%)"})
ATTAINMENT_PLACES = 6
"""The status compares the attainment as the tab shows it (rounded), so 89.99999… % from
float division on a figure that is exactly 90 % is AMBER, like the cell says."""
STATUSES = ("GREEN", "AMBER", "RED", "NO TARGET", "NO DATA", "LOW VOLUME")
COLUMNS = ("metric", "period", "period_start", "period_end", "value", "target", "attainment",
           "status")  # fmt: skip


def ship_label(maturity_days: int) -> str:
    """The ship rate row's label: the age of the orders it is measured on."""
    return f"{SHIP_RATE}, orders {maturity_days}+ days old"


class MetricRanks(Mapping[str, int]):
    """Metric label → its row rank; the ship rate ranks third whatever its cohort's age
    (its label carries ``params.ship_maturity_days``, unknown when the query is declared)."""

    def __getitem__(self, label: str) -> int:
        base = SHIP_RATE if label.startswith(f"{SHIP_RATE}, ") else label
        if base not in METRICS:
            raise KeyError(label)
        return METRICS.index(base)

    def __iter__(self) -> Iterator[str]:
        return iter(METRICS)

    def __len__(self) -> int:
        return len(METRICS)


@dataclass(frozen=True)
class Period:
    """A headline period: its label, its first day and its last (the as-of day, or for a
    matured cohort the as-of day less the days it has had to mature)."""

    label: str
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        return self.label.split()[0].lower()  # day / week / month: SQL column suffixes

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Half-open timestamp bounds (sargable, same on both dialects)."""
        return (
            dt.datetime.combine(self.start, dt.time()),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()),
        )

    def earlier(self, days: int) -> Period:
        """The same span ``days`` earlier: the cohort that has had ``days`` more to mature."""
        shift = dt.timedelta(days=days)
        return Period(self.label, self.start - shift, self.end - shift)

    def month_weights(self) -> dict[dt.date, float]:
        """First of month → the share of that month's target falling in this period."""
        days: dict[dt.date, int] = {}
        day = self.start
        while day <= self.end:
            days[day.replace(day=1)] = days.get(day.replace(day=1), 0) + 1
            day += dt.timedelta(days=1)
        return {m: n / calendar.monthrange(m.year, m.month)[1] for m, n in days.items()}


def periods(as_of: dt.date) -> tuple[Period, ...]:
    """The three headline periods ending on ``as_of``."""
    monday = as_of - dt.timedelta(days=as_of.weekday())
    starts = (as_of, monday, as_of.replace(day=1))
    return tuple(Period(label, start, as_of) for label, start in zip(PERIODS, starts, strict=True))


# -- the measures --


def _in(column: ColumnElement[Any], bounds: tuple[dt.datetime, dt.datetime]) -> ColumnElement[Any]:
    return and_(column >= bounds[0], column < bounds[1])


def _period_sums(p: Period, maturity_days: int) -> list[ColumnElement[Any]]:
    """One period's additive sums over the orders, each dated by its own event; the ship
    rate's over the orders created ``maturity_days`` earlier, shipped by the as-of day."""
    o, bounds, k = tradein_orders.c, p.bounds(), p.key
    created, inspected, paid = (_in(o.created_at, bounds), _in(o.inspected_at, bounds),
                                _in(o.paid_at, bounds))  # fmt: skip
    matured = _in(o.created_at, p.earlier(maturity_days).bounds())
    rated = and_(paid, o.csat.is_not(None))
    return [
        count_if(created).label(f"created_{k}"),
        count_if(matured).label(f"matured_{k}"),
        count_if(and_(matured, o.shipped_at < bounds[1])).label(f"shipped_{k}"),
        count_if(inspected).label(f"inspected_{k}"),
        count_if(and_(inspected, within_inspection_sla(o.inspected_at, o.received_at))).label(
            f"sla_{k}"
        ),
        count_if(and_(inspected, o.counter_offer_price.is_not(None))).label(f"countered_{k}"),
        func.round(func.sum(case((paid, o.paid_price), else_=0)), 2).label(f"amount_{k}"),
        func.sum(case((rated, o.csat), else_=0)).label(f"csat_sum_{k}"),
        count_if(rated).label(f"csat_n_{k}"),
    ]


def _sums(ctx: QueryContext, spans: tuple[Period, ...], maturity_days: int) -> CTE:
    """Every period's sums in one pass over the orders touching the longest period (or
    created in its matured cohort).

    A CTE, not a subquery: the 18 branches of the ``UNION ALL`` all read it, and as a
    subquery each branch re-scanned the orders (18 scans; 1.9× pandas instead of ≥ 5×)."""
    o = tradein_orders.c
    start, end = min(p.bounds()[0] for p in spans), spans[0].bounds()[1]
    born = start - dt.timedelta(days=maturity_days)
    touched = or_(
        _in(o.created_at, (born, end)),
        *(_in(o[c], (start, end)) for c in ("inspected_at", "paid_at")),
    )
    return (
        select(*(s for p in spans for s in _period_sums(p, maturity_days)))
        .select_from(tradein_orders.join(products, products.c.product_id == o.product_id))
        .where(touched, *order_filters(ctx.filters))
        .cte("sums")
    )


def _targets(ctx: QueryContext, spans: tuple[Period, ...]) -> CTE:
    """Every period's pro-rated volume targets (NULL when no target row applies)."""
    t = targets.c
    months = sorted({m for p in spans for m in p.month_weights()})
    where: list[ColumnElement[bool]] = [t.month.in_(months)]
    for name in ("country", "category"):
        if values := filter_values(ctx, name):
            where.append(t[name].in_(values))
    if filter_values(ctx, "seller_id"):  # targets are per market, never per seller
        where.append(_never())
    columns = []
    for p in spans:
        for measure in ("orders_target", "paid_amount_target"):
            share = case(*((t.month == m, w) for m, w in p.month_weights().items()))
            value = func.sum(cast(t[measure], Float) * share)
            columns.append(value.label(f"{measure}_{p.key}"))
    return select(*columns).where(*where).cte("goals")


def _never() -> ColumnElement[bool]:
    """A condition no row meets, spelt the same on both dialects."""
    return literal(1) == literal(0)


def _value(metric: str, s: Any, k: str) -> ColumnElement[Any]:
    """A metric's figure for period ``k`` from the summed row ``s``."""
    points = 100.0 if metric in PERCENT_POINTS else 1.0
    match metric:
        case "Orders created":
            return cast(func.coalesce(s[f"created_{k}"], 0), Float)
        case "Paid amount":
            return cast(func.coalesce(s[f"amount_{k}"], 0), Float)
        case "Ship rate (%)":
            return ratio(s[f"shipped_{k}"] * points, s[f"matured_{k}"])
        case "Counter-offer rate (%)":
            return ratio(s[f"countered_{k}"] * points, s[f"inspected_{k}"])
        case "Inspection SLA rate (%)":
            return ratio(s[f"sla_{k}"] * points, s[f"inspected_{k}"])
        case _:
            return ratio(s[f"csat_sum_{k}"], s[f"csat_n_{k}"])


VOLUMES = {
    SHIP_RATE: "matured",
    "Counter-offer rate (%)": "inspected",
    "Inspection SLA rate (%)": "inspected",
    "CSAT (1–5)": "csat_n",
}
"""A rate → the sum of the orders it rests on (what ``params.min_volume`` applies to)."""


def _volume(metric: str, s: Any, k: str) -> ColumnElement[Any]:
    """How many orders a rate rests on; NULL for a volume (judged against its target)."""
    if metric not in VOLUMES:
        return cast(null(), Integer)
    return cast(func.coalesce(s[f"{VOLUMES[metric]}_{k}"], 0), Integer)


def _target(metric: str, goals: Any, k: str, rate_targets: Mapping[str, float]) -> Any:
    if metric == "Orders created":
        return goals[f"orders_target_{k}"]
    if metric == "Paid amount":
        return goals[f"paid_amount_target_{k}"]
    points = 100.0 if metric in PERCENT_POINTS else 1.0
    return cast(literal(rate_targets[RATE_KEYS[metric]] * points), Float)


def _branch(metric: str, p: Period, sums: CTE, goals: CTE, rules: Rules) -> Select[Any]:
    """One row: the ship rate's label and days are its matured cohort's."""
    label, days = metric, p
    if metric == SHIP_RATE:
        label, days = ship_label(rules.ship_maturity_days), p.earlier(rules.ship_maturity_days)
    return select(
        cast(literal(label), String).label("metric"),
        cast(literal(p.label), String).label("period"),
        cast(literal(days.start.isoformat()), String).label("period_start"),  # typed by the runner
        cast(literal(days.end.isoformat()), String).label("period_end"),
        _value(metric, sums.c, p.key).label("value"),
        _target(metric, goals.c, p.key, rules.rate_targets).label("target"),
        literal(1 if metric in LOWER_IS_BETTER else 0).label("lower"),
        _volume(metric, sums.c, p.key).label("volume"),
    ).select_from(sums.join(goals, true()))


# -- the query --


def build(ctx: QueryContext) -> Select[Any]:
    """The 18 headline rows with attainment and status (ordered by the runner's ranks)."""
    judged = rules(ctx.params)
    spans = periods(ctx.as_of)
    sums, goals = _sums(ctx, spans, judged.ship_maturity_days), _targets(ctx, spans)
    branches = [_branch(m, p, sums, goals, judged) for m in METRICS for p in spans]
    u = branches[0].union_all(*branches[1:]).subquery("figures")
    attainment = case((u.c.lower == 1, ratio(u.c.target, u.c.value)),
                      else_=ratio(u.c.value, u.c.target))  # fmt: skip
    return select(
        u.c.metric, u.c.period, u.c.period_start, u.c.period_end, u.c.value, u.c.target,
        attainment.label("attainment"), _status(u, attainment, judged).label("status"),
    )  # fmt: skip


def _status(u: Any, attainment: ColumnElement[Any], judged: Rules) -> ColumnElement[Any]:
    """Nothing to divide, too few orders, no target, then the attainment limits: a rate is
    judged only when it rests on enough orders that had the time (never RED by design)."""
    shown = func.round(cast(attainment, Numeric), ATTAINMENT_PLACES)
    return case(
        (u.c.value.is_(None), "NO DATA"),
        (u.c.volume < judged.min_volume, "LOW VOLUME"),
        (func.coalesce(u.c.target, 0) == 0, "NO TARGET"),
        (and_(u.c.lower == 1, u.c.value == 0), "GREEN"),
        (shown >= judged.green, "GREEN"),
        (shown >= judged.amber, "AMBER"),
        else_="RED",
    )


QUERY = BuiltinQuery(
    name="dashboard_headline",
    build=build,
    columns=COLUMNS,
    defaults=DEFAULTS,
    order_by=("metric", "period"),
    ranks={
        "metric": MetricRanks(),
        "period": {p: i for i, p in enumerate(PERIODS)},
    },
)
"""Built-in ``dashboard_headline``: the figures at the top of the `Dashboard` tab."""
