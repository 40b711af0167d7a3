"""The ``series:`` of a chart: plain columns and ratios of sums, parsed and checked.

A series is a numeric column of the chart's source, or a ratio
``{ratio: [numerator, denominator]}``: both columns summed over the rows of an
x value (and of a split value), then divided. The ratio is how a rate is drawn
across categories or markets: a rate column cannot be summed, its counts can
(docs/design.md §5). Checks that need only the series run here at parse time;
those against the source's columns run in :func:`check_series_columns`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sheets_sync.tab_templates.checks import enum_value, headers, items, mapping
from sheets_sync.tab_templates.model import (
    Aggregate,
    Axis,
    ChartSpec,
    ChartType,
    ColumnType,
    SeriesSpec,
    SeriesType,
)
from sheets_sync.tab_templates.source import Where

SERIES_KEYS = {"column", "ratio", "axis", "type", "label"}
_RIGHT_AXIS = {ChartType.COLUMN, ChartType.LINE, ChartType.COMBO}
_NO_RATIO = {ChartType.PIE: "slices of a whole", ChartType.STACKED_COLUMN: "stacked parts"}
"""Charts whose series add up to a whole, which ratios never do."""


def required_text(value: Any, key: str, where: Where, fix: str) -> str:
    """``value`` as non-empty text, or the file:line message with ``fix``."""
    if not isinstance(value, str) or not value.strip():
        raise where.fail(
            key, "missing or empty" if value is None else f"{value!r} is not text", fix
        )
    return value


def parse_series(value: Any, kind: ChartType, key: str, where: Where) -> tuple[SeriesSpec, ...]:
    """The chart's series, at least one."""
    raw = items(value, key, where)
    if not raw:
        raise where.fail(key, "no series", "list the columns to plot, e.g. `series: [Paid amount]`")
    return tuple(_series(item, kind, f"{key}[{j}]", where) for j, item in enumerate(raw))


def _series(item: Any, kind: ChartType, key: str, where: Where) -> SeriesSpec:
    if isinstance(item, str):
        item = {"column": item}
    raw = mapping(item, key, where)
    where.check_keys(raw, SERIES_KEYS, f"{key}.")
    column, per = _columns(raw, key, where)
    axis = enum_value(Axis, raw.get("axis", "left"), f"{key}.axis", where)
    series_type = None
    if "type" in raw:
        if kind is not ChartType.COMBO:
            raise where.fail(
                f"{key}.type", f"a {kind.value} chart draws every series alike",
                "remove `type:` (only combo charts mix columns and lines)",
            )  # fmt: skip
        series_type = enum_value(SeriesType, raw["type"], f"{key}.type", where)
    if axis is Axis.RIGHT and kind not in _RIGHT_AXIS:
        raise where.fail(
            f"{key}.axis", f"a {kind.value} chart has no right axis",
            "remove `axis: right`, or use a column, line or combo chart",
        )  # fmt: skip
    label = raw.get("label")
    return SeriesSpec(column, axis, series_type, str(label) if label is not None else None, per)


def _columns(raw: Mapping[str, Any], key: str, where: Where) -> tuple[str, str | None]:
    """(column, None) for a plain series; (numerator, denominator) for a ratio."""
    if "ratio" not in raw:
        column = required_text(
            raw.get("column"), f"{key}.column", where, "e.g. `column: Orders created`"
        )
        return column, None
    if "column" in raw:
        raise where.fail(
            key, "both `column:` and `ratio:`",
            "keep `ratio: [numerator, denominator]` for a rate, or `column:` for a column",
        )  # fmt: skip
    pair = raw["ratio"]
    fix = "name the numerator and the denominator, e.g. `ratio: [Counter-offers, Inspected]`"
    if not isinstance(pair, list) or len(pair) != 2:
        raise where.fail(f"{key}.ratio", f"{pair!r} is not two columns", fix)
    numerator, denominator = (required_text(c, f"{key}.ratio", where, fix) for c in pair)
    if numerator == denominator:
        raise where.fail(f"{key}.ratio", f"{numerator!r} divided by itself is always 1", fix)
    return numerator, denominator


def check_ratio_shape(chart: ChartSpec, key: str, where: Where) -> None:
    """A ratio divides sums (so the chart sums) and is never a part of a whole."""
    for j, series in enumerate(chart.series):
        if series.per is None:
            continue
        name = f"{key}.series[{j}].ratio"
        if chart.type in _NO_RATIO:
            raise where.fail(
                name, f"a {chart.type.value} chart draws {_NO_RATIO[chart.type]}, "
                "and ratios are not parts of a whole",
                "draw the rate on a line or column chart",
            )  # fmt: skip
        if chart.aggregate is not Aggregate.SUM:
            raise where.fail(
                name, "a ratio divides sums, and the chart does not sum",
                "add `aggregate: sum` to the chart (numerator and denominator are summed "
                "per x value, then divided)",
            )  # fmt: skip


def check_series_columns(
    chart: ChartSpec, key: str, types: Mapping[str, ColumnType], of: str, where: Where
) -> None:
    """Every series reads numeric columns ``of`` the source that add up when summed."""
    known = list(types)
    for j, series in enumerate(chart.series):
        name = f"{key}.series[{j}]" + (".ratio" if series.per else "")
        headers(list(series.columns), known, name, where, of)
        for column in series.columns:
            if not types[column].is_numeric:
                raise where.fail(
                    name, f"{column!r} is {types[column].value}, not a number",
                    f"plot a numeric column of {of}",
                )  # fmt: skip
            if chart.aggregate is Aggregate.SUM and types[column] is ColumnType.PERCENT:
                fix = (
                    "divide the counts the rate is made of, e.g. "
                    "`ratio: [Counter-offers, Inspected]`"
                    if series.per
                    else "plot the counts the rate is made of as "
                    "`{ratio: [numerator, denominator]}`, or remove `aggregate: sum`"
                )
                raise where.fail(name, f"{column!r} is a rate, and rates do not add up", fix)
