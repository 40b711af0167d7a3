"""How an alert is said, once, for every channel: Slack, e-mail, the CLI, the tab, the sidebar.

An alert is a rule firing for one scope key with a value and a threshold. Said
to people it is: *what* (the rule's description), *where* with the names people
use (``seller Rhein Tech GmbH (SEL-018)``, ``market Austria (AT)``, ``category
smartphones``, ``all markets``), the value and threshold *in their unit*
(``65 days``, ``82.4 %``, ``€ 12,340.00``, ``15 orders``, ``3 runs``,
``4.12 / 5``), *since when*, and *how to look* (the spreadsheet and its
``Alerts`` tab). Each channel lays these words out its own way but never words
them itself, so an alert reads the same wherever it is met.

The unit of each metric is :data:`METRIC_UNITS`, the one table the
notifications, the CLI, the sidebar and the Alerts tab's ``Unit`` column read.
It lives here, below the KPIs and the alerts, because both say alerts: the
alerts package's metrics (:mod:`sheets_sync.alerts.metrics`) carry their unit
from it. The database keeps raw figures (a rate as 0.824); the unit turns them
into words, and the Alerts tab shows the same numbers under a format per unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Text, and_, case, func, literal
from sqlalchemy.sql import ColumnElement

from sheets_sync.vocabulary.markets import CATEGORY_LABELS, COUNTRY_NAMES, category_label, market

ALERTS_TAB = "Alerts"
"""The tab that lists every alert: where a message sends people to look."""


def _half_up(number: float, places: int) -> Decimal:
    """Rounded as a spreadsheet shows it (71.25 → 71.3), not to the nearest binary float."""
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _whole_or_tenth(number: float) -> str:
    """Counts are whole; a threshold scaled from an average may not be (16.5 orders)."""
    return f"{number:,.0f}" if float(number).is_integer() else f"{_half_up(number, 1):,}"


def _count(one: str, many: str) -> Callable[[float], str]:
    return lambda n: f"{_whole_or_tenth(n)} {one if n == 1 else many}"


@dataclass(frozen=True)
class Unit:
    """One unit: its name in the tab's ``Unit`` column and how a figure in it is said."""

    name: str
    say: Callable[[float], str]


UNITS: dict[str, Unit] = {
    unit.name: unit
    for unit in (
        Unit("%", lambda n: f"{_half_up(n * 100, 1)} %"),
        Unit("EUR", lambda n: f"€ {_half_up(n, 2):,}"),
        Unit("days", _count("day", "days")),
        Unit("orders", _count("order", "orders")),
        Unit("runs", _count("run", "runs")),
        Unit("measure-days", _count("measure-day", "measure-days")),
        Unit("/5", lambda n: f"{_half_up(n, 2)} / 5"),
    )
}
"""Unit name → unit. Rates are kept as fractions and said in percent."""

METRIC_UNITS: dict[str, str] = {
    "orders_created": "orders", "shipped": "orders", "received": "orders",
    "inspected": "orders", "counter_offers": "orders", "paid": "orders",
    "cancelled": "orders", "returned": "orders",
    "paid_amount": "EUR",
    "counter_offer_rate": "%", "inspection_sla_rate": "%", "grade_mismatch_rate": "%",
    "grade_mismatch_2plus_rate": "%", "counter_acceptance_rate": "%",
    "csat": "/5",
    "onboarding_stall_days": "days",
    "failed_syncs": "runs", "failed_pricing_pushes": "runs", "failed_runs": "runs",
    "facts_drift": "measure-days",
}  # fmt: skip
"""Metric → unit name: every metric a rule may use (:mod:`sheets_sync.alerts.metrics`)."""

FALLBACK_UNIT = "orders"
"""The unit of a metric this table does not know (an alert recorded by an older version)."""


def unit_of(metric: str) -> Unit:
    """The unit ``metric``'s figures are said in."""
    return UNITS[METRIC_UNITS.get(metric, FALLBACK_UNIT)]


