"""Native charts declared by templates, planned into the one structural batch.

Each chart is drawn over a small table of its own (:mod:`sheets_sync.backends.
chart_data`: the source tab's rows filtered, split, summed and sorted by x) kept
on a hidden managed sheet per declaring tab, ``<tab> · chart data``, one block
of columns per chart, left to right, an empty column between blocks. The
table's cells are written by ``updateCells`` in the same batch as the charts,
so a chart and its data always change together; its source ranges cover
exactly the block's header and rows after every sync.

Which charts are ours is kept in developer metadata (:data:`.state.CHART_KEY`,
on the spreadsheet, value ``{"tab", "title", "chartId"}``), never guessed from
titles: a chart a person added is never touched, one they deleted is drawn
again, one the template no longer declares is deleted. A chart whose spec and
position already match what would be sent (compared on the fields we send:
Google adds its own defaults) costs nothing; so does data that has not changed.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.backends.chart_data import ChartTable, chart_tables
from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.cells import number_format, same_cell, to_cell
from sheets_sync.backends.gsheets.state import CHART_KEY, BookState
from sheets_sync.errors import DestinationError
from sheets_sync.frame import TabFrame
from sheets_sync.limits import GOOGLE_MAX_TITLE_CHARS
from sheets_sync.tab_templates.model import Axis, ChartSpec, ChartType, SeriesType, TabTemplate

DATA_SUFFIX = " · chart data"
ROW_PIXELS, COLUMN_PIXELS = 21, 100  # Google's default row height and column width
BASIC_TYPES = {
    ChartType.COLUMN: "COLUMN",
    ChartType.STACKED_COLUMN: "COLUMN",
    ChartType.LINE: "LINE",
    ChartType.COMBO: "COMBO",
    ChartType.BAR: "BAR",
}
POSITION_FIELDS = "anchorCell,offsetXPixels,offsetYPixels,widthPixels,heightPixels"
SheetIdOf = Callable[[str], tuple[int, bool]]


def data_title(tab: str) -> str:
    """The hidden sheet holding a tab's chart tables (cut so it stays a valid title)."""
    return tab[: GOOGLE_MAX_TITLE_CHARS - len(DATA_SUFFIX)] + DATA_SUFFIX


def chart_room(frames: Sequence[TabFrame]) -> dict[str, tuple[int, int]]:
    """Rows and columns each host sheet needs so every chart floating on it fits its grid."""
    room: dict[str, tuple[int, int]] = {}
    for frame in frames:
        for chart in frame.template.charts:
            host = chart.sheet_title(frame.title)
            at = chart.position
            rows = at.row + math.ceil((at.offset_y + chart.height) / ROW_PIXELS) + 1
            cols = at.column + math.ceil((at.offset_x + chart.width) / COLUMN_PIXELS) + 1
            have = room.get(host, (0, 0))
            room[host] = (max(have[0], rows), max(have[1], cols))
    return room


@dataclass
class ChartPlan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    cells: dict[str, int] = field(default_factory=dict)  # tab → data cells sent


def plan_charts(state: BookState, frames: Sequence[TabFrame], sheet_id: SheetIdOf) -> ChartPlan:
    """Data sheets, charts to add, update or delete, and tags, for every frame's template."""
    plan = ChartPlan()
    by_title = {f.title: f for f in frames}
    taken = {c["chartId"] for s in state.sheets.values() for c in s.charts} | state.sheet_ids
    for frame in frames:
        tables = chart_tables(frame.template.charts, frame.title, by_title.get)
        plan.requests.extend(_undeclared(state, frame.template))
        plan.requests.extend(_data_sheet(state, frame.title, tables, sheet_id, plan))
        for table, column in zip(tables, _offsets(tables), strict=True):
            plan.requests.extend(
                _one_chart(state, frame.template, table, column, sheet_id, taken, set(by_title))
            )
    return plan


def _offsets(tables: Sequence[ChartTable]) -> list[int]:
    out, column = [], 0
    for table in tables:
        out.append(column)
        column += table.width + 1
    return out


