"""Rules evaluated in the database: one grouped select per rule returns only what fires.

The value, the threshold, the minimum volume and the comparison are all SQL,
so a rule over a million orders returns a handful of rows, never the orders.
Order figures are taken as of the end of ``as_of`` (the day the sync uses,
:func:`sheets_sync.guards.resolve_as_of`); failed runs are counted up to ``now``,
since a sync that failed this morning must be heard of tonight, whatever day
the data ends on.

``change_above``/``change_below`` compare the window with the ``trailing_days``
just before it: a rate with the rate over that period, a volume with its
average over a period as long as the window. The trailing period must reach
the same ``min_volume``, so a jump from 1 of 2 orders means nothing.

A scope key is evaluated when it has at least one of the metric's events in
the range read (a seller with no order at all in the window is not "below"
anything); ``below_target`` is the exception: every key with a target counts,
with 0 when it has no order this month.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Text, and_, cast, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, FromClause, Select

from sheets_sync.alerts.metrics import METRICS, Bounds, Metric
from sheets_sync.alerts.rules import Rule
from sheets_sync.facts.quick import differing_count, window
from sheets_sync.kpis import onboarding
from sheets_sync.kpis.query import QueryContext
from sheets_sync.schema import products, sync_runs, targets, tradein_orders
from sheets_sync.vocabulary.arithmetic import count_if, trailing_bounds

OVERALL = "all"
"""The scope key of an ``overall`` rule."""


@dataclass(frozen=True)
class Finding:
    """A rule firing for one scope key (a seller id, a country, a category or ``all``)."""

    rule: Rule
    scope_key: str
    value: float
    threshold: float
    volume: int


def evaluate(
    conn: Connection, rules: Iterable[Rule], as_of: dt.date, now: dt.datetime
) -> list[Finding]:
    """Every (rule, scope key) whose condition holds, rules in file order, keys sorted."""
    findings: list[Finding] = []
    for rule in rules:
        rows = conn.execute(rule_query(rule, as_of, now)).all()
        findings.extend(
            Finding(rule, str(r.scope_key), float(r.value), float(r.threshold), int(r.volume))
            for r in sorted(rows, key=lambda r: str(r.scope_key))
        )
    return findings


def rule_query(rule: Rule, as_of: dt.date, now: dt.datetime) -> Select[Any]:
    """``scope_key, value, threshold, volume`` of every scope key where ``rule`` fires."""
    metric = METRICS[rule.metric]
    if metric.source == "onboarding":
        figures = _stalls(as_of)
    elif metric.source == "runs":
        figures = _failed_runs(metric, (now - dt.timedelta(days=rule.window), now))
    elif metric.source == "facts":
        figures = _facts_drift(as_of, rule.window)
    elif rule.condition.kind == "below_target":
        figures = _against_target(rule, metric, as_of)
    else:
        figures = _orders(rule, metric, as_of)
    return _firing(rule, figures)


def _firing(rule: Rule, figures: FromClause) -> Select[Any]:
    c, cond = figures.c, rule.condition
    amount = literal(cond.amount, Float)
    if cond.kind == "change_above":
        threshold = c.baseline * (1 + amount / 100)
    elif cond.kind == "change_below":
        threshold = c.baseline * (1 - amount / 100)
    elif cond.kind == "below_target":
        threshold = c.target
    else:
        threshold = amount
    fires = c.value > threshold if cond.kind.endswith("above") else c.value < threshold
    enough = [c.volume >= rule.min_volume]
    if cond.kind.startswith("change"):
        enough.append(c.baseline_volume >= rule.min_volume)
    return select(c.scope_key, c.value, threshold.label("threshold"), c.volume).where(
        *enough, c.value.is_not(None), threshold.is_not(None), fires
    )


def _scope(scope: str) -> ColumnElement[Any] | None:
    """The column a scope groups by; None for ``overall`` (no GROUP BY at all)."""
    o = tradein_orders.c
    return {"seller": o.seller_id, "country": o.country, "category": products.c.category}.get(scope)


def _grouped(scope: str, columns: Sequence[ColumnElement[Any]], where: Any) -> Select[Any]:
    """The aggregates per scope key, from the orders joined to their product when needed."""
    key = _scope(scope)
    source: FromClause = tradein_orders
    if scope == "category":
        source = tradein_orders.join(products, products.c.product_id == tradein_orders.c.product_id)
    label = (key if key is not None else literal(OVERALL, Text)).label("scope_key")
    query = select(label, *columns).select_from(source).where(where)
    return query.group_by(key) if key is not None else query


def _touching(metric: Metric, start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    """Orders with one of the metric's events in the range: the only rows that can count."""
    o = tradein_orders.c
    return or_(*(and_(o[e] >= start, o[e] < end) for e in metric.events))


