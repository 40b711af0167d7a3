"""The ``Archived notes`` sheet of a workbook: appended to, marked, never cleared.

Team cells of rows that left a tab (:func:`.extras.leaving_notes`) are
added below the rows already there, in the same save that removes their rows.
The archive is read once per write, before the tabs are (:meth:`Homecomings.read`):
a keyed row whose key has notes waiting (:meth:`.Archive.waiting`) gets them
back into its team cells, with the style they left with, and their archive
rows get ``Restored at`` — in that same save. The archive's columns are found
by header, so the team may sort, filter and move its rows and columns.

The sheet is created on first need at the end of the workbook and marked like
every managed sheet; it is not protected — the team may tidy it up — and the
product never rewrites what is on it. A sheet of the team's with that title
stops the run when there are notes to archive; ``--adopt`` takes it over and
the notes are added below what it holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import (
    ARCHIVE_COLUMNS,
    ARCHIVE_TITLE,
    RESTORED_AT,
    Archive,
    ArchiveLayout,
    ArchiveRow,
    Homecoming,
    ReturningRow,
    archive_layout,
    homecoming,
    key_text,
    keyless_warning,
    read_archive,
)
from sheets_sync.backends.base import WrittenTab
from sheets_sync.backends.xlsx import cells, layout, markers, save
from sheets_sync.backends.xlsx.extras import Extras, LeavingNote, copy_cell, normalise_key
from sheets_sync.backends.xlsx.package import Package
from sheets_sync.frame import TabFrame

ARCHIVED_AT_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WIDTHS = (18, 36, 24, 40, 20, 20)


@dataclass
class Homecomings:
    """The archive as this write read it, and the notes that went home from it."""

    when: dt.datetime
    ws: Worksheet | None = None
    archive: Archive | None = None
    restored: list[ArchiveRow] = field(default_factory=list)

    @classmethod
    def read(cls, package: Package, adopt: bool, when: dt.datetime) -> Homecomings:
        """Read the archive sheet whole (it is small and rewritten when it changes); a team
        sheet with its title is read only when ``--adopt`` takes it over."""
        found = markers.resolve(package.wb, ARCHIVE_TITLE)
        ws = found.ours if found.ours is not None else found.foreign if adopt else None
        if ws is None:
            return cls(when)
        package.load(ws)
        return cls(when, ws, read_archive([list(r) for r in ws.iter_rows(values_only=True)]))

    def bring(self, kept: Extras, frame: TabFrame, written: WrittenTab) -> None:
        """Put the notes waiting for ``frame``'s rows into ``kept`` (written with the tab's
        team cells) and say on ``written`` what came home and what could not."""
        if not frame.template.key:
            written.warnings += _keyless(kept, frame)
            return
        if self.archive is None or kept.lost_key:
            return
        coming = _coming(self.archive, kept, frame)
        for position, column, entry in coming.cells:
            key = normalise_key(frame.key_of(frame.rows[position]))
            row = kept.by_key.setdefault(key, [None] * len(kept.columns))
            assert self.ws is not None
            at = self.archive.layout.at["Value"]
            row[_names(kept).index(column)] = copy_cell(self.ws.cell(entry.row + 1, at + 1))
        self.restored += coming.restored
        written.restored_notes = len(coming.cells)
        written.warnings += coming.warnings(frame.title)

    def save(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        leaving: Sequence[LeavingNote],
        adopt: bool,
        where: str,
    ) -> None:
        """Append ``leaving`` and mark the notes gone home, in the write's one save."""
        if not leaving and not self.restored:
            return
        if self.ws is None:
            found = markers.resolve(package.wb, ARCHIVE_TITLE)
            if found.foreign is not None and not adopt:
                raise markers.foreign_error(where, [ARCHIVE_TITLE])
        ws = self.ws if self.ws is not None else _new_sheet(package.wb)
        places = self.archive.layout if self.archive is not None else archive_layout([])
        ws.title = ARCHIVE_TITLE
        _name_columns(ws, places)
        for entry in self.restored:
            _stamp(ws.cell(entry.row + 1, places.at[RESTORED_AT] + 1), self.when)
        first = _next_row(ws)
        for offset, item in enumerate(leaving):
            _write_note(ws, first + offset, item, places)
        layout.autofilter(ws, places.width, max(first + len(leaving) - 2, 1))
        markers.mark_sheet(package.wb, ARCHIVE_TITLE)
        writes.append(save.SheetWrite(ws, None, package.part_of(ws)))


def _coming(archive: Archive, kept: Extras, frame: TabFrame) -> Homecoming:
    names = _names(kept)
    returning = []
    for position, row in enumerate(frame.rows):
        key = normalise_key(frame.key_of(row))
        now = kept.by_key.get(key) or []
        filled = frozenset(n for n, c in zip(names, now, strict=False) if c and _filled(c[0]))
        returning.append(ReturningRow(position, key_text(key), filled))
    return homecoming(archive.waiting(frame.title), returning, names)


def _names(kept: Extras) -> list[str]:
    return [kept.column_name(i) for i in range(len(kept.columns))]


def _filled(value: object) -> bool:
    return value is not None and value != ""


def _keyless(kept: Extras, frame: TabFrame) -> list[str]:
    used = sorted({i for row in kept.by_position for i, c in enumerate(row) if c is not None})
    return [keyless_warning(frame.title, [kept.column_name(i) for i in used])] if used else []


def _new_sheet(wb: Workbook) -> Worksheet:
    """The archive sheet, at the end of the workbook, with its header."""
    ws = wb.create_sheet(ARCHIVE_TITLE)
    cells.write_header(ws, ARCHIVE_COLUMNS)
    for column, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    layout.freeze(ws, 1, 0)
    return ws


def _name_columns(ws: Worksheet, places: ArchiveLayout) -> None:
    """Headers of the columns placed where row 1 was empty (``Restored at`` on an old one)."""
    for header in places.to_name:
        cell = ws.cell(1, places.at[header] + 1)
        if cell.value in (None, ""):
            cells.set_value(cell, header)


def _next_row(ws: Worksheet) -> int:
    """The row after the last one holding a value (trailing formatted rows don't count)."""
    rows = {r for (r, _), cell in ws._cells.items() if cell.value is not None}
    return max(rows, default=1) + 1


def _write_note(ws: Worksheet, row: int, item: LeavingNote, places: ArchiveLayout) -> None:
    note, at = item.note, places.at
    for header, text in zip(ARCHIVE_COLUMNS[:3], (note.tab, note.key, note.column), strict=True):
        cells.set_value(ws.cell(row, at[header] + 1), text)
    value = ws.cell(row, at["Value"] + 1)
    cells.set_value(value, note.value)
    value._style = item.style.__copy__()
    _stamp(ws.cell(row, at["Archived at"] + 1), note.archived_at)


def _stamp(cell: Cell, when: dt.datetime) -> None:
    cell.value = when
    cell.number_format = ARCHIVED_AT_FORMAT
