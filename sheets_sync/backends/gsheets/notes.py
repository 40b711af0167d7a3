"""The team's cells on rows that leave a managed tab, appended to ``Archived notes``, and
the archived ones coming home when their key is back.

A row leaves a tab by a ``deleteDimension`` in the structural batch; the
team's non-empty cells on it (their own columns, never the managed ones)
become rows of the managed ``Archived notes`` sheet through an
``appendDimension`` + ``updateCells`` in that same batch, so Google applies
both or neither and no failure can lose a note. A keyless tab names such a row
``row N``. The archive is read with the managed tabs (one ``values:batchGet``);
a keyed row whose key has notes waiting (:meth:`.Archive.waiting`) gets them
back by ``updateCells`` in the same batch, at the row's and column's places
once the batch's row and column moves ran, and the archive rows get ``Restored
at``. The archive's columns are found by header, so the team may move them;
the product only appends rows and fills ``Restored at`` (the sheet is created
with its header on first need, tagged like the others).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sheets_sync.archive import (
    ARCHIVE_COLUMNS,
    ARCHIVE_TITLE,
    RESTORED_AT,
    Archive,
    ArchivedNote,
    ArchiveRow,
    Homecoming,
    ReturningRow,
    archive_layout,
    column_name,
    homecoming,
    key_or_row,
    key_text,
    keyless_warning,
    notes_of_row,
)
from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.cells import (
    SERIAL_EPOCH,
    Cell,
    column_letter,
    datetime_serial,
)
from sheets_sync.backends.gsheets.columns import ColumnLayout
from sheets_sync.backends.gsheets.diff import Alignment
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
    """Notes of the deleted data rows (``rows``: whole rows as read, header first); a
    keyless tab's are named by their row."""
    if not rows:
        return []
    header = rows[0]
    out: list[ArchivedNote] = []
    for index in deletions:
        row = rows[index + 1]
        cells = [(_column_name(header, i), value) for i, value in layout.team_cells(row)]
        if cells:
            parts = _key(frame, layout.project(row)) if frame.template.key else []
            out.extend(notes_of_row(frame.title, key_or_row(parts, index + 2), cells, when))
    return out


def keyless_warnings(
    frame: TabFrame, rows: Sequence[Sequence[Any]], layout: ColumnLayout
) -> list[str]:
    """A keyless tab holding team cells says so on every sync (they are kept by position)."""
    if frame.template.key or len(rows) < 2:
        return []
    used = sorted({i for row in rows[1:] for i, _ in layout.team_cells(row)})
    return [keyless_warning(frame.title, [_column_name(rows[0], i) for i in used])] if used else []


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


def coming_home(
    frame: TabFrame,
    rows: Sequence[Sequence[Any]],
    layout: ColumnLayout,
    alignment: Alignment,
    desired: Sequence[Sequence[Cell]],
    archive: Archive | None,
    width: int,
) -> Homecoming:
    """The archived notes of this tab whose key is on a row after the sync (a keyed tab
    whose key columns are all there; none otherwise). ``width``: the sheet's columns now."""
    key_gone = any(layout.before[i] is None for i in frame.template.key_indexes)
    if archive is None or not frame.template.key or key_gone:
        return Homecoming()
    waiting = archive.waiting(frame.title)
    if not waiting:
        return Homecoming()
    header = rows[0] if rows else []
    returning = []
    for position, placement in enumerate(alignment.layout):
        key = key_text(_key(frame, desired[placement.desired]))
        filled: frozenset[str] = frozenset()
        if placement.source is not None:
            row = rows[placement.source + 1]
            filled = frozenset(_column_name(header, i) for i, _ in layout.team_cells(row))
        returning.append(ReturningRow(position, key, filled))
    return homecoming(waiting, returning, team_columns(header, layout, width))


def team_columns(header: Sequence[Any], layout: ColumnLayout, width: int) -> dict[str, int]:
    """The tab's team columns now, by archive name → index (the first of a repeated name)."""
    out: dict[str, int] = {}
    for index in range(width):
        if index not in layout.managed_now:
            out.setdefault(_column_name(header, index), index)
    return out


