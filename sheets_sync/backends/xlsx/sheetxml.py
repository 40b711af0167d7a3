"""One worksheet part, streamed: a managed tab's XML written straight into the zip.

A large tab's data rows never become openpyxl cells: each row of the frame is
turned into ``<c>`` elements as text (typed like openpyxl types them — numbers
with its ``%.16g``, dates as serials under a date format, text as inline
strings so the shared-string table of the team's sheets is never touched)
and written in chunks, so the write costs the tab's cells once and its memory
is a chunk of rows. Everything else on the sheet — the header, the team's
cells and pending edits, widths, freeze panes, the autofilter, protection,
conditional formats, a drawing — is set on a small openpyxl worksheet by the
usual code (:mod:`.cells`, :mod:`.layout`, :mod:`.extras`, :mod:`.pending`),
whose own serialisation gives the XML before and after ``<sheetData>``; its
cells are merged into the streamed rows (a cell of it wins over the data's).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import IO, Any

from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import Cell
from openpyxl.packaging.relationship import RelationshipList
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from sheets_sync.backends.xlsx.rowxml import DataRows, RowWriter

_CHUNK_ROWS = 2000
_EMPTY_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')


def write_sheet(out: IO[bytes], ws: Worksheet, data: DataRows | None) -> RelationshipList:
    """Write ``ws`` (and ``data`` under it) as a worksheet part; its relationships back."""
    head, tail, rels = _frame(ws, data)
    out.write(head)
    out.write(b"<sheetData>")
    overlay = _overlay_rows(ws)
    rows = RowWriter(ws, data) if data is not None else None
    last = max([*overlay, data.last_row if data is not None else 0], default=0)
    chunk: list[str] = []
    for r in range(1, last + 1):
        line = _row(r, rows, overlay.get(r))
        if line:
            chunk.append(line)
        if len(chunk) >= _CHUNK_ROWS:
            out.write("".join(chunk).encode())
            chunk.clear()
    out.write("".join(chunk).encode())
    out.write(b"</sheetData>")
    out.write(tail)
    return rels


def _frame(ws: Worksheet, data: DataRows | None) -> tuple[bytes, bytes, RelationshipList]:
    """openpyxl's XML of the sheet without its cells, split where the rows go."""
    cells, ws._cells = ws._cells, {}
    try:
        writer = WorksheetWriter(ws, out=io.BytesIO())
        writer.write()
        xml = writer.read()
    finally:
        ws._cells = cells
    match = _EMPTY_DATA.search(xml)
    if match is None:  # pragma: no cover - openpyxl always writes sheetData
        raise RuntimeError("openpyxl wrote a worksheet without sheetData")
    head = _DIMENSION.sub(_dimension(ws, data), xml[: match.start()], count=1)
    return head, xml[match.end() :], writer._rels


def _dimension(ws: Worksheet, data: DataRows | None) -> bytes:
    rows, columns = ws.max_row if ws._cells else 1, ws.max_column if ws._cells else 1
    if data is not None and data.rows:
        rows = max(rows, data.first_row + len(data.rows) - 1)
        columns = max(columns, *data.positions)
    return f'<dimension ref="A1:{get_column_letter(columns)}{rows}"/>'.encode()


def _overlay_rows(ws: Worksheet) -> dict[int, dict[int, Cell]]:
    rows: dict[int, dict[int, Cell]] = defaultdict(dict)
    for (r, c), cell in ws._cells.items():
        rows[r][c] = cell
    return rows


def _row(r: int, data: RowWriter | None, overlay: dict[int, Cell] | None) -> str:
    columns, cells = data.cells(r) if data is not None else ([], [])
    if overlay:
        merged = dict(zip(columns, cells, strict=True))
        for column, cell in overlay.items():
            merged[column] = cell_xml(cell)  # the sheet's own cell wins ("": none at all)
        body = "".join(merged[c] for c in sorted(merged))
    else:
        body = "".join(cells)
    return f'<row r="{r}">{body}</row>' if body else ""


class _Collect:
    """The ``xf`` openpyxl's cell writer writes to: keeps the element."""

    element: Any = None

    def write(self, element: Any) -> None:
        self.element = element


def cell_xml(cell: Cell) -> str:
    """One cell of the sheet's own (a header, a team cell, an edit) as openpyxl writes it."""
    if cell._value is None and not cell.has_style and cell._comment is None:
        return ""
    sink = _Collect()
    etree_write_cell(sink, cell.parent, cell, cell.has_style)
    return str(tostring(sink.element).decode())
