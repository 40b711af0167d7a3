"""Template charts as native openpyxl charts (docs/design.md §5, §6), drawn over their tables.

A chart plots its :class:`~sheets_sync.backends.chart_data.ChartTable` (the
source tab's rows filtered, split and summed), which the workbook keeps on one
hidden managed sheet per declaring tab, ``<tab> · chart data`` (so a tab's
charts and their data are rebuilt together, whatever else the run syncs): each
chart's table is a block of its own (a title row, a header row, then the
data), blocks side by side. A chart's
references cover exactly the block's current data rows, so a re-sync with
fewer or more rows draws over exactly the new data. Managed sheets are rebuilt
on every sync, so our charts are replaced with them; the team's charts on
their own sheets are never touched.

:func:`build_chart` is pure (a table and its place → openpyxl chart objects),
so any workbook writer can serialise the same charts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.chart._chart import ChartBase
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
from openpyxl.drawing.xdr import XDRPositiveSize2D
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.chart_data import ChartTable, chart_tables
from sheets_sync.backends.xlsx import cells
from sheets_sync.frame import TabFrame
from sheets_sync.limits import XLSX_MAX_TITLE_CHARS
from sheets_sync.tab_templates.model import (
    Axis,
    ChartSpec,
    ChartType,
    ColumnSpec,
    ColumnType,
    SeriesType,
)

DATA_SUFFIX = " · chart data"
EMU_PER_PIXEL = 9525
CM_PER_PIXEL = 2.54 / 96
SECOND_AXIS_ID = 200
TITLE_ROW, HEADER_ROW, FIRST_DATA_ROW = 1, 2, 3
_TITLE_FONT = Font(bold=True, italic=True)


@dataclass(frozen=True)
class Placed:
    """A chart's table and where its block starts on the data sheet (1-based column)."""

    tab: str
    table: ChartTable
    column: int

    @property
    def sheet(self) -> str:
        """The sheet the chart is drawn on."""
        return self.table.chart.sheet_title(self.tab)


def data_title(tab: str) -> str:
    """The hidden sheet holding the tables of ``tab``'s charts, the tab's title cut where a
    workbook's 31 characters would not hold it (``Pricing opportunit · chart data``); two tabs
    cut to the same title are refused before writing (:func:`..backend._check_data_titles`)."""
    room = XLSX_MAX_TITLE_CHARS - len(DATA_SUFFIX)
    return f"{tab if len(tab) <= room else tab[:room].rstrip()}{DATA_SUFFIX}"


def collect(frame: TabFrame, frames: Sequence[TabFrame]) -> list[Placed]:
    """The tab's charts with their tables, blocks side by side, a blank column apart."""
    by_title = {f.title: f for f in frames}
    placed, column = [], 1
    for table in chart_tables(frame.template.charts, frame.title, by_title.get):
        placed.append(Placed(frame.title, table, column))
        column += table.width + 1
    return placed


def write_tables(ws: Worksheet, placed: Sequence[Placed]) -> None:
    """Each block: the chart's title, its header row, its rows typed like the source."""
    for item in placed:
        table = item.table
        title = ws.cell(row=TITLE_ROW, column=item.column, value=table.chart.title)
        title.font = _TITLE_FONT
        specs = [ColumnSpec(h, h, t) for h, t in zip(table.headers, table.types, strict=True)]
        at = list(range(item.column, item.column + table.width))
        for index, header in zip(at, table.headers, strict=True):
            cells.set_value(ws.cell(row=HEADER_ROW, column=index), header)
            ws.cell(row=HEADER_ROW, column=index).font = cells.HEADER_FONT
        styles = cells.ColumnStyles(ws, specs)
        cells.write_rows(ws, table.rows, styles, first_row=FIRST_DATA_ROW, positions=at)


# -- one chart ---------------------------------------------------------------------


def build_chart(table: ChartTable, data: str, column: int) -> ChartBase:
    """The openpyxl chart of ``table``, whose block starts at ``column`` of the sheet titled
    ``data``. References are built from the title alone (no worksheet object), so a writer
    that streams the sheets' XML can serialise the same chart."""
    spec = table.chart
    kind = spec.type
    main = _new_chart(kind)
    second: ChartBase | None = None
    for j, series in enumerate(table.series):
        target = main
        if _on_second(kind, series.axis, series.type):
            second = second or _second_chart(kind)
            target = second
        target.add_data(_values(data, column + 1 + j, len(table.rows)), titles_from_data=True)
        if isinstance(target, LineChart):
            target.series[-1].smooth = False  # straight segments: no invented curve between weeks
    for chart in (main, second):
        if chart is not None:
            chart.set_categories(_categories(data, column, len(table.rows)))
    _style(main, table)
    if second is not None:
        _style_second(second, table)
        _same_scale(main, second, table)
        main += second
    main.title = spec.title
    main.width, main.height = spec.width * CM_PER_PIXEL, spec.height * CM_PER_PIXEL
    main.anchor = anchor(spec)
    return main


