"""The ``charts:`` of a tab template: parsed into :class:`ChartSpec` and validated.

Checks that need only the file run in :func:`parse_charts` (types, anchors,
sizes, what each chart type allows, and the columns when the chart reads its
own tab). Checks that need the other templates — a chart reading another tab
or drawn on another tab's sheet — run in :func:`check_chart_sources` once
every template is loaded; that file is read again only to point at the line.
A chart whose source is not among the loaded templates at all is refused there
too, so the backends always find the source's columns by header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sheets_sync.tab_templates.chart_series import (
    check_ratio_shape,
    check_series_columns,
    parse_series,
    required_text,
)
from sheets_sync.tab_templates.checks import enum_value, headers, items, mapping
from sheets_sync.tab_templates.model import (
    DEFAULT_CHART_HEIGHT,
    DEFAULT_CHART_WIDTH,
    Aggregate,
    Axis,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnSpec,
    ColumnType,
    EqualsFilter,
    LastPeriods,
    PeriodUnit,
    SeriesType,
    TabTemplate,
)
from sheets_sync.tab_templates.source import Where, read_yaml

CHART_KEYS = {
    "title", "type", "source", "x", "series", "filter", "aggregate", "split_by",
    "position", "size",
}  # fmt: skip
FILTER_KEYS = {"last", "column", "equals", "top"}
POSITION_KEYS = {"cell", "row", "column", "sheet", "offset_x", "offset_y"}
SIZE_KEYS = {"width", "height"}
MIN_PIXELS, MAX_PIXELS = 50, 4000
MAX_COLUMNS = 18_278  # ZZZ, the widest grid either destination has
_CELL = re.compile(r"^([A-Za-z]{1,3})([1-9][0-9]*)$")
_LAST = re.compile(r"^\s*([1-9][0-9]*)\s*(day|week|month)s?\s*$", re.IGNORECASE)
_DATED = {ColumnType.DATE, ColumnType.DATETIME, ColumnType.TEXT}
_SPLITS = {ChartType.COLUMN, ChartType.STACKED_COLUMN, ChartType.LINE, ChartType.BAR}


def parse_charts(
    value: Any, tab: str, columns: tuple[ColumnSpec, ...], where: Where
) -> tuple[ChartSpec, ...]:
    """The tab's charts; those reading the tab itself are checked against its columns."""
    charts: list[ChartSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(items(value, "charts", where)):
        key = f"charts[{i}]"
        chart = _chart(mapping(item, key, where), key, where)
        if chart.title.casefold() in seen:
            raise where.fail(
                f"{key}.title", f"{chart.title!r} is the title of another chart of this tab",
                "give each chart of a tab its own title (it is how sheets-sync finds it again)",
            )  # fmt: skip
        seen.add(chart.title.casefold())
        if chart.source_title(tab) == tab:
            check_chart_columns(chart, key, columns, "this tab", where)
        charts.append(chart)
    return tuple(charts)


def check_chart_sources(templates: Mapping[str, TabTemplate]) -> None:
    """Every chart's source tab and sheet exist, and the source has the chart's columns."""
    for template in templates.values():
        for i, chart in enumerate(template.charts):
            _check_across(template, chart, f"charts[{i}]", templates)


def _check_across(
    template: TabTemplate, chart: ChartSpec, key: str, templates: Mapping[str, TabTemplate]
) -> None:
    source = chart.source_title(template.title)
    sheet = chart.sheet_title(template.title)
    unknown = [(f"{key}.source", source), (f"{key}.position.sheet", sheet)]
    for name, title in unknown:
        if title not in templates:
            where = _where_of(template)
            close = [t for t in templates if t.casefold() == title.casefold()]
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {list(templates)}"
            raise where.fail(name, f"{title!r} is not the title of a tab template", hint)
    if source != template.title:
        of = f"tab {source!r}"
        check_chart_columns(chart, key, templates[source].columns, of, _where_of(template))


def _where_of(template: TabTemplate) -> Where:
    """The template's file with its key lines (read again: only on the way to an error)."""
    if template.source_file is None:
        return Where(Path(template.title))
    return read_yaml(template.source_file)[1]


def check_chart_columns(
    chart: ChartSpec, key: str, columns: tuple[ColumnSpec, ...], of: str, where: Where
) -> None:
    """The chart's columns are headers ``of`` its source; series are numbers that add up."""
    known = [c.header for c in columns]
    types = {c.header: c.type for c in columns}
    headers([chart.x], known, f"{key}.x", where, of)
    check_series_columns(chart, key, types, of, where)
    if chart.split_by:
        headers([chart.split_by], known, f"{key}.split_by", where, of)
    _check_filter_columns(chart.filter, f"{key}.filter", known, types, of, where)


def _check_filter_columns(
    chart_filter: ChartFilter,
    key: str,
    known: list[str],
    types: Mapping[str, ColumnType],
    of: str,
    where: Where,
) -> None:
    last = chart_filter.last
    if last is not None:
        headers([last.column], known, f"{key}.column", where, of)
        if types[last.column] not in _DATED:
            raise where.fail(
                f"{key}.column", f"{last.column!r} is {types[last.column].value}, not a date",
                "count `last:` on a date column, or on a text column such as Week "
                "(YYYY-Www), Month (YYYY-MM) or a YYYY-MM-DD day",
            )  # fmt: skip
    for rule in chart_filter.equals:
        headers([rule.column], known, f"{key}.equals.{rule.column}", where, of)


def _chart(raw: dict[str, Any], key: str, where: Where) -> ChartSpec:
    where.check_keys(raw, CHART_KEYS, f"{key}.")
    title = required_text(raw.get("title"), f"{key}.title", where, "e.g. `title: Weekly orders`")
    kind = enum_value(ChartType, raw.get("type"), f"{key}.type", where)
    x = required_text(
        raw.get("x"), f"{key}.x", where, "name the column of the x axis, e.g. `x: Week`"
    )
    series = parse_series(raw.get("series"), kind, f"{key}.series", where)
    split_by = raw.get("split_by")
    if split_by is not None:
        split_by = required_text(split_by, f"{key}.split_by", where, "e.g. `split_by: Country`")
    chart = ChartSpec(
        title=title,
        type=kind,
        x=x,
        series=series,
        position=_position(raw.get("position"), f"{key}.position", where),
        source=_source(raw.get("source"), f"{key}.source", where),
        filter=_filter(raw.get("filter"), x, f"{key}.filter", where),
        aggregate=enum_value(
            Aggregate, str(raw.get("aggregate", "none")).lower(), f"{key}.aggregate", where
        ),
        split_by=split_by,
        **_size(raw.get("size"), f"{key}.size", where),
    )
    _check_shape(chart, key, where)
    return chart


def _source(value: Any, key: str, where: Where) -> str | None:
    if value is None:
        return None
    return required_text(
        value, key, where, "name the tab the chart reads, e.g. `source: KPI Weekly`"
    )


def _check_shape(chart: ChartSpec, key: str, where: Where) -> None:
    """What the chart's type allows: one pie series, a combo's right-axis line, splits."""
    if chart.type is ChartType.PIE and len(chart.series) != 1:
        raise where.fail(
            f"{key}.series", f"a pie chart shows one series, got {len(chart.series)}",
            "keep one column under `series:`, or use a column chart",
        )  # fmt: skip
    if chart.type is ChartType.COMBO and not any(
        s.axis is Axis.RIGHT and s.type is SeriesType.LINE for s in chart.series
    ):
        raise where.fail(
            f"{key}.series", "a combo chart needs a line on the right axis",
            "mark one series `{column: …, axis: right, type: line}`",
        )  # fmt: skip
    if chart.split_by is not None and chart.type not in _SPLITS:
        raise where.fail(
            f"{key}.split_by", f"a {chart.type.value} chart cannot split its series",
            "remove `split_by:`, or use a column, stacked_column, line or bar chart",
        )  # fmt: skip
    if chart.filter.top is not None and chart.split_by is not None:
        raise where.fail(
            f"{key}.filter.top", "ranks rows by one series, which `split_by` splits",
            "remove `top:` or `split_by:`",
        )  # fmt: skip
    check_ratio_shape(chart, key, where)
    if chart.x in {c for s in chart.series for c in s.columns}:
        raise where.fail(
            f"{key}.x", f"{chart.x!r} is both the x axis and a series",
            "plot other columns than the x axis",
        )  # fmt: skip


def _filter(value: Any, x: str, key: str, where: Where) -> ChartFilter:
    if value is None:
        return ChartFilter()
    raw = mapping(value, key, where)
    where.check_keys(raw, FILTER_KEYS, f"{key}.")
    last = None
    if "last" in raw:
        match = _LAST.match(str(raw["last"]))
        if match is None:
            raise where.fail(
                f"{key}.last", f"{raw['last']!r} is not a period",
                "write a count and a unit, e.g. `last: 13 weeks` (days, weeks or months)",
            )  # fmt: skip
        column = raw.get("column", x)
        column = required_text(
            column, f"{key}.column", where, "name the date column, e.g. `column: Week`"
        )
        last = LastPeriods(column, int(match[1]), PeriodUnit(f"{match[2].lower()}s"))
    elif "column" in raw:
        raise where.fail(f"{key}.column", "names the column of `last:`", "add `last: 13 weeks`")
    equals = mapping(raw.get("equals", {}), f"{key}.equals", where)
    rules = tuple(
        EqualsFilter(str(name), _equal_values(wanted, f"{key}.equals.{name}", where))
        for name, wanted in equals.items()
    )
    top = raw.get("top")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise where.fail(
            f"{key}.top", f"{top!r} is not a whole number ≥ 1",
            "write how many rows to keep, e.g. `top: 10` (the largest first series)",
        )  # fmt: skip
    return ChartFilter(last, rules, top)


def _equal_values(value: Any, key: str, where: Where) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or any(v is None or isinstance(v, dict | list) for v in values):
        raise where.fail(key, f"{value!r} is not a value", "write e.g. `Country: FR` or [FR, DE]")
    return tuple(str(v) for v in values)


def _position(value: Any, key: str, where: Where) -> ChartPosition:
    if value is None:
        raise where.fail(key, "missing", "anchor the chart's top-left corner, e.g. `position: H2`")
    if isinstance(value, str):
        value = {"cell": value}
    raw = mapping(value, key, where)
    where.check_keys(raw, POSITION_KEYS, f"{key}.")
    if "cell" in raw:
        if "row" in raw or "column" in raw:
            raise where.fail(key, "both `cell` and `row`/`column`", "keep only `cell: H2`")
        row, column = _cell(raw["cell"], f"{key}.cell", where)
    else:
        row = _one_based(raw.get("row"), f"{key}.row", where, 1_048_576) - 1
        column = _one_based(raw.get("column"), f"{key}.column", where, MAX_COLUMNS) - 1
    sheet = raw.get("sheet")
    if sheet is not None:
        sheet = required_text(sheet, f"{key}.sheet", where, "name a tab, e.g. `sheet: Dashboard`")
    offsets = {
        name: _pixels(raw.get(name, 0), f"{key}.{name}", where, 0)
        for name in ("offset_x", "offset_y")
    }
    return ChartPosition(row, column, sheet, **offsets)


def _cell(value: Any, key: str, where: Where) -> tuple[int, int]:
    match = _CELL.match(value) if isinstance(value, str) else None
    column = 0
    for letter in match[1].upper() if match else "":
        column = column * 26 + ord(letter) - 64
    if match is None or column > MAX_COLUMNS:
        raise where.fail(
            key, f"{value!r} is not a cell", "write a column letter and a row number, e.g. `H2`"
        )
    return int(match[2]) - 1, column - 1


def _one_based(value: Any, key: str, where: Where, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise where.fail(
            key, "missing" if value is None else f"{value!r} is not between 1 and {top:,}",
            "count rows and columns from 1, as the sheet does (or write `cell: H2`)",
        )  # fmt: skip
    return value


def _size(value: Any, key: str, where: Where) -> dict[str, int]:
    raw = mapping(value if value is not None else {}, key, where)
    where.check_keys(raw, SIZE_KEYS, f"{key}.")
    return {
        "width": _pixels(raw.get("width", DEFAULT_CHART_WIDTH), f"{key}.width", where, MIN_PIXELS),
        "height": _pixels(
            raw.get("height", DEFAULT_CHART_HEIGHT), f"{key}.height", where, MIN_PIXELS
        ),
    }


def _pixels(value: Any, key: str, where: Where, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_PIXELS:
        raise where.fail(
            key, f"{value!r} is not a whole number of pixels from {low} to {MAX_PIXELS}",
            "e.g. `width: 600` and `height: 371` (Google's default chart size)",
        )  # fmt: skip
    return value
