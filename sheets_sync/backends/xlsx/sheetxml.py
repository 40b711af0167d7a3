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

import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import Cell
from openpyxl.packaging.relationship import RelationshipList
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from sheets_sync.backends.xlsx.cells import ColumnStyles, to_cell_value

_CHUNK_ROWS = 2000
_MAX_TEXT = 32767  # Excel's limit on a cell's text (openpyxl truncates too)
_EMPTY_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_TIME_TYPES = (dt.datetime, dt.date, dt.time)


@dataclass
class DataRows:
    """A frame's data rows to stream under the sheet's own cells.

    ``positions``: the sheet column of each frame column; ``styles``: each
    column's cell style and type (:class:`.cells.ColumnStyles`).
    """

    rows: Sequence[Sequence[Any]]
    styles: ColumnStyles
    positions: Sequence[int]
    first_row: int = 2


def write_sheet(out: IO[bytes], ws: Worksheet, data: DataRows | None) -> RelationshipList:
    """Write ``ws`` (and ``data`` under it) as a worksheet part; its relationships back."""
    head, tail, rels = _frame(ws, data)
    out.write(head)
    out.write(b"<sheetData>")
    overlay = _overlay_rows(ws)
    rows = _DataWriter(ws, data) if data is not None else None
    last = max([*overlay, rows.last_row if rows else 0], default=0)
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


def _row(r: int, data: _DataWriter | None, overlay: dict[int, Cell] | None) -> str:
    cells = data.cells(r) if data is not None else None
    if overlay:
        merged = dict(cells or {})
        for column, cell in overlay.items():
            merged[column] = cell_xml(cell)
        body = "".join(merged[c] for c in sorted(merged))
    elif cells:
        body = "".join(cells.values())
    else:
        return ""
    return f'<row r="{r}">{body}</row>' if body else ""


class _DataWriter:
    """Turns the data rows into cell XML, column by column as prepared once."""

    def __init__(self, ws: Worksheet, data: DataRows) -> None:
        self.ws, self.data = ws, data
        self.letters = [get_column_letter(p) for p in data.positions]
        self.styles = [_style_attr(ws, s) for s in data.styles.styles]
        self.epoch = ws.parent.epoch
        self.serials: dict[Any, str] = {}
        self.date_styles: dict[tuple[int, type], str] = {}
        self.last_row = data.first_row + len(data.rows) - 1 if data.rows else 0

    def cells(self, r: int) -> dict[int, str] | None:
        index = r - self.data.first_row
        if index < 0 or index >= len(self.data.rows):
            return None
        out: dict[int, str] = {}
        types, keep_empty = self.data.styles.types, self.data.styles.keep_empty
        positions, letters, styles = self.data.positions, self.letters, self.styles
        for j, value in enumerate(self.data.rows[index]):
            value = to_cell_value(value, types[j])
            if value is None:
                if keep_empty[j]:
                    out[positions[j]] = f'<c r="{letters[j]}{r}"{styles[j]}/>'
                continue
            out[positions[j]] = self._cell(j, f"{letters[j]}{r}", value)
        return out

    def _cell(self, j: int, ref: str, value: Any) -> str:
        kind = type(value)
        if kind is str:
            return f'<c r="{ref}"{self.styles[j]} t="inlineStr">{_inline(value)}</c>'
        if kind is bool:
            return f'<c r="{ref}"{self.styles[j]} t="b"><v>{int(value)}</v></c>'
        if kind is int or kind is float or isinstance(value, Decimal):
            number = "%.16g" % value  # noqa: UP031 - openpyxl's spelling (Decimal as a float)
            return f'<c r="{ref}"{self.styles[j]}><v>{number}</v></c>'
        if isinstance(value, _TIME_TYPES):
            return f'<c r="{ref}"{self._date_style(j, value)}><v>{self._serial(value)}</v></c>'
        return f'<c r="{ref}"{self.styles[j]} t="inlineStr">{_inline(str(value))}</c>'

    def _serial(self, value: Any) -> str:
        text = self.serials.get(value)
        if text is None:
            serial = to_excel(value, self.epoch)
            text = self.serials[value] = "%.16g" % serial  # noqa: UP031 - as openpyxl writes it
        return text

    def _date_style(self, j: int, value: Any) -> str:
        """The column's style, or — when its format shows no date — the one openpyxl gives a
        date in such a cell (its default date format for the value's type)."""
        key = (j, type(value))
        found = self.date_styles.get(key)
        if found is None:
            scratch = Cell(
                self.ws, row=1, column=1, style_array=self.data.styles.styles[j].__copy__()
            )
            if is_date_format(scratch.number_format):
                found = self.styles[j]
            else:
                scratch.value = value  # openpyxl sets its date format here
                found = _style_attr(self.ws, scratch._style)
            self.date_styles[key] = found
        return found


def _style_attr(ws: Worksheet, style: Any) -> str:
    if not any(style):
        return ""
    return f' s="{ws.parent._cell_styles.add(style)}"'


def _inline(text: str) -> str:
    text = text[:_MAX_TEXT].translate(_ESCAPES)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text}</t></is>"


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
