"""What a tab template declares, as typed objects (docs/design.md §5).

A template is loaded and validated once (see :mod:`.loader`); everything
downstream (queries, frames, backends, pivots) reads these frozen objects and
never the YAML. Column references elsewhere in a template use the column's
header label, the name the team sees in the sheet.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheets_sync.tab_templates.chart_model import (  # noqa: F401 (re-exported)
    DEFAULT_CHART_HEIGHT,
    DEFAULT_CHART_WIDTH,
    Aggregate,
    Axis,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    EqualsFilter,
    LastPeriods,
    PeriodUnit,
    SeriesSpec,
    SeriesType,
)


class ColumnType(enum.StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"

    @property
    def is_numeric(self) -> bool:
        return self in NUMERIC_TYPES

    @property
    def default_format(self) -> str | None:
        return DEFAULT_FORMATS.get(self)


NUMERIC_TYPES = frozenset(
    {ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.MONEY, ColumnType.PERCENT}
)

DEFAULT_FORMATS: dict[ColumnType, str] = {
    ColumnType.INTEGER: "#,##0",
    ColumnType.DECIMAL: "#,##0.00",
    ColumnType.MONEY: "#,##0.00",
    ColumnType.PERCENT: "0.0%",
    ColumnType.DATE: "yyyy-mm-dd",
    ColumnType.DATETIME: "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class FormatBy:
    """A number format chosen row by row by the text of another column (``format_by:``).

    One column may hold figures of several kinds (the Alerts tab's Value: rates,
    amounts, days, counts); each row is shown in the format its ``column`` names
    (its unit), and a row whose text has no format keeps the column's own.
    """

    column: str
    formats: tuple[tuple[str, str], ...]

    def format_for(self, text: Any) -> str | None:
        """The number format of a row whose ``column`` holds ``text``."""
        return next((f for name, f in self.formats if name == text), None)


@dataclass(frozen=True)
class ColumnSpec:
    """One managed column: where its values come from and how they look.

    ``editable``: the team types here (a value it typed stays while the data has
    none). ``hold_while_pending``: a sync leaves this column's cell as the sheet
    has it while any editable cell of the row holds a value — `Version` keeps
    the version the team's pending edit was typed against, so the push still
    sees a conflict when someone else changed the row in between.
    """

    header: str
    source: str
    type: ColumnType = ColumnType.TEXT
    number_format: str | None = None
    width: int | None = None
    editable: bool = False
    hidden: bool = False
    hold_while_pending: bool = False
    format_by: FormatBy | None = None

    @property
    def effective_format(self) -> str | None:
        return self.number_format or self.type.default_format


class Summarize(enum.StrEnum):
    """Pivot value functions; additive ones only, so any slice aggregates correctly."""

    SUM = "SUM"
    COUNTA = "COUNTA"
    COUNT = "COUNT"
    MIN = "MIN"
    MAX = "MAX"


@dataclass(frozen=True)
class PivotValue:
    column: str
    summarize: Summarize = Summarize.SUM
    label: str | None = None

    @property
    def display_name(self) -> str:
        return self.label or f"{self.summarize.value} of {self.column}"


@dataclass(frozen=True)
class PivotSpec:
    """A native pivot table on its own sheet whose source is the template's data rows."""

    title: str
    rows: tuple[str, ...]
    values: tuple[PivotValue, ...]
    columns: tuple[str, ...] = ()
    sort_rows: str = "ASCENDING"


class ConditionKind(enum.StrEnum):
    TEXT_EQ = "text_eq"
    TEXT_CONTAINS = "text_contains"
    NUMBER_GREATER = "number_greater"
    NUMBER_LESS = "number_less"
    NUMBER_BETWEEN = "number_between"
    NOT_BLANK = "not_blank"


@dataclass(frozen=True)
class ConditionalFormat:
    """Colour the cells of one column when a condition holds (e.g. RAG status)."""

    column: str
    condition: ConditionKind
    values: tuple[str, ...] = ()
    background: str | None = None
    font_color: str | None = None
    bold: bool = False


class SheetPosition(enum.StrEnum):
    """Where a tab's sheet stands among the spreadsheet's sheets.

    ``any``: where it was created (new sheets go last) or where the team moved it;
    ``first``: kept first on every sync (the `Dashboard` is what the team opens).
    """

    ANY = "any"
    FIRST = "first"


@dataclass(frozen=True)
class SettingParam:
    """A built-in query's param that a setting owns, e.g. the guardrails the pricing
    push enforces, which the Pricing tab's suggestions must keep to.

    The query gets :attr:`value` (``setting`` × ``scale``: a share as a percentage
    has ``scale`` 100) whatever the template says; a template may still write the
    param, with the same value, but a different one is refused when it loads
    (:func:`sheets_sync.tab_templates.loader.load_template`). ``variable`` names the
    environment variable and ``meaning`` what it is, for that message.
    """

    variable: str
    setting: Decimal
    meaning: str
    scale: Decimal = Decimal(1)

    @property
    def value(self) -> Decimal:
        return self.setting * self.scale


@dataclass(frozen=True)
class TabTemplate:
    """A managed tab: title, query, columns, key, window and presentation."""

    title: str
    columns: tuple[ColumnSpec, ...]
    query: str | None = None
    sql_path: Path | None = None
    description: str = ""
    key: tuple[str, ...] = ()
    window_days: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    freeze_rows: int = 1
    freeze_columns: int = 0
    filter: bool = True
    truncate_to_limit: bool = False
    allow_shrink: bool = False
    """Rows leave this keyed tab by design (alerts resolving, the last N runs): the shrink
    guard does not stop it; the team's cells on leaving rows are archived all the same."""
    conditional_formats: tuple[ConditionalFormat, ...] = ()
    pivots: tuple[PivotSpec, ...] = ()
    charts: tuple[ChartSpec, ...] = ()
    order: int = 100
    position: SheetPosition = SheetPosition.ANY
    source_file: Path | None = None

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, header: str) -> ColumnSpec:
        for column in self.columns:
            if column.header == header:
                return column
        raise KeyError(header)

    def column_index(self, header: str) -> int:
        return self.headers.index(header)

    @functools.cached_property
    def key_indexes(self) -> tuple[int, ...]:
        """Computed once per template: every row's key goes through it (a frozen dataclass
        still caches: the value lands in the instance dict, outside the fields)."""
        return tuple(self.column_index(h) for h in self.key)

    @property
    def editable_headers(self) -> list[str]:
        return [c.header for c in self.columns if c.editable]

    @property
    def editable_indexes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if c.editable)

    @functools.cached_property
    def formats_by_row(self) -> tuple[tuple[int, int, FormatBy], ...]:
        """(column, column naming each row's format, its formats) of every ``format_by``."""
        return tuple(
            (i, self.column_index(c.format_by.column), c.format_by)
            for i, c in enumerate(self.columns)
            if c.format_by is not None
        )

    @property
    def held_indexes(self) -> tuple[int, ...]:
        """Columns a sync leaves alone on a row with a pending edit (``hold_while_pending``)."""
        return tuple(i for i, c in enumerate(self.columns) if c.hold_while_pending)