# -- the hidden data sheet ------------------------------------------------------


def _data_sheet(
    state: BookState,
    tab: str,
    tables: Sequence[ChartTable],
    sheet_id: SheetIdOf,
    plan: ChartPlan,
) -> list[dict[str, Any]]:
    title = data_title(tab)
    if not tables:
        sheet = state.sheets.get(title)
        ours = sheet is not None and state.tab_tags.get(sheet.sheet_id) == title
        return [{"deleteSheet": {"sheetId": sheet.sheet_id}}] if sheet and ours else []
    data_id, new = sheet_id(title)
    grid = _block_grid(tables)
    rows, cols = len(grid), len(grid[0])
    out: list[dict[str, Any]] = []
    if new:
        add = structure.add_sheet(data_id, title, rows, cols, frozen=(0, 0))
        add["addSheet"]["properties"]["hidden"] = True
        out += [add, structure.tag_sheet(data_id, title)]
    else:
        sheet = state.sheets[title]
        if (sheet.row_count, sheet.col_count) != (rows, cols):
            out.append(structure.resize(data_id, rows, cols, (0, 0)))
        elif _same_values(state.values.get(title, []), grid):
            return out
    out.append(_write_grid(data_id, grid))
    out.extend(_formats(data_id, tables, rows))
    plan.cells[tab] = sum(1 for row in grid for value in row if value is not None)
    return out


def _block_grid(tables: Sequence[ChartTable]) -> list[list[Any]]:
    """Every chart's table side by side, padded with empty cells; at least two rows so a
    chart with no data still has a (blank) row to point at."""
    height = max(2, *(t.height for t in tables))
    width = sum(t.width + 1 for t in tables) - 1
    grid: list[list[Any]] = [[None] * width for _ in range(height)]
    for table, c0 in zip(tables, _offsets(tables), strict=True):
        for i, row in enumerate((table.headers, *table.rows)):
            grid[i][c0 : c0 + len(row)] = row
    return grid


def _same_values(read: list[list[Any]], grid: list[list[Any]]) -> bool:
    """Whether the sheet (a FORMULA/SERIAL_NUMBER read) already shows the grid's values."""
    for i, row in enumerate(grid):
        have = read[i] if i < len(read) else []
        for j, value in enumerate(row):
            current = have[j] if j < len(have) else None
            if not same_cell(current, to_cell(value)):
                return False
    return len(read) <= len(grid) and all(len(r) <= len(grid[0]) for r in read)


def _write_grid(data_id: int, grid: list[list[Any]]) -> dict[str, Any]:
    """The whole grid in one updateCells: cells outside the tables are cleared."""
    rows = [{"values": [_cell_data(value) for value in row]} for row in grid]
    rng = structure.grid(data_id, 0, len(grid), 0, len(grid[0]))
    return {"updateCells": {"rows": rows, "range": rng, "fields": "userEnteredValue"}}


def _formats(data_id: int, tables: Sequence[ChartTable], rows: int) -> list[dict[str, Any]]:
    """One number format per table column below its header (dates stay dates on the axis):
    a repeatCell per column costs less than a format in every cell."""
    out = []
    for table, c0 in zip(tables, _offsets(tables), strict=True):
        for j, kind in enumerate(table.types):
            fmt = number_format(kind, kind.default_format)
            if fmt is not None and rows > 1:
                out.append(
                    {
                        "repeatCell": {
                            "range": structure.grid(data_id, 1, rows, c0 + j, c0 + j + 1),
                            "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                            "fields": "userEnteredFormat.numberFormat",
                        }
                    }
                )
    return out


def _cell_data(value: Any) -> dict[str, Any]:
    """A CellData written as typed RAW (text stays text, even ``=…``); {} clears it."""
    cell = to_cell(value)
    if isinstance(cell, bool):
        return {"userEnteredValue": {"boolValue": cell}}
    if isinstance(cell, int | float):
        return {"userEnteredValue": {"numberValue": cell}}
    return {"userEnteredValue": {"stringValue": cell}} if cell != "" else {}