def where(scope: str, key: str, seller_name: str | None = None) -> str:
    """Where an alert is, in people's names; the id stays beside a seller's name."""
    if scope == "seller":
        return f"seller {seller_name} ({key})" if seller_name else f"seller {key}"
    if scope == "country":
        return f"market {market(key)}"
    if scope == "category":
        return f"category {category_label(key)}"
    return "all markets"


@dataclass(frozen=True)
class Alert:
    """What the ``alerts`` table knows of one alert, and the seller's name when it has one."""

    status: str  # "active" or "resolved"
    severity: str
    rule_id: str
    description: str
    metric: str
    scope: str
    scope_key: str
    value: float
    threshold: float
    first_seen: dt.datetime
    resolved_at: dt.datetime | None = None
    seller_name: str | None = None


@dataclass(frozen=True)
class Said:
    """An alert in words: what every channel shows, laid out its own way."""

    mark: str  # "CRITICAL", "WARNING", "INFO" or "RESOLVED"
    what: str
    where: str
    value: str
    threshold: str
    since: dt.datetime
    resolved_at: dt.datetime | None
    link: str | None
    tab: str = ALERTS_TAB

    @property
    def figures(self) -> str:
        """``65 days (threshold 14 days)``."""
        return f"{self.value} (threshold {self.threshold})"

    @property
    def when(self) -> str:
        """``Since 2026-12-01 06:00 UTC`` (``, resolved …`` once cleared)."""
        text = f"Since {self.since:%Y-%m-%d %H:%M} UTC"
        if self.resolved_at is not None:
            text += f", resolved {self.resolved_at:%Y-%m-%d %H:%M} UTC"
        return text

    @property
    def look(self) -> str:
        """Where to look: the tab, of the spreadsheet when its link is known."""
        return f"{self.tab} tab of {self.link}" if self.link else f"the {self.tab} tab"

    def line(self) -> str:
        """One line: ``WARNING what — where: 65 days (threshold 14 days), since 2026-12-01``."""
        text = (
            f"{self.mark} {self.what} — {self.where}: {self.figures}, since {self.since:%Y-%m-%d}"
        )
        if self.resolved_at is not None:
            text += f", resolved {self.resolved_at:%Y-%m-%d}"
        return text


def say(alert: Alert, link: str | None = None) -> Said:
    """The words of ``alert``; ``link`` is the spreadsheet where it can be seen."""
    unit = unit_of(alert.metric)
    resolved = alert.status == "resolved"
    return Said(
        mark="RESOLVED" if resolved else alert.severity.upper(),
        what=alert.description or alert.rule_id,
        where=where(alert.scope, alert.scope_key, alert.seller_name),
        value=unit.say(alert.value),
        threshold=unit.say(alert.threshold),
        since=alert.first_seen,
        resolved_at=alert.resolved_at if resolved else None,
        link=link,
    )


def where_sql(
    scope: ColumnElement[Any], key: ColumnElement[Any], seller_name: ColumnElement[Any]
) -> ColumnElement[Any]:
    """:func:`where` in SQL, for the Alerts tab's ``Where`` column (a query's column).

    The same words from the same names (:mod:`.markets`); the voice tests check
    that the tab's ``Where`` equals what the messages say, scope by scope.
    """

    def text(value: str) -> ColumnElement[Any]:
        return literal(value, Text)

    country = case(COUNTRY_NAMES, value=key)
    named_market = case((country.is_(None), key), else_=country + text(" (") + key + text(")"))
    named = and_(seller_name.is_not(None), seller_name != "")
    seller = case(
        (named, text("seller ") + seller_name + text(" (") + key + text(")")),
        else_=text("seller ") + key,
    )
    label = func.coalesce(case(CATEGORY_LABELS, value=key), key)
    return case(
        (scope == "seller", seller),
        (scope == "country", text("market ") + named_market),
        (scope == "category", text("category ") + label),
        else_=text("all markets"),
    )


def unit_sql(metric: ColumnElement[Any]) -> ColumnElement[Any]:
    """The unit name of each alert's metric, from :data:`METRIC_UNITS`, in SQL."""
    return case(METRIC_UNITS, value=metric, else_=FALLBACK_UNIT)
