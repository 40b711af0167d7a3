"""Builders of ``spreadsheets:batchUpdate`` requests for one managed tab.

Each function returns plain request dicts; :mod:`.plan` puts them, for every
tab, into the ONE structural batch Google applies atomically. Presentation
requests (formats, widths, filter, pivots) are idempotent, so sending them on
every sync costs bytes in a request we send anyway, never an extra call.
Ranges that should follow the data (protection, conditional formats) are
whole columns, so new rows are covered without rewriting them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sheets_sync.backends.gsheets.cells import colour_style, number_format
from sheets_sync.backends.gsheets.current import colour_key, current_fields
from sheets_sync.backends.gsheets.state import COLUMN_KEY, TAB_KEY, SheetState
from sheets_sync.tab_templates.model import ConditionalFormat, PivotSpec, TabTemplate

HEADER_BACKGROUND = {"rgbColor": {"red": 0.9, "green": 0.93, "blue": 0.97}}
PROTECTION_TAG = "sheets-sync: managed columns"
NOT_A_NAME = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|true|false)$", re.IGNORECASE)


def grid(sheet_id: int, row0: int, row1: int | None, col0: int, col1: int) -> dict[str, Any]:
    """A GridRange; ``row1=None`` leaves the end open (the whole column below ``row0``)."""
    rng: dict[str, Any] = {"sheetId": sheet_id, "startRowIndex": row0}
    if row1 is not None:
        rng["endRowIndex"] = row1
    rng.update(startColumnIndex=col0, endColumnIndex=col1)
    return rng


def add_sheet(sheet_id: int, title: str, rows: int, cols: int, frozen: tuple[int, int]) -> dict:
    grid_props = {"rowCount": rows, "columnCount": cols}
    grid_props.update(frozenRowCount=frozen[0], frozenColumnCount=frozen[1])
    props = {"sheetId": sheet_id, "title": title, "gridProperties": grid_props}
    return {"addSheet": {"properties": props}}


def rename_sheet(sheet_id: int, title: str) -> dict[str, Any]:
    props = {"sheetId": sheet_id, "title": title}
    return {"updateSheetProperties": {"properties": props, "fields": "title"}}


def move_sheet(sheet_id: int, index: int) -> dict[str, Any]:
    """Move a sheet to ``index`` (counted before the move, as Google does: exact for a
    move towards the front, the only one ``position: first`` makes)."""
    props = {"sheetId": sheet_id, "index": index}
    return {"updateSheetProperties": {"properties": props, "fields": "index"}}


def tag_sheet(sheet_id: int, title: str) -> dict[str, Any]:
    """The sheet-level tag that makes a sheet the product's (see :mod:`.ownership`)."""
    return _tag(TAB_KEY, title, {"sheetId": sheet_id})


