"""The current names of the fields Google's Sheets API v4 marks deprecated.

Google's discovery document (``sheets.v4.json``) deprecates every plain
``Color`` field in favour of a ``ColorStyle`` twin named ``<field>Style``
(``backgroundColor`` → ``backgroundColorStyle``, ``textFormat.foregroundColor``
→ ``foregroundColorStyle``, ``tabColor``, a border's ``color``, chart colours …),
and a filter's ``criteria`` map in favour of the ``filterSpecs`` list. Google
still accepts and answers both, so nothing breaks the day it stops — but a
field it stops accepting would. The product sends only the current names; what
it reads back (answers carry both twins) is compared and echoed in the current
form too, so a next-day sync still finds "already there" and sends nothing.
"""

from __future__ import annotations

from typing import Any

DEPRECATED_COLOURS = frozenset(
    {
        "backgroundColor",  # CellFormat, ChartSpec, SlicerSpec, SortSpec
        "foregroundColor",  # TextFormat, SortSpec
        "tabColor",  # SheetProperties
        "color",  # Border, EmbeddedObjectBorder, chart series, points, interpolation points
        "firstBandColor",  # BandingProperties
        "secondBandColor",
        "headerColor",  # BandingProperties, TreemapChartSpec
        "footerColor",
        "negativeColor",  # BaselineValueFormat
        "positiveColor",
        "bubbleBorderColor",  # BubbleChartSpec
        "visibleBackgroundColor",  # FilterCriteria
        "visibleForegroundColor",
        "barColor",  # HistogramSeries
        "nodeColor",  # OrgChartSpec
        "selectedNodeColor",
        "maxValueColor",  # TreemapChartColorScale
        "midValueColor",
        "minValueColor",
        "noDataColor",
    }
)
"""Every ``Color`` field the discovery document deprecates; each one's current twin
is the same name plus ``Style`` (a ``ColorStyle``: ``rgbColor`` or ``themeColor``)."""
DEPRECATED_CRITERIA = "criteria"
"""BasicFilter / FilterView ``criteria`` (column index → FilterCriteria): now ``filterSpecs``."""


def style_key(key: str) -> str | None:
    """The current twin of a deprecated colour field, or None for any other key."""
    return f"{key}Style" if key in DEPRECATED_COLOURS else None


def colour_key(key: str) -> str | None:
    """The deprecated twin a ``…Style`` key stands for, or None for any other key."""
    plain = key.removesuffix("Style")
    return plain if plain != key and plain in DEPRECATED_COLOURS else None


def current_fields(value: Any) -> Any:
    """A copy of what Google answered, fit to send back: current fields only.

    Google answers a colour under both twins; the deprecated one is dropped, or
    moved into its ``…Style`` twin when only it was answered. A filter's
    ``criteria`` becomes ``filterSpecs`` unless those were answered too.
    """
    if isinstance(value, list):
        return [current_fields(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        style = style_key(key)
        if style is not None and isinstance(item, dict):
            if style not in value:
                out[style] = {"rgbColor": dict(item)}
        elif key == DEPRECATED_CRITERIA and isinstance(item, dict):
            if "filterSpecs" not in value:
                out["filterSpecs"] = current_fields(_filter_specs(item))
        else:
            out[key] = current_fields(item)
    return out


def _filter_specs(criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"3": FilterCriteria}`` → ``[{"columnIndex": 3, "filterCriteria": ...}]``."""
    return [
        {"columnIndex": int(column), "filterCriteria": criteria[column]}
        for column in sorted((c for c in criteria if str(c).isdigit()), key=int)
    ]
