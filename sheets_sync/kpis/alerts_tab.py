"""The Alerts tab and the add-on sidebar's alert list: active alerts first, then recent resolutions.

Read from the ``alerts`` table the evaluations keep (:mod:`sheets_sync.alerts.state`), so the tab
shows what was notified, with when each alert was first and last seen, in the
words of :mod:`sheets_sync.vocabulary.alert_voice`: ``where`` names the seller,
market or category as the messages do, and ``unit`` comes from the one table of
units by metric. Value and threshold stay the raw numbers (a rate as 0.847,
pivot-ready); the template formats each row by its unit (``format_by: Unit``),
so a rate reads ``84.7 %`` and an amount ``€ 12,340.00``. An
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
from sheets_sync.vocabulary.alert_voice import unit_sql, where_sql
from sheets_sync.vocabulary.arithmetic import trailing_bounds

SEVERITY_ORDER = ("critical", "warning", "info")
DEFAULTS: dict[str, Any] = {"resolved_days": 14}
COLUMNS = (
    "status", "severity", "rule_id", "description", "scope", "scope_key", "where", "metric",
    "value", "threshold", "unit", "first_seen", "last_seen", "resolved_at", "alert_id",
)  # fmt: skip
PLAIN = ("status", "severity", "rule_id", "description", "scope", "scope_key", "metric")
TIMES = ("first_seen", "last_seen", "resolved_at", "alert_id")


def _shown(a: Any) -> tuple[ColumnElement[Any], ...]:
    """Where by name, value and threshold as recorded, and the unit they are read in."""
    where = where_sql(a.scope, a.scope_key, sellers.c.name).label("where")
    return (
        where,
        a.value.label("value"),
        a.threshold.label("threshold"),
        unit_sql(a.metric).label("unit"),
    )


def relevant_to(countries: Sequence[str] | None) -> ColumnElement[bool]:
    """The alerts a sheet limited to ``countries`` sees (all of them when None or empty)."""
    a = alerts.c
    if not countries:
        return true()
    markets = tuple(countries)
    based_there = (  # never correlated with the sellers the listing joins for names
        select(sellers.c.seller_id).where(sellers.c.country.in_(markets)).correlate(None)
    )
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
    named = and_(a.scope == "seller", sellers.c.seller_id == a.scope_key)
    query = (
        select(*columns, sellers.c.name.label("scope_name"))
        .select_from(alerts.outerjoin(sellers, named))
        .where(active | (a.resolved_at >= since), relevant_to(countries))
    )
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
    other scopes), for the voice to say who it is, not only an id.
    """
    since = now - dt.timedelta(days=resolved_days)
    return [dict(row._mapping) for row in conn.execute(listing(since, countries))]


QUERY = BuiltinQuery(
    name="alerts", build=build, columns=COLUMNS, defaults=DEFAULTS, keeps_order=True
)  # keyed by alert id, listed as `listing` orders them
