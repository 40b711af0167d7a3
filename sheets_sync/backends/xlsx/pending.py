"""The team's pending edits in a keyed tab's editable columns, carried across re-syncs.

A workbook tab is rebuilt on every sync, and the data has nothing in its
editable columns (`New price`, `Reason`: the team types there, a push reads
them). So what the team typed but has not pushed yet is read off the previous
version by row key and written back on the same row, wherever it moved — as
the Google backend keeps the cell (:class:`..gsheets.diff.ColumnRules`
``keep``): a value from the data wins, an empty one never erases the team's.
On a row holding such an edit, the ``hold_while_pending`` columns (`Version`)
keep the previous version's cell too, so the push still compares the database
with the version the edit was typed against and reports a change made by
someone else in between as a conflict — unless that cell is blank or not a
version (:func:`..base.holdable`): then the data's value is written. Cells are copied whole (value, data
type, style), so a formula typed there stays a formula. A frame computing columns from
the pending edits (`Expected at new price 28d`) gets them here (:func:`filled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.base import holdable
from sheets_sync.backends.xlsx.columns import OldColumns
from sheets_sync.backends.xlsx.extras import CellCopy, Key, normalise_key
from sheets_sync.frame import TabFrame


@dataclass
class Pending:
    """Per row key, the template columns to restore: index → cell copy."""

    by_key: dict[Key, dict[int, CellCopy]] = field(default_factory=dict)
    editable: frozenset[int] = frozenset()


def capture(ws: Worksheet, frame: TabFrame, old: OldColumns) -> Pending:
    """The rows of ``ws`` with a value in an editable column, by key (nothing on a tab
    without a key or editable column, or whose key column the team deleted)."""
    template = frame.template
    edit_at = _places(template.editable_indexes, frame, old)
    key_at = [old.position_of(k) for k in template.key]
    if not template.key or not edit_at or None in key_at:
        return Pending()
    hold_at = _places(template.held_indexes, frame, old)
    grid = ws._cells
    pending = Pending(editable=frozenset(edit_at))
    for r in range(2, ws.max_row + 1):
        copies = {j: _copy(grid.get((r, c))) for j, c in edit_at.items()}
        edits = {j: copy for j, copy in copies.items() if copy is not None}
        if not edits:
            continue
        key = normalise_key([_value(grid.get((r, c))) for c in key_at])
        if all(part is None for part in key):
            continue
        held = {
            j: copy
            for j, c in hold_at.items()
            if holdable(_value(grid.get((r, c)))) and (copy := _copy(grid.get((r, c))))
        }
        pending.by_key.setdefault(key, {**held, **edits})
    return pending


def _places(indexes: Sequence[int], frame: TabFrame, old: OldColumns) -> dict[int, int]:
    """Template column index → its sheet column in the previous version (where it is)."""
    places = {j: old.position_of(frame.headers[j]) for j in indexes}
    return {j: c for j, c in places.items() if c is not None}


def restore(ws: Worksheet, pending: Pending, frame: TabFrame, positions: Sequence[int]) -> None:
    """Put each pending row's cells back on its row (``positions``: managed sheet columns)."""
    if not pending.by_key:
        return
    for i, row in enumerate(frame.rows):
        found = pending.by_key.get(normalise_key(frame.key_of(row)))
        if found is None:
            continue
        for j, copied in found.items():
            if j in pending.editable and row[j] is not None:
                continue  # the data has a value for it: the data wins, as on Google
            _put(ws, i + 2, positions[j], copied)


def filled(frame: TabFrame, pending: Pending) -> TabFrame:
    """``frame`` with the columns it computes from pending edits filled on the rows holding
    one (:meth:`TabFrame.with_pending`, as the Google backend does): the team's cells as
    captured, the values of cells (a formula as its text), not their styles."""
    if frame.from_pending is None or not pending.by_key:
        return frame
    found: dict[int, dict[int, Any]] = {}
    for i, row in enumerate(frame.rows):
        copies = pending.by_key.get(normalise_key(frame.key_of(row)))
        if copies is not None:
            found[i] = {j: copy[0] for j, copy in copies.items() if j in pending.editable}
    return frame.with_pending(found)


def _put(ws: Worksheet, row: int, column: int, copied: CellCopy) -> None:
    """The copied cell at (row, column): it hides the data's cell (data rows are streamed
    under the sheet's cells)."""
    cell = ws.cell(row=row, column=column)
    cell._value, cell.data_type, cell._style = copied[0], copied[1], copied[2]


def _copy(cell: Cell | None) -> CellCopy | None:
    """A copy of a non-blank cell (whitespace alone is no edit, as the push reads it)."""
    if cell is None or cell.value is None:
        return None
    if isinstance(cell.value, str) and not cell.value.strip():
        return None
    return (cell._value, cell.data_type, cell._style.__copy__())


def _value(cell: Cell | None) -> Any:
    return None if cell is None else cell.value
