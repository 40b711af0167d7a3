"""A few columns in, a few cells out: the workbook side of a pricing push (docs/design.md §7).

Reading streams the tab once (read-only mode) and keeps only the columns
asked for, found by their header in row 1; formulas come back as their text
(``=…``), never evaluated. Writing loads the workbook, sets only the given
cells (text forced to text, so ``=…`` stays literal; cell styles kept) and
saves it atomically like a sync does, so a failure leaves the previous
workbook intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from sheets_sync.backends.base import CellWrite, ColumnValues, WriteReport, WrittenTab
from sheets_sync.backends.xlsx.cells import set_value


def read_columns(wb: Workbook, title: str, headers: Sequence[str]) -> ColumnValues | None:
    """The columns headed ``headers`` of an open (read-only) workbook; None without the tab."""
    if title not in wb.sheetnames:
        return None
    ws = wb[title]
    row1 = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    columns: dict[str, int] = {}
    for index, header in enumerate(row1, start=1):
        if isinstance(header, str) and header.strip():
            columns.setdefault(header.strip(), index)
    wanted = {h: columns[h] for h in headers if h in columns}
    if not wanted:
        return ColumnValues(columns)
    first, last = min(wanted.values()), max(wanted.values())
    picked = [c - first for c in wanted.values()]
    rows: list[list[Any]] = []
    for row in ws.iter_rows(min_row=2, min_col=first, max_col=last, values_only=True):
        rows.append([_cell(row, i) for i in picked])
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    values = {h: [r[i] for r in rows] for i, h in enumerate(wanted)}
    return ColumnValues(columns, values, len(rows))


def _cell(row: tuple[Any, ...], index: int) -> Any:
    value = row[index] if index < len(row) else None
    return None if value == "" else value


def write_cells(
    load: Callable[[], Workbook],
    save: Callable[[Workbook], None],
    title: str,
    cells: Sequence[CellWrite],
) -> WriteReport:
    """Set the cells of tab ``title`` and save the workbook atomically."""
    if not cells:
        return WriteReport()
    wb = load()
    ws = wb[title]
    for cell in cells:
        value = cell.value
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        set_value(ws.cell(row=cell.row, column=cell.column), value)
    save(wb)
    return WriteReport(tabs=[WrittenTab(title, None, len(cells))])
