"""The ``charts:`` part of a tab template, as typed objects (docs/design.md §5, §6).

Kept apart from :mod:`.model` (which re-exports these names) so each stays short
enough to read; see :mod:`.charts` and :mod:`.chart_series` for the parsing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ChartType(enum.StrEnum):
    """What a chart draws; ``combo`` is columns with a line on a second (right) axis."""

    COLUMN = "column"
    STACKED_COLUMN = "stacked_column"
    LINE = "line"
    COMBO = "combo"
    BAR = "bar"
    PIE = "pie"


class Axis(enum.StrEnum):
    LEFT = "left"
    RIGHT = "right"


class SeriesType(enum.StrEnum):
    """How one series of a ``combo`` chart is drawn (other charts draw all alike)."""

    COLUMN = "column"
    LINE = "line"


class PeriodUnit(enum.StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class Aggregate(enum.StrEnum):
    """What a chart does with rows sharing an x value: keep each (``none``) or sum them."""

    NONE = "none"
    SUM = "sum"


@dataclass(frozen=True)
class SeriesSpec:
    """One plotted column of the chart's source; ``label`` names it in the legend.

    With ``per`` the series is a ratio of sums: ``column`` (the numerator) and ``per``
    (the denominator) are each summed over the rows of an x value (and of a split
    value), then divided — the only way a rate stays true across categories, since
    a rate column cannot be summed (docs/design.md §5).
    """

    column: str
    axis: Axis = Axis.LEFT
    type: SeriesType | None = None
    label: str | None = None
    per: str | None = None

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        return f"{self.column} / {self.per}" if self.per else self.column

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns the series reads: its column, and its denominator if any."""
        return (self.column, self.per) if self.per else (self.column,)


@dataclass(frozen=True)
class LastPeriods:
    """Keep the rows whose ``column`` falls in the last ``count`` ``unit`` of the data,
    counted back from the column's latest value (so the window follows the as-of day)."""

    column: str
    count: int
    unit: PeriodUnit


@dataclass(frozen=True)
class EqualsFilter:
    """Keep the rows whose ``column`` (as text) is one of ``values``."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ChartFilter:
    """Which source rows a chart keeps; ``top``: then only the ``top`` rows with the
    largest first series (e.g. the top sellers by win share), largest first."""

    last: LastPeriods | None = None
    equals: tuple[EqualsFilter, ...] = ()
    top: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        last = (self.last.column,) if self.last else ()
        return last + tuple(e.column for e in self.equals)


@dataclass(frozen=True)
class ChartPosition:
    """Where the chart's top-left corner sits: a cell (0-based ``row``/``column``) of
    ``sheet`` (``None``: the tab declaring the chart) plus pixel offsets."""

    row: int
    column: int
    sheet: str | None = None
    offset_x: int = 0
    offset_y: int = 0

    @property
    def cell(self) -> str:
        """The anchor as A1 (``H2``), what openpyxl and people write."""
        index, letters = self.column + 1, ""
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(65 + rest) + letters
        return f"{letters}{self.row + 1}"


DEFAULT_CHART_WIDTH = 600
DEFAULT_CHART_HEIGHT = 371


@dataclass(frozen=True)
class ChartSpec:
    """A native chart declared by a tab template (docs/design.md §5).

    Its data is the ``source`` tab's rows (``None``: the declaring tab), kept
    by ``filter``, one row per x value when ``aggregate`` is ``sum``, sorted by
    ``x``; ``split_by`` turns each series into one per value of that column
    (e.g. orders per market). Columns are header labels of the source tab.
    """

    title: str
    type: ChartType
    x: str
    series: tuple[SeriesSpec, ...]
    position: ChartPosition
    source: str | None = None
    filter: ChartFilter = field(default_factory=ChartFilter)
    aggregate: Aggregate = Aggregate.NONE
    split_by: str | None = None
    width: int = DEFAULT_CHART_WIDTH
    height: int = DEFAULT_CHART_HEIGHT

    def source_title(self, tab: str) -> str:
        """The tab the chart reads, given the title of the tab declaring it."""
        return self.source or tab

    def sheet_title(self, tab: str) -> str:
        """The sheet the chart is drawn on, given the title of the tab declaring it."""
        return self.position.sheet or tab

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column the chart reads, each once, x first."""
        names = [self.x, *(c for s in self.series for c in s.columns), *self.filter.columns]
        if self.split_by:
            names.append(self.split_by)
        return tuple(dict.fromkeys(names))