def _orders(rule: Rule, metric: Metric, as_of: dt.date) -> FromClause:
    assert metric.value is not None and metric.volume is not None
    current = trailing_bounds(as_of, rule.window)
    columns = [
        cast(metric.value(current), Float).label("value"),
        metric.volume(current).label("volume"),
    ]
    start = current[0]
    if rule.condition.kind.startswith("change"):
        start = current[0] - dt.timedelta(days=rule.condition.trailing_days)
        trailing: Bounds = (start, current[0])
        baseline: ColumnElement[Any] = cast(metric.value(trailing), Float)
        if not metric.rate:
            baseline = baseline * rule.window / rule.condition.trailing_days
        columns += [baseline.label("baseline"), metric.volume(trailing).label("baseline_volume")]
    return _grouped(rule.scope, columns, _touching(metric, start, current[1])).subquery("figures")


def _against_target(rule: Rule, metric: Metric, as_of: dt.date) -> FromClause:
    """Month to date against the month's target prorated to the day, share ``amount``.

    Every scope key with a target is listed, orders or not: a market with no
    order at all this month is the furthest below its target.
    """
    assert metric.value is not None and metric.volume is not None and metric.target
    month = as_of.replace(day=1)
    days = calendar.monthrange(as_of.year, as_of.month)[1]
    bounds = (dt.datetime.combine(month, dt.time()), trailing_bounds(as_of, 1)[1])
    actual = _grouped(
        rule.scope,
        [cast(metric.value(bounds), Float).label("value"), metric.volume(bounds).label("volume")],
        _touching(metric, *bounds),
    ).subquery("actual")
    share = rule.condition.amount * as_of.day / days
    key = {"country": targets.c.country, "category": targets.c.category}.get(rule.scope)
    label = (key if key is not None else literal(OVERALL, Text)).label("scope_key")
    goal = select(label, (cast(func.sum(targets.c[metric.target]), Float) * share).label("target"))
    goal = goal.where(targets.c.month == month)
    goal_sq = (goal.group_by(key) if key is not None else goal).subquery("goal")
    return (
        select(
            goal_sq.c.scope_key, goal_sq.c.target,
            func.coalesce(actual.c.value, 0.0).label("value"),
            func.coalesce(actual.c.volume, 0).label("volume"),
        )
        .select_from(goal_sq.outerjoin(actual, actual.c.scope_key == goal_sq.c.scope_key))
        .subquery("figures")
    )  # fmt: skip


def _stalls(as_of: dt.date) -> FromClause:
    """Days stalled per seller, from the Onboarding tab's own query (one definition)."""
    stalls = onboarding.build(QueryContext(as_of=as_of, params={"stall_days": 0})).subquery()
    return select(
        stalls.c.seller_id.label("scope_key"),
        cast(stalls.c.days_stalled, Float).label("value"),
        literal(1).label("volume"),
    ).subquery("figures")


def _failed_runs(metric: Metric, bounds: Bounds) -> FromClause:
    r = sync_runs.c
    when = func.coalesce(r.started_at, r.queued_at)
    failed = and_(r.status == "failed", when >= bounds[0], when <= bounds[1])
    if metric.run_kinds:
        failed = and_(failed, r.kind.in_(metric.run_kinds))
    count = func.coalesce(count_if(failed), 0)
    return select(
        literal(OVERALL, Text).label("scope_key"),
        cast(count, Float).label("value"),
        count.label("volume"),
    ).subquery("figures")


def _facts_drift(as_of: dt.date, days: int) -> FromClause:
    """Measure-days of the window whose stored facts differ from the orders (the quick
    check of :mod:`sheets_sync.facts.quick`, counted in SQL): 0 when they agree."""
    count = differing_count(*window(as_of, days))
    return select(
        literal(OVERALL, Text).label("scope_key"),
        cast(count, Float).label("value"),
        count.label("volume"),
    ).subquery("figures")
