"""What a rule can measure: the §4 rates and volumes, grade mismatch, stalls, failed runs, drift.

Each order metric is a pair of SQL aggregates over ``tradein_orders`` for a
half-open time range: its value and its volume (the count a ``min_volume``
is compared with: inspected orders for the rates of inspected orders, paid
orders for the paid amount, …). Measures are dated by their own event, as on
the KPI tabs (docs/design.md §4), with the same helpers, so an alert's figure
is the figure the team sees on KPI Daily. Rates are ratios of sums.

Grade mismatch (an order inspected in a worse grade than declared) is computed
here from the orders themselves, independently of the Quality tab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, case, cast, func
from sqlalchemy.sql import ColumnElement

from sheets_sync.schema import GRADE_RANK, tradein_orders
from sheets_sync.vocabulary.alert_voice import Unit, unit_of
from sheets_sync.vocabulary.arithmetic import count_if, ratio
from sheets_sync.vocabulary.orders import ANSWERED_STATUSES, within_inspection_sla

Bounds = tuple[dt.datetime, dt.datetime]
Aggregate = Callable[[Bounds], ColumnElement[Any]]
ALL_SCOPES = ("seller", "country", "category", "overall")

o = tradein_orders.c


@dataclass(frozen=True)
class Metric:
    """One measurable figure.

    ``source`` says where it comes from: ``orders`` (``value``/``volume``
    aggregates over a time range), ``onboarding`` (days stalled per seller),
    ``runs`` (failed ``sync_runs`` of ``run_kinds``) or ``facts`` (measure-days
    whose stored daily facts differ from the orders, :mod:`sheets_sync.facts.quick`). ``rate`` metrics are
    compared as they are against their trailing average; volumes are scaled to
    the window's length first. ``target`` names the ``targets`` column a
    ``below_target`` condition compares with.
    """

    name: str
    source: str
    scopes: tuple[str, ...] = ALL_SCOPES
    value: Aggregate | None = None
    volume: Aggregate | None = None
    events: tuple[str, ...] = ()
    rate: bool = False
    target: str | None = None
    run_kinds: tuple[str, ...] = ()

    @property
    def unit(self) -> Unit:
        """What the metric's figures are said in (the one table, :data:`METRIC_UNITS`)."""
        return unit_of(self.name)

    @property
    def windowed(self) -> bool:
        """Whether the metric has a trailing average to compare with (order metrics)."""
        return self.source == "orders"


def _in(event: str, bounds: Bounds) -> ColumnElement[bool]:
    return and_(o[event] >= bounds[0], o[event] < bounds[1])


def _count(event: str, condition: ColumnElement[Any] | None = None) -> Aggregate:
    def build(bounds: Bounds) -> ColumnElement[Any]:
        when = _in(event, bounds) if condition is None else and_(_in(event, bounds), condition)
        return func.coalesce(count_if(when), 0)

    return build


def _total(event: str, amount: ColumnElement[Any]) -> Aggregate:
    def build(bounds: Bounds) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((_in(event, bounds), cast(amount, Float)))), 0.0)

    return build


def _ratio(numerator: Aggregate, denominator: Aggregate) -> Aggregate:
    return lambda bounds: ratio(numerator(bounds), denominator(bounds))


def _volume(name: str, event: str, condition: ColumnElement[Any] | None = None) -> Metric:
    count = _count(event, condition)
    return Metric(name, "orders", value=count, volume=count, events=(event,))


def grade_rank(grade: ColumnElement[Any]) -> ColumnElement[Any]:
    """1 (flawless) … 6 (nf_cracked), NULL for a missing grade."""
    return case(GRADE_RANK, value=grade)


def _downgraded(steps: int) -> ColumnElement[Any]:
    return grade_rank(o.inspected_grade) - grade_rank(o.declared_grade) >= steps


def _rate(name: str, event: str, condition: ColumnElement[Any]) -> Metric:
    """Share of the orders with ``event`` in the range that also meet ``condition``."""
    hits, base = _count(event, condition), _count(event)
    return Metric(name, "orders", value=_ratio(hits, base), volume=base, events=(event,), rate=True)


_answered = o.counter_offer_status.in_(ANSWERED_STATUSES)
_paid = _count("paid_at")
_csat_responses = _count("paid_at", o.csat.is_not(None))

_ALL: tuple[Metric, ...] = (
    Metric(
        "orders_created", "orders", value=_count("created_at"), volume=_count("created_at"),
        events=("created_at",), target="orders_target",
    ),
    _volume("shipped", "shipped_at"),
    _volume("received", "received_at"),
    _volume("inspected", "inspected_at"),
    _volume("counter_offers", "inspected_at", o.counter_offer_price.is_not(None)),
    _volume("paid", "paid_at"),
    _volume("cancelled", "cancelled_at"),
    _volume("returned", "returned_at"),
    Metric(
        "paid_amount", "orders", value=_total("paid_at", o.paid_price), volume=_paid,
        events=("paid_at",), target="paid_amount_target",
    ),
    _rate("counter_offer_rate", "inspected_at", o.counter_offer_price.is_not(None)),
    _rate("inspection_sla_rate", "inspected_at", within_inspection_sla(o.inspected_at, o.received_at)),
    _rate("grade_mismatch_rate", "inspected_at", _downgraded(1)),
    _rate("grade_mismatch_2plus_rate", "inspected_at", _downgraded(2)),
    Metric(
        "counter_acceptance_rate", "orders",
        value=_ratio(_count("counter_answered_at", o.counter_offer_status == "accepted"),
                     _count("counter_answered_at", _answered)),
        volume=_count("counter_answered_at", _answered), events=("counter_answered_at",), rate=True,
    ),
    Metric(
        "csat", "orders", value=_ratio(_total("paid_at", o.csat), _csat_responses),
        volume=_csat_responses, events=("paid_at",), rate=True,
    ),
    Metric("onboarding_stall_days", "onboarding", scopes=("seller",)),
    Metric("failed_syncs", "runs", scopes=("overall",), run_kinds=("sync",)),
    Metric("failed_pricing_pushes", "runs", scopes=("overall",), run_kinds=("pricing",)),
    Metric("failed_runs", "runs", scopes=("overall",)),
    Metric("facts_drift", "facts", scopes=("overall",)),
)  # fmt: skip

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}
"""Name → metric, the names a rule's ``metric:`` may use."""