def restore_requests(
    sheet_id: int,
    rows: Sequence[Sequence[Any]],
    layout: ColumnLayout,
    coming: Homecoming,
    width: int,
) -> list[dict[str, Any]]:
    """One ``updateCells`` per note, placed after the batch's row and column moves: the row
    at its final position, the column shifted by the managed columns restored before it."""
    if not coming.cells:
        return []
    header = rows[0] if rows else []
    where = team_columns(header, layout, width)
    inserted = sorted(a for b, a in zip(layout.before, layout.after, strict=True) if b is None)
    out = []
    for position, column, entry in coming.cells:
        start = {"sheetId": sheet_id, "rowIndex": position + 1, "columnIndex": 0}
        start["columnIndex"] = _after_inserts(where[column], inserted)
        body = {"rows": [{"values": [_cell(entry.value)]}], "start": start}
        out.append({"updateCells": {**body, "fields": "userEnteredValue"}})
    return out


def _after_inserts(index: int, inserted: Sequence[int]) -> int:
    """A column's index once managed columns were inserted at ``inserted`` (final indexes)."""
    for at in inserted:
        if at <= index:
            index += 1
    return index


def archive_requests(
    sheet: SheetState | None,
    sheet_id: int,
    notes: Sequence[ArchivedNote],
    restored: Sequence[ArchiveRow],
    archive: Archive | None,
    blocked: bool,
    when: dt.datetime,
) -> list[dict[str, Any]]:
    """Create the archive (header + notes), or append the notes below its last row in the
    columns its headers name, and mark the notes gone home ``Restored at``."""
    if not notes and not restored:
        return []
    if blocked:
        raise DestinationError(
            f"{len(notes):,} team cell(s) must move to {ARCHIVE_TITLE!r}, but a sheet with that "
            "title was not created by sheets-sync; nothing was written: rename that sheet, or "
            "run again with --adopt to let sheets-sync append to it"
        )
    if sheet is None:
        size, frozen = (len(notes) + 1, len(ARCHIVE_COLUMNS)), (1, 0)
        rows = [[_cell(v) for v in n.as_row()] for n in notes]
        return [
            structure.add_sheet(sheet_id, ARCHIVE_TITLE, *size, frozen),
            structure.tag_sheet(sheet_id, ARCHIVE_TITLE),
            _update_cells(sheet_id, 0, [[_cell(h) for h in ARCHIVE_COLUMNS], *rows]),
        ]
    layout = archive.layout if archive is not None else archive_layout([])
    at = layout.at
    out = []
    if notes:
        out.append(structure.append_rows(sheet_id, len(notes)))
    if sheet.col_count < layout.width:
        grow = {"sheetId": sheet_id, "dimension": "COLUMNS"}
        out.append({"appendDimension": {**grow, "length": layout.width - sheet.col_count}})
    out += [_one_cell(sheet_id, 0, at[h], h) for h in layout.to_name]
    out += [_one_cell(sheet_id, e.row, at[RESTORED_AT], when) for e in restored]
    if notes:
        rows = [_placed(n.as_row(), at, layout.width) for n in notes]
        out.append(_update_cells(sheet_id, sheet.row_count, rows))
    return out


def _placed(values: Sequence[Any], at: dict[str, int], width: int) -> list[dict[str, Any]]:
    """A note's row with each value in the column its header names (the others left empty)."""
    row: list[dict[str, Any]] = [{} for _ in range(width)]
    for header, value in zip(ARCHIVE_COLUMNS, values, strict=False):
        row[at[header]] = _cell(value)
    return row


def _one_cell(sheet_id: int, row: int, column: int, value: Any) -> dict[str, Any]:
    start = {"sheetId": sheet_id, "rowIndex": row, "columnIndex": column}
    return _update_cells(sheet_id, row, [[_cell(value)]], start)


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


def _update_cells(
    sheet_id: int,
    row: int,
    rows: list[list[dict[str, Any]]],
    start: dict[str, Any] | None = None,
) -> dict[str, Any]:
    start = start or {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0}
    fields = "userEnteredValue,userEnteredFormat.numberFormat"
    return {
        "updateCells": {"rows": [{"values": r} for r in rows], "start": start, "fields": fields}
    }
