"""The small table a chart plots, computed from its source tab's frame (docs/design.md §6).

Both backends draw a chart over a table of their own rather than over the
source tab: the source tab keeps the team's row order (a keyed tab may be
re-sorted), repeats x values (one row per week × country × category), and
holds more rows than ``filter`` keeps, none of which a native chart can undo
on its own. The table is one header row (x, then one column per plotted
series), then one row per x value in ascending order (per source row when
``aggregate: none`` and nothing is split). A ratio series sums its numerator
and its denominator per x value (and per split value), then divides: a rate
across categories is a ratio of sums, never a sum or an average of rates.
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sheets_sync.clock import as_date
from sheets_sync.errors import DataError
from sheets_sync.frame import Row, TabFrame
from sheets_sync.tab_templates.model import (
    Aggregate,
    ChartSpec,
    ColumnType,
    PeriodUnit,
    SeriesSpec,
)

SPLIT_SEPARATOR = " · "
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class ChartTable:
    """What one chart plots: ``headers[0]`` is x, ``series[i]`` draws column ``i + 1``.

    ``series`` are the template's series, one per column (several per template
    series when the chart splits), each labelled with its column's header.
    ``types`` are the column types, for number formats.
    """

    chart: ChartSpec
    headers: tuple[str, ...]
    types: tuple[ColumnType, ...]
    series: tuple[SeriesSpec, ...]
    rows: tuple[Row, ...]

    @property
    def width(self) -> int:
        return len(self.headers)

    @property
    def height(self) -> int:
        """Rows including the header."""
        return len(self.rows) + 1


def chart_table(chart: ChartSpec, source: TabFrame) -> ChartTable:
    """The chart's table from its source frame: filtered, split, summed, sorted by x."""
    template = source.template
    for name in chart.columns:
        if name not in template.headers:
            raise DataError(
                f"chart {chart.title!r} reads column {name!r}, which tab {source.title!r} "
                f"does not have; fix the chart's columns to be among {template.headers}"
            )
    at = {name: template.column_index(name) for name in chart.columns}
    latest = _latest(chart, source, at)
    rows = [r for r in source.rows if _kept(chart, source, r, at, latest)]
    x_type = template.column(chart.x).type
    series_types = [_series_type(s, template.column(s.column).type) for s in chart.series]
    if chart.split_by is None:
        rows = _summed(chart, rows, at) if chart.aggregate is Aggregate.SUM else rows
        picked = [
            (r[at[chart.x]], *(_point(s, [r[at[c]] for c in s.columns]) for s in chart.series))
            for r in rows
        ]
        out = tuple(sorted(picked, key=lambda r: _order(r[0])))
        if chart.filter.top is not None:
            out = _top(out, chart.filter.top)
        series = tuple(replace(s, label=s.display_name) for s in chart.series)
        headers = (chart.x, *(s.display_name for s in chart.series))
        return ChartTable(chart, headers, (x_type, *series_types), series, out)
    return _split(chart, source.title, rows, at, x_type, series_types)


def _series_type(spec: SeriesSpec, column_type: ColumnType) -> ColumnType:
    """A ratio is drawn as a rate (a fraction, shown in percent), whatever it divides."""
    return ColumnType.PERCENT if spec.per else column_type


def _point(spec: SeriesSpec, sums: Sequence[Any]) -> Any:
    """A plain series' value; a ratio's numerator / denominator, as a fraction.

    No denominator (empty or 0) is no point, never 0: a week nothing was inspected in
    has no counter-offer rate, and a 0 would draw a dip that did not happen.
    """
    if spec.per is None:
        return sums[0]
    numerator, denominator = sums
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _top(rows: Sequence[Row], count: int) -> tuple[Row, ...]:
    """The ``count`` rows with the largest first series, largest first (empty cells last;
    ties keep the x order)."""
    ranked = sorted(rows, key=lambda r: (r[1] is None, -(r[1] or 0)))
    return tuple(ranked[:count])


def _kept(chart: ChartSpec, source: TabFrame, row: Row, at: dict[str, int], latest: int) -> bool:
    for rule in chart.filter.equals:
        if _text(row[at[rule.column]]) not in rule.values:
            return False
    last = chart.filter.last
    if last is None:
        return True
    period = _period(row[at[last.column]], last.unit, chart, source.title, last.column)
    return period is not None and period > latest - last.count


def _latest(chart: ChartSpec, source: TabFrame, at: dict[str, int]) -> int:
    """The latest period of the filter's column over the source's rows (0 without ``last``).

    Computed once per table: a cache keyed by the frame's ``id`` would hand a later
    frame (which may reuse a freed frame's id) the window of an earlier run.
    """
    last = chart.filter.last
    if last is None:
        return 0
    periods = (
        _period(r[at[last.column]], last.unit, chart, source.title, last.column)
        for r in source.rows
    )
    return max((p for p in periods if p is not None), default=0)


