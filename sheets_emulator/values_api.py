"""``spreadsheets.values.*``: get, batchGet, update, batchUpdate, append, clear, batchClear.

Writes are validated completely (ranges, grid limits, cell sizes) before the
first cell changes, so a failing request changes nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sheets_emulator import a1
from sheets_emulator.apierror import bad_request
from sheets_emulator.append_table import find_table
from sheets_emulator.grid import CLEAR, Cell
from sheets_emulator.pivot import render_pivots
from sheets_emulator.render import read_values
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, check_bounds, clip
from sheets_emulator.values import raw_entry, user_entered_entry

INPUT_OPTIONS = ("RAW", "USER_ENTERED")
RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")
DIMENSIONS = ("ROWS", "COLUMNS")


@dataclass
class ReadOptions:
    major: str = "ROWS"
    render: str = "FORMATTED_VALUE"
    dates: str = "SERIAL_NUMBER"

    @classmethod
    def from_args(cls, args: dict[str, Any], prefix: str = "") -> ReadOptions:
        def pick(name: str, default: str, allowed: tuple[str, ...]) -> str:
            key = prefix + name[0].upper() + name[1:] if prefix else name
            value = args.get(key) or default
            if value not in allowed:
                raise bad_request(
                    f"Invalid value at '{key}' ({value}): expected one of {', '.join(allowed)}"
                )
            return str(value)

        major = "ROWS" if prefix else pick("majorDimension", "ROWS", DIMENSIONS)
        render = pick("valueRenderOption", "FORMATTED_VALUE", RENDER_OPTIONS)
        dates = pick("dateTimeRenderOption", "SERIAL_NUMBER", DATE_OPTIONS)
        return cls(major, render, dates)


def get(
    book: Spreadsheet,
    text: str,
    opts: ReadOptions,
    pivots: dict[int, dict[tuple[int, int], Any]] | None = None,
) -> dict[str, Any]:
    """One ValueRange; ``pivots`` caches rendered pivots by sheet id across a batchGet."""
    sheet, bounds = book.resolve(text)
    check_bounds(sheet, bounds)
    r0, r1, c0, c1 = clip(sheet, bounds)
    overlay = None
    if pivots is not None:
        overlay = pivots.get(sheet.sheet_id)
        if overlay is None:
            overlay = pivots[sheet.sheet_id] = render_pivots(book, sheet)
    rows = read_values(book, sheet, r0, r1, c0, c1, opts.render, opts.dates, overlay)
    body: dict[str, Any] = {
        "range": a1.format_range(sheet.title, r0, r1, c0, c1),
        "majorDimension": opts.major,
    }
    if opts.major == "COLUMNS":
        rows = _transpose(rows)
    if rows:
        body["values"] = rows
    return body


def _transpose(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    cols = [[r[c] if c < len(r) else "" for r in rows] for c in range(width)]
    for col in cols:
        while col and col[-1] == "":
            col.pop()
    return cols


@dataclass
class Write:
    """One validated write: where, and the entries row by row (None = unchanged)."""

    sheet: Sheet
    r0: int
    c0: int
    rows: list[list[Any]]

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def cells(self) -> int:
        return self._counts[0]

    def touched_rows(self) -> set[int]:
        """Rows where at least one cell is written (``None`` leaves a cell alone)."""
        return self._counts[1]

    def touched_columns(self) -> set[int]:
        """Columns where at least one cell is written."""
        return self._counts[2]

    @functools.cached_property
    def _counts(self) -> tuple[int, set[int], set[int]]:
        """Cells, rows and columns written, in one pass (rows without a None skip the scan)."""
        cells, rows, width, partial = 0, set[int](), 0, set[int]()
        for i, row in enumerate(self.rows):
            missing = row.count(None)
            cells += len(row) - missing
            if len(row) > missing:
                rows.add(self.r0 + i)
            if not missing:
                width = max(width, len(row))
            else:
                partial.update(j for j, e in enumerate(row) if e is not None)
        return cells, rows, set(range(self.c0, self.c0 + width)) | {self.c0 + j for j in partial}


def prepare(book: Spreadsheet, text: str, body: dict[str, Any], option: str, where: str) -> Write:
    """Resolve, convert and bound-check one ValueRange without writing anything."""
    if option not in INPUT_OPTIONS:
        raise bad_request(f"Invalid valueInputOption: {option!r}; use RAW or USER_ENTERED")
    sheet, bounds = book.resolve(text)
    values = body.get("values") or []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise bad_request(f"Invalid value at '{where}values': expected a list of lists")
    if body.get("majorDimension", "ROWS") == "COLUMNS":
        values = _columns_to_rows(values)
    rows = _convert(values, option, where)
    write = Write(sheet, bounds.r0, bounds.c0, rows)
    _check_fits(write, bounds)
    return write


def _columns_to_rows(cols: list[list[Any]]) -> list[list[Any]]:
    height = max((len(c) for c in cols), default=0)
    return [[c[r] if r < len(c) else None for c in cols] for r in range(height)]


def _convert(values: list[list[Any]], option: str, where: str) -> list[list[Any]]:
    convert = raw_entry if option == "RAW" else user_entered_entry
    out = []
    for i, row in enumerate(values):
        if option == "RAW" and all(type(v) in (int, float, bool) for v in row):
            out.append(list(row))
            continue
        out.append([convert(v, f"{where}values[{i}][{j}]") for j, v in enumerate(row)])
    return out


def _check_fits(write: Write, bounds: a1.Bounds) -> None:
    sheet = write.sheet
    r1 = write.r0 + max(write.height, 1)
    c1 = write.c0 + max(write.width, 1)
    single_cell = bounds.r1 == bounds.r0 + 1 and bounds.c1 == bounds.c0 + 1
    too_tall = bounds.r1 is not None and write.height > bounds.r1 - bounds.r0
    too_wide = bounds.c1 is not None and write.width > bounds.c1 - bounds.c0
    if not single_cell and (too_tall or too_wide):
        raise bad_request(
            "Requested writing within range ["
            f"{a1.format_range(sheet.title, *_closed(sheet, bounds))}], but tried writing "
            f"to {'row' if write.height > (bounds.r1 or 0) - bounds.r0 else 'column'} "
            f"[{r1 if write.height > (bounds.r1 or 0) - bounds.r0 else a1.column_letters(c1 - 1)}]"
        )
    check_bounds(sheet, a1.Bounds(write.r0, r1, write.c0, c1))


def _closed(sheet: Sheet, bounds: a1.Bounds) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = clip(sheet, bounds)
    return r0, r1, c0, c1


def apply(write: Write) -> int:
    """Write the entries; returns the number of cells written."""
    grid = write.sheet.writable()
    for i, row in enumerate(write.rows):
        if row:
            grid.write_row(write.r0 + i, write.c0, row)
    return write.cells()


def update_response(book: Spreadsheet, write: Write) -> dict[str, Any]:
    """UpdateValuesResponse: what was covered by the values sent."""
    body: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if write.height and write.width:
        body["updatedRange"] = a1.format_range(
            write.sheet.title, write.r0, write.r0 + write.height, write.c0, write.c0 + write.width
        )
        body["updatedRows"] = len(write.touched_rows())
        body["updatedColumns"] = len(write.touched_columns())
        body["updatedCells"] = write.cells()
    else:
        body["updatedRange"] = a1.format_range(
            write.sheet.title, write.r0, write.r0 + 1, write.c0, write.c0 + 1
        )
    return body


def totals(writes: list[Write]) -> dict[str, int]:
    """A batch's totals: Google counts distinct rows/columns touched, not a sum over ranges."""
    return {
        "totalUpdatedRows": len({(w.sheet.sheet_id, r) for w in writes for r in w.touched_rows()}),
        "totalUpdatedColumns": len(
            {(w.sheet.sheet_id, c) for w in writes for c in w.touched_columns()}
        ),
        "totalUpdatedCells": sum(w.cells() for w in writes),
        "totalUpdatedSheets": len({w.sheet.sheet_id for w in writes if w.cells()}),
    }


