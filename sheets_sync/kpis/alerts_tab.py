"""The Alerts tab and the add-on sidebar's alert list: active alerts first, then recent resolutions.

Read from the ``alerts`` table the evaluations keep (:mod:`sheets_sync.alerts.state`), so the tab
shows what was notified, with when each alert was first and last seen. Rates
are shown in percent (84.7, not 0.847) beside a ``unit`` column, since one
column holds rates, counts, days and amounts. An
alert resolved within the last ``resolved_days`` (default 14) days before the
end of ``as_of`` stays listed as ``resolved`` so the team sees what cleared.

A market team's sheet (``countries`` in ``sheets-sync.yaml``) sees the alerts
of its markets (:func:`relevant_to`): country alerts of its countries, seller
alerts of sellers based there, and the operation-wide ``overall`` alerts
(failed syncs and pushes concern every sheet); ``category`` alerts, whose
figures mix every market, are left to the sheets without a market scope.
The sidebar (:func:`recent_alerts`) lists the same rows, relative to now
rather than to the data's last day. A KPI query like the others, it lives with
them: the alerts package writes the table, the KPIs read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from sheets_sync.kpis.common import int_param
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.schema import alerts, sellers
from sheets_sync.vocabulary.arithmetic import trailing_bounds

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


def relevant_to(countries: Sequence[str] | None) -> ColumnElement[bool]:
    """The alerts a sheet limited to ``countries`` sees (all of them when None or empty)."""
    a = alerts.c
    if not countries:
        return true()
    markets = tuple(countries)
    based_there = select(sellers.c.seller_id).where(sellers.c.country.in_(markets))
    return or_(
        a.scope == "overall",
        and_(a.scope == "country", a.scope_key.in_(markets)),
        and_(a.scope == "seller", a.scope_key.in_(based_there)),
    )


def listing(since: dt.datetime, countries: Sequence[str] | None) -> Select[Any]:
    """Active alerts by severity then age; then resolutions since ``since``, newest first."""
    a = alerts.c
    active = a.status == "active"
    severity = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=a.severity, else_=9)
    columns = [*(a[n] for n in PLAIN), *_shown(a), *(a[n] for n in TIMES)]
    query = select(*columns).where(active | (a.resolved_at >= since), relevant_to(countries))
    return query.order_by(
        case((active, 0), else_=1),
        case((active, severity), else_=0),
        case((active, a.first_seen)),
        a.resolved_at.desc(),
        a.alert_id,
    )


def build(ctx: QueryContext) -> Select[Any]:
    """The tab: resolutions within ``resolved_days`` ending on ``as_of``, in the sheet's markets."""
    days = int_param(ctx.params, "resolved_days", 1)
    return listing(trailing_bounds(ctx.as_of, days)[0], ctx.filters.get("country"))


def recent_alerts(
    conn: Connection,
    countries: Sequence[str] | None,
    now: dt.datetime,
    resolved_days: int = DEFAULTS["resolved_days"],
) -> list[dict[str, Any]]:
    """The sidebar's list: the tab's rows, resolutions counted back from ``now``.

    A seller alert also carries the seller's name (``scope_name``; None for
    other scopes), so people read who it is, not only an id.
    """
    since = now - dt.timedelta(days=resolved_days)
    a = alerts.c
    named = and_(a.scope == "seller", sellers.c.seller_id == a.scope_key)
    query = (
        listing(since, countries)
        .add_columns(sellers.c.name.label("scope_name"))
        .outerjoin(sellers, named)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


QUERY = BuiltinQuery(
    name="alerts", build=build, columns=COLUMNS, defaults=DEFAULTS, keeps_order=True
)  # keyed by alert id, listed as `listing` orders them
