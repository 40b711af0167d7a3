"""The ``Archived notes`` sheet of a workbook: appended to, never cleared.

Team cells of rows that left a keyed tab (:func:`.extras.leaving_notes`) are
added below the rows already there, in the same save that removes their rows.
The sheet is created on first need at the end of the workbook and marked like
every managed sheet; it is not protected — the team may tidy it up — and the
product never rewrites what is on it. A sheet of the team's with that title
stops the run when there are notes to archive; ``--adopt`` takes it over and
the notes are added below what it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import ARCHIVE_HEADERS, ARCHIVE_TITLE
from sheets_sync.backends.xlsx import cells, layout, markers
from sheets_sync.backends.xlsx.extras import LeavingNote

ARCHIVED_AT_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WIDTHS = (18, 36, 24, 40, 20)


def append(wb: Workbook, notes: Sequence[LeavingNote], adopt: bool, where: str) -> None:
    """Add ``notes`` to the archive sheet (created or taken over when needed)."""
    if not notes:
        return
    found = markers.resolve(wb, ARCHIVE_TITLE)
    if found.foreign is not None and not adopt:
        raise markers.foreign_error(where, [ARCHIVE_TITLE])
    ws = found.foreign if found.foreign is not None else found.ours
    if ws is None:
        ws = _new_sheet(wb)
    ws.title = ARCHIVE_TITLE
    first = _next_row(ws)
    for offset, item in enumerate(notes):
        _write_note(ws, first + offset, item)
    layout.autofilter(ws, len(ARCHIVE_HEADERS), first + len(notes) - 2)
    markers.mark_sheet(wb, ARCHIVE_TITLE)


def _new_sheet(wb: Workbook) -> Worksheet:
    """The archive sheet, at the end of the workbook, with its header."""
    ws = wb.create_sheet(ARCHIVE_TITLE)
    cells.write_header(ws, ARCHIVE_HEADERS)
    for column, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    layout.freeze(ws, 1, 0)
    return ws


def _next_row(ws: Worksheet) -> int:
    """The row after the last one holding a value (trailing formatted rows don't count)."""
    rows = {r for (r, _), cell in ws._cells.items() if cell.value is not None}
    return max(rows, default=1) + 1


def _write_note(ws: Worksheet, row: int, item: LeavingNote) -> None:
    note = item.note
    for column, text in enumerate((note.tab, note.key, note.column), start=1):
        cells.set_value(ws.cell(row, column), text)
    value = ws.cell(row, 4)
    cells.set_value(value, note.value)
    value._style = item.style.__copy__()
    when = ws.cell(row, 5)
    when.value = note.archived_at
    when.number_format = ARCHIVED_AT_FORMAT