def tag_column(sheet_id: int, index: int, header: str) -> dict[str, Any]:
    """The tag that follows a managed column wherever the team moves it."""
    rng = {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": index, "endIndex": index + 1}
    return _tag(COLUMN_KEY, header, {"dimensionRange": rng})


def _tag(key: str, value: str, location: dict[str, Any]) -> dict[str, Any]:
    meta = {"metadataKey": key, "metadataValue": value, "location": location}
    return {"createDeveloperMetadata": {"developerMetadata": {**meta, "visibility": "DOCUMENT"}}}


def insert_column(sheet_id: int, index: int, grid_cols: int) -> dict[str, Any]:
    """A column at ``index`` (appended when that is the grid's end), formatted like its left."""
    if index >= grid_cols:
        return {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": 1}}
    rng = {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": index, "endIndex": index + 1}
    return {"insertDimension": {"range": rng, "inheritFromBefore": index > 0}}


def runs(indexes: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted column indexes as ``(start, end)`` runs of neighbours: ``1,2,4`` → ``(1,3),(4,5)``."""
    out: list[tuple[int, int]] = []
    for index in sorted(indexes):
        if out and out[-1][1] == index:
            out[-1] = (out[-1][0], index + 1)
        else:
            out.append((index, index + 1))
    return out


def _where(template: TabTemplate, positions: Sequence[int] | None) -> Sequence[int]:
    """Each managed column's index on the sheet (the template's order when not given)."""
    return range(len(template.columns)) if positions is None else positions


def resize(sheet_id: int, rows: int, cols: int, frozen: tuple[int, int]) -> dict[str, Any]:
    grid_props = {"rowCount": rows, "columnCount": cols}
    grid_props.update(frozenRowCount=frozen[0], frozenColumnCount=frozen[1])
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": grid_props},
            "fields": "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)",
        }
    }


def delete_rows(sheet_id: int, start: int, count: int) -> dict[str, Any]:
    rng = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": start + count}
    return {"deleteDimension": {"range": rng}}


def append_rows(sheet_id: int, count: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": count}}


def insert_rows(sheet_id: int, start: int, count: int) -> dict[str, Any]:
    """New rows take the format of the data row above, never the header's."""
    rng = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": start + count}
    return {"insertDimension": {"range": rng, "inheritFromBefore": start > 1}}


def presentation(
    template: TabTemplate, sheet_id: int, rows: int, positions: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Header style, number formats, widths and hidden columns (all idempotent), on the
    managed columns only: the team's columns between them keep their own look."""
    where = _where(template, positions)
    header_format = {"textFormat": {"bold": True}, "backgroundColorStyle": HEADER_BACKGROUND}
    out: list[dict[str, Any]] = [
        {
            "repeatCell": {
                "range": grid(sheet_id, 0, 1, c0, c1),
                "cell": {"userEnteredFormat": header_format},
                "fields": "userEnteredFormat(textFormat.bold,backgroundColorStyle)",
            }
        }
        for c0, c1 in runs(where)
    ]
    for index, column in zip(where, template.columns, strict=True):
        fmt = number_format(column.type, column.effective_format)
        if fmt is not None and rows > 1:
            out.append(
                {
                    "repeatCell": {
                        "range": grid(sheet_id, 1, rows, index, index + 1),
                        "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        out.extend(_column_properties(sheet_id, index, column.width, column.hidden))
    return out


def _column_properties(sheet_id: int, index: int, width: int | None, hidden: bool) -> list[dict]:
    props: dict[str, Any] = {"hiddenByUser": hidden}
    if width is not None:
        props["pixelSize"] = width
    rng = {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": index, "endIndex": index + 1}
    fields = ",".join(sorted(props))
    return [{"updateDimensionProperties": {"range": rng, "properties": props, "fields": fields}}]


def basic_filter(
    template: TabTemplate,
    sheet_id: int,
    data_rows: int,
    current: SheetState | None,
    positions: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Cover exactly header + data, keeping whatever criteria the team set (sent back
    under their current names: Google answers ``criteria`` beside ``filterSpecs``)."""
    existing = current.basic_filter if current is not None else None
    if not template.filter:
        return [{"clearBasicFilter": {"sheetId": sheet_id}}] if existing else []
    where = _where(template, positions)
    spec = {k: v for k, v in current_fields(existing or {}).items() if k != "range"}
    spec["range"] = grid(sheet_id, 0, data_rows + 1, min(where), max(where) + 1)
    return [{"setBasicFilter": {"filter": spec}}]


def protection(
    template: TabTemplate,
    sheet_id: int,
    current: SheetState | None,
    positions: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Protect runs of non-editable columns; replace ours only when they differ.

    A tab with editable columns (Pricing) gets real protection. A report tab
    gets warning-only protection so the team can still sort and filter it.
    """
    warning_only = not template.editable_headers
    where = _where(template, positions)
    wanted = runs(i for i, c in zip(where, template.columns, strict=True) if not c.editable)
    ours = [p for p in (current.protected_ranges if current else []) if is_ours(p)]
    have = sorted(
        (
            p["range"].get("startColumnIndex", 0),
            p["range"].get("endColumnIndex", 0),
            bool(p.get("warningOnly", False)),
        )
        for p in ours
    )
    if have == [(c0, c1, warning_only) for c0, c1 in wanted]:
        return []
    out: list[dict[str, Any]] = [
        {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}} for p in ours
    ]
    for c0, c1 in wanted:
        rng = {"sheetId": sheet_id, "startColumnIndex": c0, "endColumnIndex": c1}
        spec = {"range": rng, "description": PROTECTION_TAG, "warningOnly": warning_only}
        out.append({"addProtectedRange": {"protectedRange": spec}})
    return out


def is_ours(protected: dict[str, Any]) -> bool:
    return str(protected.get("description", "")).startswith(PROTECTION_TAG)


def range_name(title: str) -> str:
    """A valid named-range name for a tab: ``KPI Daily`` → ``KPI_Daily``."""
    name = re.sub(r"\W+", "_", title, flags=re.ASCII).strip("_") or "tab"
    if name[0].isdigit() or NOT_A_NAME.match(name):
        name = "tab_" + name
    return name


def named_range(
    title: str,
    sheet_id: int,
    data_rows: int,
    width: int,
    existing: dict[str, Any] | None,
    first: int = 0,
) -> list[dict[str, Any]]:
    """One named range per tab over exactly the data rows (at least one row) of the
    ``width`` columns from ``first`` (the managed columns and any team column between)."""
    rng = grid(sheet_id, 1, max(data_rows, 1) + 1, first, first + width)
    if existing is None:
        return [{"addNamedRange": {"namedRange": {"name": range_name(title), "range": rng}}}]
    if as_google_answers(existing.get("range")) == as_google_answers(rng):
        return []
    spec = {"namedRangeId": existing["namedRangeId"], "name": existing["name"], "range": rng}
    return [{"updateNamedRange": {"namedRange": spec, "fields": "range"}}]


CONDITION_TYPES = {
    "text_eq": "TEXT_EQ",
    "text_contains": "TEXT_CONTAINS",
    "number_greater": "NUMBER_GREATER",
    "number_less": "NUMBER_LESS",
    "number_between": "NUMBER_BETWEEN",
    "not_blank": "NOT_BLANK",
}


def conditional_formats(
    template: TabTemplate,
    sheet_id: int,
    current: SheetState | None,
    positions: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Replace the tab's managed-column rules only when they differ from the template's."""
    where = _where(template, positions)
    wanted = [_rule(template, sheet_id, rule, where) for rule in template.conditional_formats]
    existing = current.conditional_formats if current else []
    ours = [i for i, rule in enumerate(existing) if _within(rule, set(where))]
    if as_google_answers([existing[i] for i in ours]) == as_google_answers(wanted):
        return []
    out: list[dict[str, Any]] = [
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}} for i in reversed(ours)
    ]
    out.extend(
        {"addConditionalFormatRule": {"rule": rule, "index": i}} for i, rule in enumerate(wanted)
    )
    return out


_RANGE_KEYS = frozenset(
    {"sheetId", "startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex"}
)
_RANGE_DEFAULTS = {"sheetId": 0, "startRowIndex": 0, "startColumnIndex": 0}
_CHANNELS = ("red", "green", "blue", "alpha")


def as_google_answers(value: Any) -> Any:
    """What we send in the form Google answers it, so "already there" compares true.

    Google leaves default values out (``sheetId`` 0, zero start indexes, zero
    colour channels), keeps colours in 8-bit steps (0.9569 comes back as
    0.95686275) and answers every ``…Style`` colour with its deprecated plain
    twin too. Comparing raw dicts would re-send unchanged rules and ranges on
    every sync; each colour is compared once, in its current ``…Style`` form.
    """
    return _canonical(current_fields(value))


def _canonical(value: Any) -> Any:
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {k: _style(v) if colour_key(k) else _canonical(v) for k, v in value.items()}
    if out and out.keys() <= _RANGE_KEYS:
        out = {**_RANGE_DEFAULTS, **out}
    return out


def _style(style: Any) -> Any:
    """A ColorStyle's RGB as 8-bit channels (a theme colour compares as answered)."""
    rgb = style.get("rgbColor") if isinstance(style, dict) else None
    if not isinstance(rgb, dict):
        return _canonical(style)
    return tuple(round(float(rgb.get(c, 0)) * 255) for c in _CHANNELS)


def _within(rule: dict[str, Any], managed: set[int]) -> bool:
    """Rules on the data rows of one managed column are ours; the team's others are kept."""
    ranges = rule.get("ranges", [])
    return bool(ranges) and all(_one_managed_column(r, managed) for r in ranges)


def _one_managed_column(rng: dict[str, Any], managed: set[int]) -> bool:
    start = rng.get("startColumnIndex", 0)
    end = rng.get("endColumnIndex", start + 1)
    return rng.get("startRowIndex") == 1 and end == start + 1 and start in managed


def _rule(
    template: TabTemplate, sheet_id: int, rule: ConditionalFormat, where: Sequence[int]
) -> dict[str, Any]:
    column = where[template.column_index(rule.column)]
    condition: dict[str, Any] = {"type": CONDITION_TYPES[rule.condition.value]}
    if rule.values:
        condition["values"] = [{"userEnteredValue": v} for v in rule.values]
    fmt: dict[str, Any] = {}
    if rule.background:
        fmt["backgroundColorStyle"] = colour_style(rule.background)
    text: dict[str, Any] = {}
    if rule.font_color:
        text["foregroundColorStyle"] = colour_style(rule.font_color)
    if rule.bold:
        text["bold"] = True
    if text:
        fmt["textFormat"] = text
    return {
        "ranges": [grid(sheet_id, 1, None, column, column + 1)],
        "booleanRule": {"condition": condition, "format": fmt},
    }


def pivot(
    template: TabTemplate,
    spec: PivotSpec,
    source_id: int,
    pivot_id: int,
    data_rows: int,
    positions: Sequence[int] | None = None,
) -> dict[str, Any]:
    """A native pivot table in A1 of its sheet; its source is header + exactly the data rows
    of the managed columns (wherever the team moved them)."""
    where = _where(template, positions)
    first = min(where)

    def offset(header: str) -> int:
        return where[template.column_index(header)] - first

    def group(header: str, order: str) -> dict[str, Any]:
        return {"sourceColumnOffset": offset(header), "showTotals": True, "sortOrder": order}

    table: dict[str, Any] = {
        "source": grid(source_id, 0, data_rows + 1, first, max(where) + 1),
        "rows": [group(h, spec.sort_rows) for h in spec.rows],
        "values": [
            {
                "summarizeFunction": v.summarize.value,
                "sourceColumnOffset": offset(v.column),
                "name": v.display_name,
            }
            for v in spec.values
        ],
        "valueLayout": "HORIZONTAL",
    }
    if spec.columns:
        table["columns"] = [group(h, "ASCENDING") for h in spec.columns]
    start = {"sheetId": pivot_id, "rowIndex": 0, "columnIndex": 0}
    cells = {"rows": [{"values": [{"pivotTable": table}]}], "start": start, "fields": "pivotTable"}
    return {"updateCells": cells}
