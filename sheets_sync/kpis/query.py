"""What a built-in query is: its SQL builder, its columns, its defaults and derived columns.

A built-in query is a function building a SQLAlchemy Core ``Select`` from a
:class:`QueryContext`; the database runs it (SQL pushdown), we never load raw
orders to aggregate them in Python. Its :class:`BuiltinQuery` description holds
everything else the runner and the template loader need to know about it, so
adding a query is one description added to :mod:`.registry`'s list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql import Select

from sheets_sync.frame import PendingEdit

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

    from sheets_sync.config import Settings
    from sheets_sync.tab_templates.model import SettingParam


@dataclass(frozen=True)
class QueryContext:
    """Everything a query may depend on besides the database itself.

    ``as_of`` is the last day included (by default the data's last day, never later
    than yesterday UTC: :func:`sheets_sync.guards.resolve_as_of`);
    ``filters`` restrict a spreadsheet to some sellers/markets, e.g.
    ``{"seller_id": ("S001",), "country": ("FR", "DE")}``; ``params`` are the
    template's own settings (thresholds, windows) already merged over the query's
    defaults by :meth:`BuiltinQuery.context`, so a query reads them as they are.
    ``shared`` is one sync's scratch space, the same mapping for every tab of the
    sync: what several tabs need and is dear to make (the win model, fitted once
    per sync) is kept there, never across syncs.
    """

    as_of: dt.date
    window_days: int | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    dialect: str = "sqlite"
    shared: MutableMapping[Any, Any] = field(default_factory=dict, compare=False)

    @property
    def window_start(self) -> dt.date | None:
        """First day included, or None for no window."""
        if self.window_days is None:
            return None
        return self.as_of - dt.timedelta(days=self.window_days - 1)


@dataclass(frozen=True)
class DerivedColumn:
    """A presentation column computed from a date the query returns (e.g. its ISO week label).

    Some labels cannot be spelt portably in SQL (the ISO year of a week differs
    between SQLite and PostgreSQL idioms), so the runner derives them from
    ``source`` instead, identically on both databases.
    """

    source: str
    function: Callable[[dt.date], Any]


@dataclass(frozen=True)
class AfterStep:
    """Columns computed over the query's whole result, in one vectorised pandas step.

    For what SQL cannot say well: the win model's expected orders at a price
    (docs/design.md §7) are a lookup in curves fitted in Python. ``compute`` gets
    the result as a frame (the query's labels as columns; only ``reads`` when
    given) and returns a frame of ``columns``, one row per result row in the
    same order (NaN or None: an empty cell); the runner appends them to the
    result before typing, so a template names them by ``source:`` like any
    other. A step that does not select rows runs only for a template showing
    one of its ``columns``.

    ``selects_rows``: the step also decides which rows stay, and in which order,
    because that needs its columns (Pricing opportunities keeps the moves worth
    making, best first): the returned frame's index names the result rows kept
    (the input frame's positions, each at most once), in the tab's order.
    """

    columns: tuple[str, ...]
    compute: Callable[[Connection, QueryContext, pd.DataFrame], pd.DataFrame]
    selects_rows: bool = False
    reads: tuple[str, ...] | None = None
    """The result columns ``compute`` reads (None: all): only those are made into the
    frame, a tenth of a second saved on 50,000 rows of twenty columns."""


PendingCompute = Callable[[Sequence[PendingEdit]], Sequence[Sequence[Any]]]
"""All of a tab's pending edits → one row of values per edit (:class:`PendingStep`)."""


@dataclass(frozen=True)
class PendingStep:
    """Columns filled from what the team typed and has not pushed yet (docs/design.md §5).

    The database never holds a pending edit; the backend reads it anyway, to
    keep it across the sync. So the query returns these ``columns`` empty and
    ``prepare`` (called once per tab while the sync's connection is open, as
    the sync computes the tab) returns the function the backend calls once with
    every pending edit of the tab (:class:`sheets_sync.frame.PendingEdit`: the
    row's key and editable cells, by source); it answers, per edit, the values
    of ``columns`` in that order (``None``: empty). The runner types them as the
    template's columns and hands the frame a :class:`sheets_sync.frame.FromPending`.
    """

    columns: tuple[str, ...]
    prepare: Callable[[Connection, QueryContext], PendingCompute]


@dataclass(frozen=True)
class BuiltinQuery:
    """One built-in query a template can name with ``query:``.

    ``columns`` are the labels a template's ``source:`` may use (derived columns
    included), checked when templates load; ``defaults`` are the params a
    template may override; ``default_window_days`` applies when the template
    sets no ``window_days``. The runner sorts a keyed tab's rows by its key,
    or by ``order_by`` (columns) when the template has them all, comparing
    the values of a ``ranks`` column by their rank (grades best first);
    ``keeps_order``: the query's own ``ORDER BY`` is the tab's order (alerts
    by severity and age, runs newest first), keyed or not.
    ``setting_params`` gives the params the settings own (Pricing: the push's
    guardrails): the template loader sets them from the settings and refuses a
    template giving them another value. ``after``: columns added to the result by
    a step in Python (:class:`AfterStep`); ``pending``: columns filled by the backend
    from the rows' pending edits (:class:`PendingStep`); ``columns`` lists both too.
    """

    name: str
    build: Callable[[QueryContext], Select[Any]]
    columns: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    default_window_days: int | None = None
    derived: Mapping[str, DerivedColumn] = field(default_factory=dict)
    order_by: tuple[str, ...] = ()
    ranks: Mapping[str, Mapping[Any, int]] = field(default_factory=dict)
    keeps_order: bool = False
    reads_facts: bool = False
    setting_params: Callable[[Settings], Mapping[str, SettingParam]] | None = None
    after: AfterStep | None = None
    pending: PendingStep | None = None

    def context(
        self,
        as_of: dt.date,
        *,
        window_days: int | None = None,
        filters: Mapping[str, tuple[str, ...]] | None = None,
        params: Mapping[str, Any] | None = None,
        dialect: str = "sqlite",
        shared: MutableMapping[Any, Any] | None = None,
    ) -> QueryContext:
        """The context this query runs in: the one place params meet their defaults.

        The merge is shallow: a template's ``thresholds`` replaces the default
        mapping whole, so a template lists every threshold it wants. A window of
        None means the query's default window.
        """
        return QueryContext(
            as_of=as_of,
            window_days=window_days if window_days is not None else self.default_window_days,
            filters=dict(filters or {}),
            params={**self.defaults, **(params or {})},
            dialect=dialect,
            shared={} if shared is None else shared,
        )