# -- the charts -----------------------------------------------------------------


def _one_chart(
    state: BookState,
    template: TabTemplate,
    table: ChartTable,
    column: int,
    sheet_id: SheetIdOf,
    taken: set[int],
    run: set[str],
) -> list[dict[str, Any]]:
    chart = table.chart
    data_id, _ = sheet_id(data_title(template.title))
    spec = chart_spec(table, data_id, column)
    position = _position(chart, template.title, sheet_id, run, state)
    tag = state.chart_tags.get((template.title, chart.title))
    existing = _existing(state, tag.chart_id) if tag is not None else None
    if existing is not None:
        return _updates(existing, spec, position)
    chart_id = tag.chart_id if tag is not None else _new_id(template.title, chart, taken)
    embedded = {"chartId": chart_id, "spec": spec, "position": position}
    out: list[dict[str, Any]] = [{"addChart": {"chart": embedded}}]
    if tag is None:
        out.append(_tag(template.title, chart.title, chart_id))
    return out


def _updates(
    existing: dict[str, Any], spec: dict[str, Any], position: dict[str, Any]
) -> list[dict[str, Any]]:
    """What an existing chart of ours needs: nothing when Google already holds it all."""
    chart_id = existing["chartId"]
    out: list[dict[str, Any]] = []
    if not covers(existing.get("spec"), spec):
        out.append({"updateChartSpec": {"chartId": chart_id, "spec": spec}})
    if not covers(existing.get("position"), position):
        move = {"objectId": chart_id, "newPosition": position, "fields": POSITION_FIELDS}
        out.append({"updateEmbeddedObjectPosition": move})
    return out


def chart_spec(table: ChartTable, data_id: int, column: int) -> dict[str, Any]:
    """The ChartSpec Google draws: a pie, or a basic chart with a header row."""
    chart = table.chart
    bottom = table.height if table.rows else 2

    def source(j: int, first: int) -> dict[str, Any]:
        rng = structure.grid(data_id, first, bottom, column + j, column + j + 1)
        return {"sourceRange": {"sources": [rng]}}

    if chart.type is ChartType.PIE:
        pie = {"legendPosition": "RIGHT_LEGEND", "domain": source(0, 1), "series": source(1, 1)}
        return {"title": chart.title, "pieChart": pie}
    bar = chart.type is ChartType.BAR
    basic: dict[str, Any] = {
        "chartType": BASIC_TYPES[chart.type],
        "legendPosition": "BOTTOM_LEGEND",
        "axis": [{"position": "LEFT_AXIS" if bar else "BOTTOM_AXIS", "title": chart.x}],
        "domains": [{"domain": source(0, 0)}],
        "series": [_series(table, j, source(j + 1, 0)) for j in range(len(table.series))],
        "headerCount": 1,
    }
    if chart.type is ChartType.STACKED_COLUMN:
        basic["stackedType"] = "STACKED"
    return {"title": chart.title, "basicChart": basic}


def _series(table: ChartTable, j: int, data: dict[str, Any]) -> dict[str, Any]:
    spec = table.series[j]
    chart_type = table.chart.type
    if chart_type is ChartType.BAR:
        axis = "BOTTOM_AXIS"
    else:
        axis = "RIGHT_AXIS" if spec.axis is Axis.RIGHT else "LEFT_AXIS"
    out: dict[str, Any] = {"series": data, "targetAxis": axis}
    if chart_type is ChartType.COMBO:
        out["type"] = "LINE" if spec.type is SeriesType.LINE else "COLUMN"
    return out


