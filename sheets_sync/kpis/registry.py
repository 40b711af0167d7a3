"""The built-in queries a template can name, and what each one is given.

A built-in query is a function building a SQLAlchemy Core ``Select`` from a
:class:`QueryContext`; the database runs it (SQL pushdown), we never load raw
orders to aggregate them in Python. Each query declares the labels of the
columns it returns so templates are validated at load time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql import Select


@dataclass(frozen=True)
class QueryContext:
    """Everything a query may depend on besides the database itself.

    ``as_of`` is the last day included (default: the data's last day);
    ``filters`` restrict a spreadsheet to some sellers/markets, e.g.
    ``{"seller_id": ("S001",), "country": ("FR", "DE")}``; ``params`` are the
    template's own settings (thresholds, windows) merged over the query's defaults.
    """

    as_of: dt.date
    window_days: int | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    dialect: str = "sqlite"

    @property
    def window_start(self) -> dt.date | None:
        """First day included, or None for no window."""
        if self.window_days is None:
            return None
        return self.as_of - dt.timedelta(days=self.window_days - 1)


@dataclass(frozen=True)
class BuiltinQuery:
    name: str
    build: Callable[[QueryContext], Select[Any]]
    columns: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    default_window_days: int | None = None


BUILTIN_QUERIES: dict[str, BuiltinQuery] = {}


def register(query: BuiltinQuery) -> BuiltinQuery:
    """Add a query to the registry; names are unique."""
    if query.name in BUILTIN_QUERIES:
        raise ValueError(f"built-in query {query.name!r} registered twice")
    BUILTIN_QUERIES[query.name] = query
    return query


def query_columns() -> dict[str, tuple[str, ...]]:
    """Name → returned column labels, for template validation."""
    return {name: q.columns for name, q in BUILTIN_QUERIES.items()}
