"""``spreadsheets:batchUpdate``: dispatch, atomicity, and the sheet/dimension kinds.

The batch runs on a fork of the spreadsheet; the first failing request aborts
it with Google's ``Invalid requests[i].kind: ...`` message and nothing
changes. A kind Google has but the emulator does not implement is a 400 too,
never a silent success.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sheets_emulator import batch_cells, charts, clipboard, devmeta, devmeta_api, groups
from sheets_emulator.apierror import ApiError, bad_request
from sheets_emulator.move import move_dimension, sort_range
from sheets_emulator.render import set_path
from sheets_emulator.shapes import (
    drop_nulls,
    normalise_colours,
    public_properties,
    public_ranges,
    twin_paths,
)
from sheets_emulator.shift import shift_ranges
from sheets_emulator.spreadsheets import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    MAX_COLUMNS,
    Sheet,
    Spreadsheet,
    sheet_properties,
)

Handler = Callable[[Spreadsheet, dict[str, Any]], dict[str, Any] | None]

# Kinds Google's API defines that the emulator does not implement (400, named as unsupported).
GOOGLE_ONLY_KINDS = {
    "updateBorders", "findReplace",
    "pasteData", "textToColumns", "updateFilterView", "addFilterView", "deleteFilterView",
    "duplicateFilterView", "appendCells", "deleteRange", "insertRange",
    "randomizeRange", "addBanding", "updateBanding", "deleteBanding",
    "autoFill",
    "trimWhitespace", "deleteDuplicates", "addSlicer", "updateSlicerSpec", "addDataSource",
    "updateDataSource", "deleteDataSource", "refreshDataSource", "cancelDataSourceRefresh",
    "addTable", "updateTable", "deleteTable", "updateEmbeddedObjectBorder",
}  # fmt: skip


def run(book: Spreadsheet, body: dict[str, Any]) -> tuple[Spreadsheet, list[dict[str, Any]]]:
    """Apply every request to a fork; returns (the new state, the replies)."""
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    work = book.fork()
    replies = []
    for i, request in enumerate(requests):
        replies.append(_one(work, i, request))
    work.touch()
    return work, replies


def _one(book: Spreadsheet, i: int, request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or len(request) != 1:
        raise bad_request(f"Invalid requests[{i}]: exactly one request kind must be set.")
    kind, payload = next(iter(request.items()))
    handler = HANDLERS.get(kind)
    if handler is None:
        if kind in GOOGLE_ONLY_KINDS:
            raise bad_request(
                f"Invalid requests[{i}].{kind}: the Sheets API emulator does not support "
                f"'{kind}' requests (see docs/emulator.md)."
            )
        raise bad_request(
            f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
            "Cannot find field."
        )
    try:
        reply = handler(book, drop_nulls(payload or {}))
    except ApiError as error:
        if error.code != 400 or error.message.startswith("Invalid requests["):
            raise
        raise bad_request(f"Invalid requests[{i}].{kind}: {error.message}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise bad_request(f"Invalid requests[{i}].{kind}: malformed request ({error})") from None
    return {kind: _public_reply(reply)} if reply is not None else {}


def _public_reply(reply: dict[str, Any]) -> dict[str, Any]:
    """A reply as Google shapes it (defaults left out, sheet 0 implicit in ranges)."""
    out = public_ranges(reply)
    if isinstance(out.get("properties"), dict) and "sheetId" in out["properties"]:
        out["properties"] = public_properties(out["properties"])
    return dict(out)


# -- sheets --------------------------------------------------------------------


def add_sheet(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    props = copy.deepcopy(payload.get("properties") or {})
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = book.new_sheet_id()
    elif any(s.sheet_id == sheet_id for s in book.sheets):
        raise bad_request(f"A sheet with id {sheet_id} already exists.")
    title = props.get("title") or _next_title(book)
    _check_title(book, title)
    grid = props.get("gridProperties") or {}
    rows, cols = int(grid.get("rowCount", DEFAULT_ROWS)), int(grid.get("columnCount", DEFAULT_COLS))
    _check_dims(book, rows, cols, extra=rows * cols)
    index = min(int(props.get("index", len(book.sheets))), len(book.sheets))
    full = sheet_properties(int(sheet_id), title, index, rows, cols)
    full["gridProperties"].update(
        {k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")}
    )
    for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if key in props:
            full[key] = props[key]
    normalise_colours(full)
    if full.get("hidden") and all(s.properties.get("hidden") for s in book.sheets):
        raise bad_request("You can't hide all the sheets in a document.")
    book.sheets.insert(index, Sheet(full))
    book.reindex()
    return {"properties": copy.deepcopy(full)}


def _next_title(book: Spreadsheet) -> str:
    n = len(book.sheets) + 1
    while book.sheet_by_title(f"Sheet{n}"):
        n += 1
    return f"Sheet{n}"


def _check_title(book: Spreadsheet, title: str, sheet: Sheet | None = None) -> None:
    other = book.sheet_by_title(title)
    if other is not None and other is not sheet:
        raise bad_request(
            f'A sheet with the name "{title}" already exists. Please enter another name.'
        )
    if not title.strip():
        raise bad_request("Sheet names cannot be empty.")


def _check_dims(book: Spreadsheet, rows: int, cols: int, extra: int) -> None:
    if rows < 1 or cols < 1:
        raise bad_request("Row and column counts must be at least 1.")
    if cols > MAX_COLUMNS:
        raise bad_request(
            f"This action would increase the number of columns in the sheet above the limit of {MAX_COLUMNS}."
        )
    book.check_cells(extra)


def delete_sheet(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet = book.sheet_by_id(payload.get("sheetId"))
    if len(book.sheets) == 1:
        raise bad_request("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    book.named_ranges = [
        n for n in book.named_ranges if n["range"].get("sheetId", 0) != sheet.sheet_id
    ]
    devmeta.drop_sheet(book, sheet.sheet_id)
    charts.drop_sheet(book, sheet.sheet_id)
    book.reindex()


def duplicate_sheet(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    source = book.sheet_by_id(payload.get("sourceSheetId"))
    reply = add_sheet(
        book,
        {
            "properties": {
                "sheetId": payload.get("newSheetId"),
                "title": payload.get("newSheetName") or f"Copy of {source.title}",
                "index": payload.get("insertSheetIndex")
                if payload.get("insertSheetIndex") is not None
                else len(book.sheets),
                "gridProperties": copy.deepcopy(source.properties["gridProperties"]),
            }
        },
    )
    new = book.sheet_by_id(reply["properties"]["sheetId"])
    new._grid = source.grid.copy()
    new.has_pivots = source.has_pivots
    new.merges = [dict(m, sheetId=new.sheet_id) for m in source.merges]
    return reply


def update_sheet_properties(book: Spreadsheet, payload: dict[str, Any]) -> None:
    props = normalise_colours(copy.deepcopy(payload.get("properties") or {}))
    sheet = book.sheet_by_id(props.get("sheetId"))
    for path in twin_paths(_fields(payload)):
        if path in ("sheetId", "sheetType"):
            raise bad_request(f"{path} cannot be changed.")
        if path == "title":
            _check_title(book, str(props.get("title", "")), sheet)
        if path == "index":
            _move(book, sheet, int(props.get("index", 0)))
            continue
        if path.startswith("gridProperties"):
            _update_grid(book, sheet, path, props)
            continue
        set_path(sheet.properties, path, props)
    if all(s.properties.get("hidden") for s in book.sheets):
        raise bad_request("You can't hide all the sheets in a document.")


def _fields(payload: dict[str, Any]) -> list[str]:
    fields = payload.get("fields")
    if not fields:
        raise bad_request("At least one field must be updated (set 'fields').")
    if fields == "*":
        return list((payload.get("properties") or {}).keys())
    paths: list[str] = []
    for item in batch_cells.expand_fields(str(fields)):
        paths.append(item)
    return paths


def _move(book: Spreadsheet, sheet: Sheet, index: int) -> None:
    book.sheets.remove(sheet)
    book.sheets.insert(max(0, min(index, len(book.sheets))), sheet)
    book.reindex()


def _update_grid(book: Spreadsheet, sheet: Sheet, path: str, props: dict[str, Any]) -> None:
    """Resize one grid dimension at a time; Google checks the cell limit after each."""
    grid_props = props.get("gridProperties") or {}
    if path == "gridProperties":
        for key in ("rowCount", "columnCount"):
            if key in grid_props:
                _update_grid(book, sheet, f"gridProperties.{key}", props)
        rest = {k: v for k, v in grid_props.items() if k not in ("rowCount", "columnCount")}
        sheet.properties["gridProperties"].update(rest)
        return
    key = path.split(".", 1)[1]
    if key in ("rowCount", "columnCount"):
        new = int(grid_props.get(key, 0))
        rows = new if key == "rowCount" else sheet.row_count
        cols = new if key == "columnCount" else sheet.col_count
        _check_dims(book, rows, cols, extra=rows * cols - sheet.row_count * sheet.col_count)
        if rows < sheet.row_count or cols < sheet.col_count:
            sheet.writable().truncate(rows, cols)
            devmeta.drop_beyond(book, sheet.sheet_id, rows, cols)
            charts.shift_anchors(sheet, "ROWS", rows, 0)
            charts.shift_anchors(sheet, "COLUMNS", cols, 0)
        sheet.properties["gridProperties"][key] = new
        return
    set_path(sheet.properties, path, props)


def update_spreadsheet_properties(book: Spreadsheet, payload: dict[str, Any]) -> None:
    props = payload.get("properties") or {}
    for path in _fields(payload):
        set_path(book.properties, path, props)


# -- dimensions ----------------------------------------------------------------


def _dim_range(
    book: Spreadsheet, rng: dict[str, Any], allow_end: bool = False
) -> tuple[Sheet, str, int, int]:
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise bad_request("range.dimension must be ROWS or COLUMNS")
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    start = int(rng.get("startIndex", 0))
    end = int(rng.get("endIndex", size))
    if not 0 <= start < end or (end > size and not allow_end):
        raise bad_request(
            f"Invalid dimension range [{start}, {end}) on a sheet with {size} {dim.lower()}."
        )
    return sheet, dim, start, end


def insert_dimension(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, dim, start, end = _dim_range(book, payload.get("range") or {}, allow_end=True)
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    if start > size:
        raise bad_request(f"Invalid insert position {start}: the sheet has {size} {dim.lower()}.")
    if payload.get("inheritFromBefore") and start == 0:
        raise bad_request("Cannot inherit from before when inserting at index 0.")
    _grow(book, sheet, dim, start, end - start)


def _grow(book: Spreadsheet, sheet: Sheet, dim: str, at: int, n: int) -> None:
    rows = sheet.row_count + (n if dim == "ROWS" else 0)
    cols = sheet.col_count + (n if dim == "COLUMNS" else 0)
    _check_dims(book, rows, cols, extra=rows * cols - sheet.row_count * sheet.col_count)
    grid = sheet.writable()
    if dim == "ROWS":
        grid.insert_rows(at, n)
        sheet.properties["gridProperties"]["rowCount"] = rows
    else:
        grid.insert_cols(at, n)
        sheet.properties["gridProperties"]["columnCount"] = cols
    shift_ranges(book, sheet.sheet_id, dim, at, n)


def delete_dimension(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, dim, start, end = _dim_range(book, payload.get("range") or {})
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    if end - start >= size:
        noun = "rows" if dim == "ROWS" else "columns"
        raise bad_request(f"You can't delete all the {noun} on the sheet.")
    grid = sheet.writable()
    if dim == "ROWS":
        grid.delete_rows(start, end)
        sheet.properties["gridProperties"]["rowCount"] = size - (end - start)
    else:
        grid.delete_cols(start, end)
        sheet.properties["gridProperties"]["columnCount"] = size - (end - start)
    shift_ranges(book, sheet.sheet_id, dim, start, -(end - start))


def append_dimension(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet = book.sheet_by_id(payload.get("sheetId", 0))
    dim, length = payload.get("dimension"), int(payload.get("length", 0))
    if dim not in ("ROWS", "COLUMNS") or length < 1:
        raise bad_request("appendDimension needs dimension ROWS or COLUMNS and a positive length.")
    at = sheet.row_count if dim == "ROWS" else sheet.col_count
    _grow(book, sheet, dim, at, length)


def update_dimension_properties(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, dim, start, end = _dim_range(book, payload.get("range") or {})
    props, paths = payload.get("properties") or {}, _fields(payload)
    meta = sheet.writable().row_meta if dim == "ROWS" else sheet.writable().col_meta
    for index in range(start, end):
        entry = meta.setdefault(index, {})
        for path in paths:
            set_path(entry, path, props)


def auto_resize_dimensions(book: Spreadsheet, payload: dict[str, Any]) -> None:
    """Sets pixel sizes from the longest rendered text (7 px per character + padding)."""
    sheet, dim, start, end = _dim_range(book, payload.get("dimensions") or {})
    grid = sheet.writable()
    for index in range(start, end):
        if dim == "COLUMNS":
            texts = [
                str(row[index])
                for row in grid.rows.values()
                if index < len(row) and row[index] is not None
            ]
            size = max((len(t) for t in texts), default=0) * 7 + 10
            grid.col_meta.setdefault(index, {})["pixelSize"] = max(size, 20)
        else:
            grid.row_meta.setdefault(index, {})["pixelSize"] = 21


HANDLERS: dict[str, Handler] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "duplicateSheet": duplicate_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "appendDimension": append_dimension,
    "updateDimensionProperties": update_dimension_properties,
    "autoResizeDimensions": auto_resize_dimensions,
    "moveDimension": move_dimension,
    "sortRange": sort_range,
    **batch_cells.HANDLERS,
    **devmeta_api.HANDLERS,
    **charts.HANDLERS,
    **clipboard.HANDLERS,
    **groups.HANDLERS,
}
SUPPORTED_KINDS = sorted(HANDLERS)
