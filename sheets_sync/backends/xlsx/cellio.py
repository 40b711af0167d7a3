"""A few managed columns in, a few cells out: the workbook side of a pricing push (§7).

The tab and its columns are found by the hidden defined names a sync puts on
them (:mod:`.markers`), which Excel and LibreOffice keep pointing at the
right cells when the team renames the sheet or inserts, deletes and moves
columns: a column the team inserted and titled ``Status`` is theirs and is
never read or written. A tab written before the markers existed has none, so
its columns cannot be told from the team's: it is not read (sync first).

Reading streams only the wanted columns of the one sheet (formulas come back
as their text, ``=…``, never evaluated). The write-back opens the package
once, reads the wanted columns again, plans the cells from what they hold
now, patches them into the sheet's XML (:mod:`.cellpatch`; openpyxl's whole
workbook load and save for what the patch cannot spell) and saves atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.base import CellWrite, ColumnValues
from sheets_sync.backends.xlsx import cellpatch, markers, save
from sheets_sync.backends.xlsx.cells import set_value
from sheets_sync.backends.xlsx.package import Package


def managed_sheet(package: Package, title: str) -> Worksheet | None:
    """The placeholder of managed tab ``title`` (marked, wherever the team renamed it)."""
    return markers.resolve(package.wb, title).ours


def column_places(wb: Workbook, title: str, sheet: str, headers: Sequence[str]) -> dict[str, int]:
    """Requested header → its marked column now (deleted and unmarked columns left out)."""
    places = markers.column_places(wb, title, sheet) or {}
    found: dict[str, int] = {}
    for header in headers:
        column = places.get(markers.column_marker(title, header))
        if column is not None:
            found[header] = column
    return found


def read(package: Package, title: str, headers: Sequence[str]) -> ColumnValues | None:
    """The marked columns ``headers`` of tab ``title``; None without the tab."""
    ws = managed_sheet(package, title)
    return None if ws is None else read_sheet(package, ws, title, headers)


def read_sheet(package: Package, ws: Worksheet, title: str, headers: Sequence[str]) -> ColumnValues:
    """The marked columns ``headers`` of ``ws``, managed tab ``title``'s sheet."""
    wanted = column_places(package.wb, title, ws.title, headers)
    result = ColumnValues(columns=wanted)
    if not wanted:
        return result
    columns = set(wanted.values())
    package.scan(ws, keep=columns.__contains__)
    grid = ws._cells
    last = max((r for (r, c) in grid if c in columns and _value(grid[(r, c)]) is not None),
               default=1)  # fmt: skip
    result.values = {
        h: [_value(grid.get((r, c))) for r in range(2, last + 1)] for h, c in wanted.items()
    }
    result.row_count = last - 1
    return result


def _value(cell: Any) -> Any:
    value = None if cell is None else cell.value
    return None if value == "" else value


def patched(package: Package, ws: Worksheet, cells: Sequence[CellWrite]) -> save.SheetWrite | None:
    """The sheet's XML with ``cells`` patched in, as a write for the package's save; None when
    the patch cannot spell them (the caller takes openpyxl's whole-workbook path)."""
    part = package.part_of(ws)
    if part is None or not part.worksheet:
        return None
    try:
        raw = cellpatch.patch(package.archive.read(part.path), cells)
    except cellpatch.Unsupported:
        return None
    return save.SheetWrite(ws, None, part, raw=raw)


def write_whole(
    load: Callable[[], Workbook],
    save: Callable[[Workbook], None],
    sheet: str,
    cells: Sequence[CellWrite],
) -> None:
    """Set the cells of ``sheet`` through openpyxl (the patch could not spell them) and save
    atomically."""
    wb = load()
    ws = wb[sheet]
    for cell in cells:
        value = cell.value
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        set_value(ws.cell(row=cell.row, column=cell.column), value)
    save(wb)
