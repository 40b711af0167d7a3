"""The team's cells on rows that leave a keyed tab, appended to ``Archived notes``.

A row leaves a keyed tab by a ``deleteDimension`` in the structural batch;
the team's non-empty cells on it (their own columns, never the managed
ones) become rows of the managed ``Archived notes`` sheet through an
``appendDimension`` + ``updateCells`` in that same batch, so Google applies
both or neither and no failure can lose a note. The product only appends to
that sheet (created with its header on first need, tagged like the others).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sheets_sync.archive import (
    ARCHIVE_HEADERS,
    ARCHIVE_TITLE,
    ArchivedNote,
    column_name,
    key_or_row,
    notes_of_row,
)
from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.cells import SERIAL_EPOCH, column_letter, datetime_serial
from sheets_sync.backends.gsheets.columns import ColumnLayout
from sheets_sync.backends.gsheets.state import SheetState
from sheets_sync.errors import DestinationError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import ColumnType

ARCHIVED_AT_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}


def leaving_notes(
    frame: TabFrame,
    rows: Sequence[Sequence[Any]],
    layout: ColumnLayout,
    deletions: Sequence[int],
    when: dt.datetime,
) -> list[ArchivedNote]:
    """Notes of the deleted data rows (``rows``: whole rows as read, header first)."""
    if not frame.template.key or not rows:
        return []
    header = rows[0]
    out: list[ArchivedNote] = []
    for index in deletions:
        row = rows[index + 1]
        cells = [(_column_name(header, i), value) for i, value in layout.team_cells(row)]
        if cells:
            key = key_or_row(_key(frame, layout.project(row)), index + 2)
            out.extend(notes_of_row(frame.title, key, cells, when))
    return out


def _column_name(header: Sequence[Any], index: int) -> str:
    """The team's header of that column, or its letter when they left it empty."""
    return column_name(header[index] if index < len(header) else None, column_letter(index))


def _key(frame: TabFrame, managed: Sequence[Any]) -> list[Any]:
    """The row's key as the team sees it: serial numbers of date columns read as dates."""
    parts = []
    for index in frame.template.key_indexes:
        value, kind = managed[index], frame.template.columns[index].type
        if kind in (ColumnType.DATE, ColumnType.DATETIME) and isinstance(value, int | float):
            moment = SERIAL_EPOCH + dt.timedelta(days=float(value))
            parts.append(moment.date() if kind is ColumnType.DATE else moment)
        else:
            parts.append(value)
    return parts


def archive_requests(
    sheet: SheetState | None, sheet_id: int, notes: Sequence[ArchivedNote], blocked: bool
) -> list[dict[str, Any]]:
    """Create the archive (header + notes) or append the notes below its last row."""
    if not notes:
        return []
    if blocked:
        raise DestinationError(
            f"{len(notes):,} team cell(s) must move to {ARCHIVE_TITLE!r}, but a sheet with that "
            "title was not created by sheets-sync; nothing was written: rename that sheet, or "
            "run again with --adopt to let sheets-sync append to it"
        )
    width = len(ARCHIVE_HEADERS)
    rows = [[_cell(v) for v in n.as_row()] for n in notes]
    if sheet is None:
        size, frozen = (len(notes) + 1, width), (1, 0)
        return [
            structure.add_sheet(sheet_id, ARCHIVE_TITLE, *size, frozen),
            structure.tag_sheet(sheet_id, ARCHIVE_TITLE),
            _update_cells(sheet_id, 0, [[_cell(h) for h in ARCHIVE_HEADERS], *rows]),
        ]
    out = [structure.append_rows(sheet_id, len(notes))]
    if sheet.col_count < width:
        grow = {"sheetId": sheet_id, "dimension": "COLUMNS", "length": width - sheet.col_count}
        out.append({"appendDimension": grow})
    out.append(_update_cells(sheet_id, sheet.row_count, rows))
    return out


def _cell(value: Any) -> dict[str, Any]:
    """A CellData holding the value as typed RAW: text stays text, even ``=…``."""
    if isinstance(value, dt.datetime):
        number = {"numberValue": datetime_serial(value)}
        return {
            "userEnteredValue": number,
            "userEnteredFormat": {"numberFormat": ARCHIVED_AT_FORMAT},
        }
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": "" if value is None else str(value)}}


def _update_cells(sheet_id: int, row: int, rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    start = {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0}
    fields = "userEnteredValue,userEnteredFormat.numberFormat"
    return {
        "updateCells": {"rows": [{"values": r} for r in rows], "start": start, "fields": fields}
    }