def _period(value: Any, unit: PeriodUnit, chart: ChartSpec, tab: str, column: str) -> int | None:
    """A day, ISO week or month number that grows by one per period."""
    day = _as_date(value)
    if day is None:
        if value is None or value == "":
            return None
        raise DataError(
            f"chart {chart.title!r}: {column!r} of tab {tab!r} holds {value!r}, which is not "
            "a date, a week (YYYY-Www), a month (YYYY-MM) or a day (YYYY-MM-DD); fix the "
            "column's values or count `last:` on another column"
        )
    if unit is PeriodUnit.DAYS:
        return day.toordinal()
    if unit is PeriodUnit.WEEKS:
        return (day.toordinal() - day.weekday()) // 7
    return day.year * 12 + day.month - 1


def _as_date(value: Any) -> dt.date | None:
    """A day, or the first day of a week (YYYY-Www) or month (YYYY-MM) label; None if none."""
    if not isinstance(value, str):
        return as_date(value) if isinstance(value, dt.date) else None
    text = value.strip()
    try:
        if match := _WEEK.match(text):
            return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        if match := _MONTH.match(text):
            return dt.date(int(match[1]), int(match[2]), 1)
        return as_date(text)
    except ValueError:
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _order(value: Any) -> tuple[int, Any]:
    """Ascending x, empty cells last; mixed kinds compare as text."""
    if value is None:
        return (2, "")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, dt.datetime):
        return (1, value.isoformat())
    return (1, _text(value))


def _add(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


def _summed(chart: ChartSpec, rows: Sequence[Row], at: dict[str, int]) -> list[Row]:
    """One row per x value (the rest of the row's cells are not read again)."""
    sums: dict[Any, list[Any]] = {}
    columns = {at[c] for s in chart.series for c in s.columns}
    for row in rows:
        total = sums.setdefault(row[at[chart.x]], [None] * len(row))
        for i in columns:
            total[i] = _add(total[i], row[i])
    out = []
    for x, total in sums.items():
        total[at[chart.x]] = x
        out.append(tuple(total))
    return out


def _split(
    chart: ChartSpec,
    tab: str,
    rows: Sequence[Row],
    at: dict[str, int],
    x_type: ColumnType,
    series_types: Sequence[ColumnType],
) -> ChartTable:
    """One column per (series, value of ``split_by``): e.g. orders per market."""
    assert chart.split_by is not None
    split = at[chart.split_by]
    values = sorted({_text(r[split]) for r in rows})
    cells: dict[tuple[Any, int, str], list[Any]] = {}
    for row in rows:
        for j, spec in enumerate(chart.series):
            key = (row[at[chart.x]], j, _text(row[split]))
            if key in cells and chart.aggregate is not Aggregate.SUM:
                raise _repeated(chart, tab, row[at[chart.x]], key[2])
            sums = cells.setdefault(key, [None] * len(spec.columns))
            for i, column in enumerate(spec.columns):
                sums[i] = _add(sums[i], row[at[column]])
    xs = sorted({r[at[chart.x]] for r in rows}, key=_order)
    many = len(chart.series) > 1
    series, types = [], []
    for j, spec in enumerate(chart.series):
        for value in values:
            name = f"{spec.display_name}{SPLIT_SEPARATOR}{value}" if many else value or "(blank)"
            series.append(replace(spec, label=name))
            types.append(series_types[j])
    out = tuple(
        (x, *(_split_point(cells, x, j, spec, v) for j, spec in enumerate(chart.series)
              for v in values))
        for x in xs
    )  # fmt: skip
    headers = (chart.x, *(s.display_name for s in series))
    return ChartTable(chart, headers, (x_type, *types), tuple(series), out)


def _split_point(
    cells: dict[tuple[Any, int, str], list[Any]], x: Any, j: int, spec: SeriesSpec, value: str
) -> Any:
    sums = cells.get((x, j, value))
    return None if sums is None else _point(spec, sums)


def _repeated(chart: ChartSpec, tab: str, x: Any, value: str) -> DataError:
    return DataError(
        f"chart {chart.title!r}: tab {tab!r} has several rows for {chart.x} {_text(x)!r} and "
        f"{chart.split_by} {value!r}, and the chart does not say how to combine them; add "
        "`aggregate: sum` to the chart (for counts and amounts) or filter the rows"
    )


def chart_tables(
    charts: Sequence[ChartSpec], tab: str, frames: Callable[[str], TabFrame | None]
) -> list[ChartTable]:
    """The tables of a tab's charts; ``frames`` finds a source tab's frame by title.

    A source that is not in the run is an error naming the chart and the tab, so
    a chart never points at stale or missing data without saying so.
    """
    tables = []
    for chart in charts:
        source = chart.source_title(tab)
        frame = frames(source)
        if frame is None:
            raise DataError(
                f"chart {chart.title!r} of tab {tab!r} reads tab {source!r}, which this run "
                f"does not compute; sync {source!r} together with {tab!r}"
            )
        tables.append(chart_table(chart, frame))
    return tables