def with_values(book: Spreadsheet, write: Write, body: dict[str, Any], opts: ReadOptions) -> None:
    """includeValuesInResponse: echo the written range as rendered now."""
    if write.height and write.width:
        body["updatedData"] = get(book, body["updatedRange"], opts)
    else:
        body["updatedData"] = {"range": body["updatedRange"], "majorDimension": "ROWS"}


def clear(book: Spreadsheet, text: str) -> str:
    sheet, bounds = book.resolve(text)
    check_bounds(sheet, bounds)
    r0, r1, c0, c1 = clip(sheet, bounds)
    sheet.writable().clear_values(r0, r1, c0, c1)
    return a1.format_range(sheet.title, r0, r1, c0, c1)


def append(
    book: Spreadsheet, text: str, body: dict[str, Any], option: str, insert: bool
) -> tuple[Write, str | None]:
    """values.append: find the table, grow the grid as needed (rows and columns), write after it."""
    if option not in INPUT_OPTIONS:
        raise bad_request(f"Invalid valueInputOption: {option!r}; use RAW or USER_ENTERED")
    sheet, bounds = book.resolve(text)
    check_bounds(sheet, bounds)
    values = body.get("values") or []
    if body.get("majorDimension", "ROWS") == "COLUMNS":
        values = _columns_to_rows(values)
    rows = _convert(values, option, "")
    table = find_table(sheet, bounds)
    if table is None:
        write, table_range = Write(sheet, bounds.r0, bounds.c0, rows), None
    else:
        write = Write(sheet, table[1], table[2], rows)
        table_range = a1.format_range(sheet.title, *table)
    _grow_for(book, write, insert)
    return write, table_range


def _grow_for(book: Spreadsheet, write: Write, insert: bool) -> None:
    sheet = write.sheet
    new_rows = write.height if insert else max(0, write.r0 + write.height - sheet.row_count)
    new_cols = max(0, write.c0 + write.width - sheet.col_count)
    if new_cols and sheet.col_count + new_cols > a1.MAX_COLUMNS:
        raise bad_request(
            f"This action would increase the number of columns above the limit of {a1.MAX_COLUMNS}."
        )
    extra = new_rows * (sheet.col_count + new_cols) + new_cols * sheet.row_count
    if extra:
        book.check_cells(extra)
    grid_props = sheet.properties["gridProperties"]
    if insert and new_rows and write.r0 < sheet.row_count:
        sheet.writable().insert_rows(write.r0, new_rows)
    grid_props["rowCount"] += new_rows
    grid_props["columnCount"] += new_cols


def boxed_formula(entry: Any) -> bool:
    return type(entry) is Cell and entry.formula is not None


__all__ = ["CLEAR", "ReadOptions", "Write", "append", "apply", "clear", "get", "prepare"]
