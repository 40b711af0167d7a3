"""The Alerts tab: active alerts first (most severe, then oldest), then recent resolutions.

Read from the ``alerts`` table the evaluations keep (:mod:`.state`), so the tab
shows what was notified, with when each alert was first and last seen. Rates
are shown in percent (84.7, not 0.847) beside a ``unit`` column, since one
column holds rates, counts, days and amounts. An
alert resolved within the last ``resolved_days`` (default 14) days before the
end of ``as_of`` stays listed as ``resolved`` so the team sees what cleared.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.sql import ColumnElement, Select

from sheets_sync.kpis.common import int_param, trailing_bounds
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.schema import alerts

SEVERITY_ORDER = ("critical", "warning", "info")
DEFAULTS: dict[str, Any] = {"resolved_days": 14}
COLUMNS = (
    "status", "severity", "rule_id", "description", "scope", "scope_key", "metric", "value",
    "threshold", "unit", "first_seen", "last_seen", "resolved_at", "alert_id",
)  # fmt: skip
PLAIN = ("status", "severity", "rule_id", "description", "scope", "scope_key", "metric")
TIMES = ("first_seen", "last_seen", "resolved_at", "alert_id")


def _shown(a: Any) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """Value and threshold in the unit people read them in: rates in %, with the unit."""
    is_rate = a.metric.endswith("_rate", autoescape=True)
    unit = case(
        (is_rate, "%"), (a.metric == "onboarding_stall_days", "days"),
        (a.metric == "paid_amount", "EUR"), (a.metric == "csat", "/5"),
        (a.metric.startswith("failed_", autoescape=True), "runs"), else_="orders",
    )  # fmt: skip
    value = case((is_rate, a.value * 100), else_=a.value)
    threshold = case((is_rate, a.threshold * 100), else_=a.threshold)
    return value.label("value"), threshold.label("threshold"), unit.label("unit")


def build(ctx: QueryContext) -> Select[Any]:
    """Active alerts by severity then age; then resolutions since ``resolved_days``, newest first."""
    days = int_param(ctx.params, "resolved_days", 1)
    a = alerts.c
    active = a.status == "active"
    since = trailing_bounds(ctx.as_of, days)[0]
    severity = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=a.severity, else_=9)
    columns = [*(a[n] for n in PLAIN), *_shown(a), *(a[n] for n in TIMES)]
    query = select(*columns).where(active | (a.resolved_at >= since))
    return query.order_by(
        case((active, 0), else_=1),
        case((active, severity), else_=0),
        case((active, a.first_seen)),
        a.resolved_at.desc(),
        a.alert_id,
    )


QUERY = BuiltinQuery(name="alerts", build=build, columns=COLUMNS, defaults=DEFAULTS)
