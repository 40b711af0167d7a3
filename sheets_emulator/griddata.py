"""``spreadsheets.get``: metadata, sheet-level objects and (optionally) grid data.

Grid data is built only when the request selects it (``includeGridData`` or a
``fields`` mask naming ``sheets.data``), and row/column metadata only when
selected, so metadata reads of big sheets stay cheap.
"""

from __future__ import annotations

import copy
from typing import Any

from sheets_emulator import charts, devmeta_api, fieldmask
from sheets_emulator.grid import Cell
from sheets_emulator.pivot import render_pivots
from sheets_emulator.render import user_format, validation_rule
from sheets_emulator.shapes import public_properties, public_ranges
from sheets_emulator.spreadsheets import DEFAULT_FORMAT, Sheet, Spreadsheet, check_bounds, clip
from sheets_emulator.values import formatted, typed_value


def spreadsheet_json(
    book: Spreadsheet, fields: str | None, include_grid: bool, ranges: list[str]
) -> dict[str, Any]:
    mask = fieldmask.parse(fields or "")
    want_data = fieldmask.selects(mask, "sheets", "data") if fields else include_grid
    wanted = _ranges_by_sheet(book, ranges)
    sheets = [s for s in book.sheets if not wanted or s.sheet_id in wanted]
    body: dict[str, Any] = {
        "spreadsheetId": book.spreadsheet_id,
        "properties": copy.deepcopy(book.properties),
        "sheets": [_sheet_json(book, s, want_data, wanted.get(s.sheet_id), mask) for s in sheets],
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
    }
    if book.named_ranges:
        body["namedRanges"] = public_ranges(book.named_ranges)
    if devmeta_api.for_spreadsheet(book):
        body["developerMetadata"] = devmeta_api.for_spreadsheet(book)
    return fieldmask.apply(body, mask)


def _ranges_by_sheet(
    book: Spreadsheet, ranges: list[str]
) -> dict[int, list[tuple[int, int, int, int]]]:
    out: dict[int, list[tuple[int, int, int, int]]] = {}
    for text in ranges:
        sheet, bounds = book.resolve(text)
        check_bounds(sheet, bounds)
        out.setdefault(sheet.sheet_id, []).append(clip(sheet, bounds))
    return out


def _sheet_json(
    book: Spreadsheet,
    sheet: Sheet,
    want_data: bool,
    boxes: list[tuple[int, int, int, int]] | None,
    mask: fieldmask.Mask | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"properties": copy.deepcopy(public_properties(sheet.properties))}
    for key, value in (
        ("basicFilter", sheet.basic_filter),
        ("protectedRanges", sheet.protected_ranges),
        ("conditionalFormats", sheet.conditional_formats),
        ("merges", sheet.merges),
        ("rowGroups", sheet.row_groups),
        ("columnGroups", sheet.column_groups),
    ):
        if value:
            out[key] = public_ranges(value)
    if sheet.charts:
        out["charts"] = [charts.public(c) for c in sheet.charts]
    metadata = devmeta_api.for_sheet(book, sheet.sheet_id)
    if metadata:
        out["developerMetadata"] = metadata
    if want_data:
        boxes = boxes or [(0, sheet.row_count, 0, sheet.col_count)]
        out["data"] = [_grid_data(book, sheet, box, mask) for box in boxes]
    return out


def _grid_data(
    book: Spreadsheet, sheet: Sheet, box: tuple[int, int, int, int], mask: fieldmask.Mask | None
) -> dict[str, Any]:
    r0, r1, c0, c1 = box
    data: dict[str, Any] = {}
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    if fieldmask.selects(mask, "sheets", "data", "rowData"):
        rows = _row_data(book, sheet, box)
        if rows:
            data["rowData"] = rows
    if fieldmask.selects(mask, "sheets", "data", "rowMetadata"):
        data["rowMetadata"] = [_dim_meta(sheet.grid.row_meta.get(r), 21) for r in range(r0, r1)]
        _with_developer_metadata(book, sheet.sheet_id, "ROWS", r0, data["rowMetadata"])
    if fieldmask.selects(mask, "sheets", "data", "columnMetadata"):
        data["columnMetadata"] = [_dim_meta(sheet.grid.col_meta.get(c), 100) for c in range(c0, c1)]
        _with_developer_metadata(book, sheet.sheet_id, "COLUMNS", c0, data["columnMetadata"])
    return data


def _with_developer_metadata(
    book: Spreadsheet, sheet_id: int, dim: str, first: int, props: list[dict[str, Any]]
) -> None:
    """Row/column developer metadata also shows in its DimensionProperties, as in Google."""
    for entry in devmeta_api.on_dimension(book, sheet_id, dim):
        index = entry["location"]["dimensionRange"].get("startIndex", 0) - first
        if 0 <= index < len(props):
            props[index].setdefault("developerMetadata", []).append(entry)


def _dim_meta(meta: dict[str, Any] | None, default: int) -> dict[str, Any]:
    out = {"pixelSize": default}
    out.update(meta or {})
    return out


def _row_data(
    book: Spreadsheet, sheet: Sheet, box: tuple[int, int, int, int]
) -> list[dict[str, Any]]:
    r0, r1, c0, c1 = box
    overlay = render_pivots(book, sheet)
    layer_rows = [min(x.r1, r1) for x in sheet.grid.layers if x.r0 < r1 and x.c0 < c1 and x.c1 > c0]
    last = max(
        [r + 1 for r in sheet.grid.rows if r0 <= r < r1]
        + [r + 1 for r, _ in overlay if r0 <= r < r1]
        + [0]
    )
    last = max(last, min(max(layer_rows, default=0), r1, last + 1000))
    out = []
    for r in range(r0, last):
        row = sheet.grid.rows.get(r, [])
        cells = [
            _cell_data(sheet, r, c, row[c] if c < len(row) else None, overlay)
            for c in range(c0, c1)
        ]
        while cells and not cells[-1]:
            cells.pop()
        out.append({"values": cells} if cells else {})
    while out and not out[-1]:
        out.pop()
    return out


def _cell_data(
    sheet: Sheet, r: int, c: int, entry: Any, overlay: dict[tuple[int, int], Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    value, formula = (entry.value, entry.formula) if type(entry) is Cell else (entry, None)
    fmt = user_format(sheet, r, c, entry)
    if formula is not None:
        out["userEnteredValue"] = {"formulaValue": formula}
    elif value is not None:
        out["userEnteredValue"] = typed_value(value)
    shown = value if value is not None or formula is not None else overlay.get((r, c))
    if shown is not None:
        out["effectiveValue"] = typed_value(shown)
        out["formattedValue"] = formatted(shown, fmt.get("numberFormat"))
    if fmt:
        out["userEnteredFormat"] = fmt
    if out:
        out["effectiveFormat"] = _merge(DEFAULT_FORMAT, fmt)
    if type(entry) is Cell:
        if entry.note is not None:
            out["note"] = entry.note
        if entry.pivot is not None:
            out["pivotTable"] = public_ranges(entry.pivot)
    rule = validation_rule(sheet, r, c, entry)
    if rule:
        out["dataValidation"] = copy.deepcopy(rule)
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
