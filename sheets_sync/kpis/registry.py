"""The built-in queries a template can name with ``query:``, listed explicitly.

One list, in the order the shipped tabs appear, rather than registration as a
side effect of importing each module: whoever asks the registry (the runner,
the template loader through :func:`query_columns`) sees every query without
first having to import the right modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from sheets_sync.errors import TemplateError
from sheets_sync.kpis import (
    alerts_tab,
    daily,
    headline,
    onboarding,
    opportunities,
    periods,
    pricing,
    quality,
    scorecard,
    sync_status,
)
from sheets_sync.kpis.query import BuiltinQuery

if TYPE_CHECKING:
    from sheets_sync.config import Settings
    from sheets_sync.tab_templates.model import SettingParam


def _by_name(queries: Iterable[BuiltinQuery]) -> Mapping[str, BuiltinQuery]:
    table: dict[str, BuiltinQuery] = {}
    for query in queries:
        if query.name in table:
            raise ValueError(f"built-in query {query.name!r} is listed twice")
        table[query.name] = query
    return MappingProxyType(table)


BUILTIN_QUERIES: Mapping[str, BuiltinQuery] = _by_name(
    (
        headline.QUERY,
        daily.KPI_DAILY,
        periods.KPI_WEEKLY,
        periods.KPI_MONTHLY,
        scorecard.QUERY,
        quality.QUERY,
        pricing.QUERY,
        opportunities.QUERY,
        onboarding.QUERY,
        sync_status.QUERY,
        alerts_tab.QUERY,
    )
)
"""Name → description of every built-in query (read-only)."""


def builtin_query(name: str, where: object = "template") -> BuiltinQuery:
    """The query a template names, or a TemplateError naming ``where`` and the known names."""
    try:
        return BUILTIN_QUERIES[name]
    except KeyError:
        raise TemplateError(
            f"{where}: query: unknown built-in query {name!r}. "
            f"Fix: use one of {sorted(BUILTIN_QUERIES)}"
        ) from None  # the KeyError only repeats the name the message already gives


def query_columns() -> dict[str, tuple[str, ...]]:
    """Name → returned column labels, for template validation."""
    return {name: q.columns for name, q in BUILTIN_QUERIES.items()}


def setting_params(settings: Settings) -> dict[str, Mapping[str, SettingParam]]:
    """Name → the params ``settings`` own, for the queries that have some (template loading)."""
    return {
        name: q.setting_params(settings)
        for name, q in BUILTIN_QUERIES.items()
        if q.setting_params is not None
    }
