"""From the ``alerts`` table to the words of each alert: names, units and where to look.

:mod:`sheets_sync.vocabulary.alert_voice` says one alert; this module gathers
what it needs from the database — each seller's name (and market, to know
which spreadsheet sees the alert) — and chooses the link: the registered
spreadsheet that shows the alert on its Alerts tab (:class:`Viewer`), else the
spreadsheet configured for alerts (``SHEETS_SYNC_ALERTS_SPREADSHEET_URL``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from sheets_sync.alerts.evaluate import Finding
from sheets_sync.schema import sellers
from sheets_sync.vocabulary.alert_voice import ALERTS_TAB, Alert, Said, say

MARKET_SCOPES = ("seller", "country")
"""Scopes whose alerts concern one market: a market team's sheet is the place to look."""


class Seller(NamedTuple):
    name: str | None
    country: str | None


@dataclass(frozen=True)
class Viewer:
    """A spreadsheet that shows alerts: its link and the markets it is limited to (None: all).

    The markets rule is the Alerts tab's (:func:`sheets_sync.kpis.alerts_tab.relevant_to`):
    a market sheet sees its countries', its sellers' and the overall alerts.
    """

    url: str
    countries: tuple[str, ...] | None = None

    def sees(self, alert: Alert, seller_country: str | None) -> bool:
        if not self.countries:
            return True
        if alert.scope == "country":
            return alert.scope_key in self.countries
        if alert.scope == "seller":
            return seller_country in self.countries
        return alert.scope == "overall"


SHEET_URL = "https://docs.google.com/spreadsheets/d/{id}/edit"


def viewers(sheets: Iterable[Any]) -> list[Viewer]:
    """The registered spreadsheets (``id``, ``countries``, ``tabs``) that have the Alerts tab.

    Duck-typed on the registry's entries, which sit above this package.
    """
    return [
        Viewer(SHEET_URL.format(id=s.id), s.countries)
        for s in sheets
        if s.tabs is None or ALERTS_TAB in s.tabs
    ]


def link_for(
    alert: Alert, seller: Seller | None, viewers: Sequence[Viewer], fallback: str | None
) -> str | None:
    """The sheet to look at: for one market's alert a sheet of that market first, else the
    first sheet that sees it (an all-markets one first), else ``fallback``."""
    market_first = alert.scope in MARKET_SCOPES
    ordered = sorted(viewers, key=lambda v: (v.countries is None) == market_first)
    country = seller.country if seller else None
    return next((v.url for v in ordered if v.sees(alert, country)), fallback)


def sellers_of(conn: Connection, keys: Iterable[str]) -> dict[str, Seller]:
    """Name and market of each seller id in ``keys`` that the sellers table knows."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    s = sellers.c
    rows = conn.execute(select(s.seller_id, s.name, s.country).where(s.seller_id.in_(wanted)))
    return {r.seller_id: Seller(r.name, r.country) for r in rows}


def _columns(row: Any) -> Mapping[str, Any]:
    return row if isinstance(row, Mapping) else row._mapping


def alert_of(row: Any, seller: Seller | None = None) -> Alert:
    """An ``alerts`` row (or a mapping of its columns) as the voice takes it."""
    c = _columns(row)
    return Alert(
        status=c["status"], severity=c["severity"], rule_id=c["rule_id"],
        description=c["description"], metric=c["metric"], scope=c["scope"],
        scope_key=c["scope_key"], value=float(c["value"]), threshold=float(c["threshold"]),
        first_seen=c["first_seen"], resolved_at=c["resolved_at"],
        seller_name=seller.name if seller else None,
    )  # fmt: skip


def speak(
    conn: Connection,
    rows: Sequence[Any],
    viewers: Sequence[Viewer] = (),
    fallback: str | None = None,
) -> list[Said]:
    """The words of each row of ``alerts`` (or mapping of its columns), in order."""
    alerts = [alert_of(row) for row in rows]
    known = sellers_of(conn, (a.scope_key for a in alerts if a.scope == "seller"))
    out = []
    for alert in alerts:
        seller = known.get(alert.scope_key) if alert.scope == "seller" else None
        if seller is not None:
            alert = replace(alert, seller_name=seller.name)
        out.append(say(alert, link_for(alert, seller, viewers, fallback)))
    return out


def as_raised(
    finding: Finding, now: dt.datetime, first_seen: dt.datetime | None = None
) -> dict[str, Any]:
    """A finding as the columns of its ``alerts`` row: new now, or active since ``first_seen``."""
    rule = finding.rule
    return {
        "status": "active", "severity": rule.severity, "rule_id": rule.id,
        "description": rule.description, "metric": rule.metric, "scope": rule.scope,
        "scope_key": finding.scope_key, "value": finding.value, "threshold": finding.threshold,
        "first_seen": first_seen or now, "resolved_at": None,
    }  # fmt: skip