def _position(
    chart: ChartSpec, tab: str, sheet_id: SheetIdOf, run: set[str], state: BookState
) -> dict[str, Any]:
    host = chart.sheet_title(tab)
    host_id, new = sheet_id(host)
    at = chart.position
    if new and host not in run:
        raise DestinationError(
            f"chart {chart.title!r} of tab {tab!r} is placed on sheet {host!r}, which this "
            f"run does not write and the spreadsheet does not have; sync {host!r} too"
        )
    sheet = state.sheets.get(host)
    if host not in run and sheet and (at.row >= sheet.row_count or at.column >= sheet.col_count):
        raise DestinationError(
            f"chart {chart.title!r} of tab {tab!r} is anchored at {at.cell} of sheet {host!r}, "
            f"outside its {sheet.row_count} × {sheet.col_count} grid; sync {host!r} with "
            f"{tab!r} (its grid grows to fit) or move the chart"
        )
    anchor = {"sheetId": host_id, "rowIndex": at.row, "columnIndex": at.column}
    overlay = {"anchorCell": anchor, "offsetXPixels": at.offset_x, "offsetYPixels": at.offset_y}
    overlay.update(widthPixels=chart.width, heightPixels=chart.height)
    return {"overlayPosition": overlay}


def _existing(state: BookState, chart_id: int) -> dict[str, Any] | None:
    for sheet in state.sheets.values():
        for chart in sheet.charts:
            if chart.get("chartId") == chart_id:
                return chart
    return None


def _new_id(tab: str, chart: ChartSpec, taken: set[int]) -> int:
    """A stable id per (tab, chart title), moved off any id already in the spreadsheet."""
    chart_id = zlib.crc32(f"{tab}\x1f{chart.title}".encode()) & 0x3FFFFFFF or 1
    while chart_id in taken:
        chart_id = (chart_id * 31 + 7) & 0x3FFFFFFF or 1
    taken.add(chart_id)
    return chart_id


def _tag(tab: str, title: str, chart_id: int) -> dict[str, Any]:
    value = json.dumps({"tab": tab, "title": title, "chartId": chart_id}, ensure_ascii=False)
    meta = {"metadataKey": CHART_KEY, "metadataValue": value, "location": {"spreadsheet": True}}
    return {"createDeveloperMetadata": {"developerMetadata": {**meta, "visibility": "DOCUMENT"}}}


def _undeclared(state: BookState, template: TabTemplate) -> list[dict[str, Any]]:
    """Our charts of this tab that its template no longer declares: chart and tag go."""
    declared = {c.title for c in template.charts}
    out: list[dict[str, Any]] = []
    for (tab, title), tag in sorted(state.chart_tags.items()):
        if tab != template.title or title in declared:
            continue
        if _existing(state, tag.chart_id) is not None:
            out.append({"deleteEmbeddedObject": {"objectId": tag.chart_id}})
        lookup = {"developerMetadataLookup": {"metadataId": tag.metadata_id}}
        out.append({"deleteDeveloperMetadata": {"dataFilter": lookup}})
    return out


def covers(answer: Any, sent: Any) -> bool:
    """Whether Google's ``answer`` already holds everything in ``sent``.

    Only what we send is compared: Google adds defaults of its own (fonts, the
    hidden-rows strategy, a border) and leaves zeros and sheet 0 out.
    """
    if isinstance(sent, Mapping):
        if not isinstance(answer, Mapping):
            return False
        return all(covers(answer[k], v) if k in answer else _is_default(v) for k, v in sent.items())
    if isinstance(sent, list) and sent and all(_is_axis(item) for item in sent):
        # Google answers every axis the chart has (with formats), not just those sent.
        have = (
            {a.get("position"): a for a in answer if _is_axis(a)}
            if isinstance(answer, list)
            else {}
        )
        return all(covers(have.get(item["position"]), item) for item in sent)
    if isinstance(sent, list):
        return (
            isinstance(answer, list)
            and len(answer) == len(sent)
            and all(covers(a, s) for a, s in zip(answer, sent, strict=True))
        )
    return bool(answer == sent)


def _is_axis(value: Any) -> bool:
    return isinstance(value, Mapping) and str(value.get("position", "")).endswith("_AXIS")


def _is_default(value: Any) -> bool:
    return value in (0, False, "", None) or value == [] or value == {}