def _new_chart(kind: ChartType) -> ChartBase:
    if kind is ChartType.PIE:
        return PieChart()
    if kind is ChartType.LINE:
        return LineChart()
    chart = BarChart()
    chart.type = "bar" if kind is ChartType.BAR else "col"
    if kind is ChartType.STACKED_COLUMN:
        chart.grouping, chart.overlap = "stacked", 100
    return chart


def _on_second(kind: ChartType, axis: Axis, series_type: SeriesType | None) -> bool:
    """Combo: lines go on the second chart; column and line charts: right-axis series."""
    if kind is ChartType.COMBO:
        return series_type is SeriesType.LINE
    return axis is Axis.RIGHT


def _second_chart(kind: ChartType) -> ChartBase:
    """The chart overlaid on the right axis (a line for combo charts)."""
    return BarChart() if kind is ChartType.COLUMN else LineChart()


def _values(data: str, column: int, rows: int) -> Reference:
    """The header cell (the series name) and exactly the data rows below it."""
    return _reference(data, column, HEADER_ROW, HEADER_ROW + max(rows, 1))


def _categories(data: str, column: int, rows: int) -> Reference:
    return _reference(data, column, FIRST_DATA_ROW, FIRST_DATA_ROW + max(rows, 1) - 1)


def _reference(sheet: str, column: int, first: int, last: int) -> Reference:
    letter = get_column_letter(column)
    return Reference(range_string=f"{quote_sheetname(sheet)}!${letter}${first}:${letter}${last}")


def _style(chart: ChartBase, table: ChartTable) -> None:
    """Visible axes (openpyxl hides them by default), number formats from the column types."""
    if isinstance(chart, PieChart):
        return
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.number_format = _format(table.types[0]) or "General"
    left = [t for s, t in zip(table.series, table.types[1:], strict=True) if s.axis is Axis.LEFT]
    values = left or table.types[1:2]  # none: a split chart over no data has no series yet
    chart.y_axis.number_format = (_format(values[0]) if values else None) or "General"
    chart.legend.position = "b"
    if isinstance(chart, BarChart) and chart.type == "bar":
        chart.x_axis.scaling.orientation = "maxMin"  # the table's first row on top, as read


def _style_second(chart: ChartBase, table: ChartTable) -> None:
    chart.y_axis.axId = SECOND_AXIS_ID
    chart.y_axis.crosses = "max"
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    right = [t for s, t in zip(table.series, table.types[1:], strict=True) if s.axis is Axis.RIGHT]
    chart.y_axis.number_format = _format(right[0] if right else table.types[-1]) or "General"


def _same_scale(left: ChartBase, right: ChartBase, table: ChartTable) -> None:
    """Both axes on one scale when their series are in one unit (paid amount vs its
    target): two independent scales would draw a target line that means nothing."""
    if len(set(table.types[1:])) != 1:
        return
    numbers = [float(v) for r in table.rows for v in r[1:] if isinstance(v, int | float | Decimal)]
    if not numbers or min(numbers) < 0 or max(numbers) <= 0:
        return
    top = nice_ceiling(max(numbers))
    for chart in (left, right):
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, top


def nice_ceiling(value: float) -> float:
    """The next round number at or above ``value`` (1, 1.5, 2, … 10 × a power of ten)."""
    step = 10 ** math.floor(math.log10(value)) / 2
    return math.ceil(value / step) * step


def _format(kind: ColumnType) -> str | None:
    return kind.default_format


def anchor(spec: ChartSpec) -> OneCellAnchor:
    """The chart's top-left cell (0-based) plus pixel offsets, and its size in pixels."""
    at = spec.position
    marker = AnchorMarker(
        col=at.column, colOff=at.offset_x * EMU_PER_PIXEL,
        row=at.row, rowOff=at.offset_y * EMU_PER_PIXEL,
    )  # fmt: skip
    size = XDRPositiveSize2D(cx=spec.width * EMU_PER_PIXEL, cy=spec.height * EMU_PER_PIXEL)
    return OneCellAnchor(_from=marker, ext=size)


def draw(placed: Sequence[Placed], data: Worksheet, sheet_of: Callable[[str], Worksheet]) -> None:
    """Build and add each chart to the sheet it is declared on."""
    for item in placed:
        sheet_of(item.sheet).add_chart(build_chart(item.table, data.title, item.column))
