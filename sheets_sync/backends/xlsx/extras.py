"""The team's own columns in a managed tab, carried across re-syncs, and the notes
of rows that leave.

A managed tab is rebuilt on every sync, but cells the team typed in its own
columns (comments, owners, follow-ups) — to the right of the managed ones or
in columns inserted between them (:mod:`.columns`) — belong to a row, not to
a position. On a keyed tab they are matched by the row's key and follow it
when rows move or appear (new rows get empty team cells). When a row leaves
the data — a day leaving the rolling window, a seller done onboarding — its
non-empty team cells become rows of the ``Archived notes`` sheet
(:mod:`sheets_sync.archive`, written by :mod:`.notes`) in the same save, so
nothing the team wrote disappears without a trace; notes of a returning key
come back (:mod:`.notes`). A tab without a key keeps team cells by row
position — with a warning on every sync — and archives those of rows past
its new end as ``row N``.

Which columns are managed and where they are is :mod:`.columns`' job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import ArchivedNote, column_name, key_or_row, notes_of_row
from sheets_sync.backends.xlsx.columns import OldColumns, TeamColumn
from sheets_sync.frame import TabFrame

CellCopy = tuple[Any, str, Any]  # value, data type, style array
Key = tuple[Any, ...]


@dataclass
class Extras:
    """Team cells captured from the previous version of a tab."""

    columns: list[TeamColumn] = field(default_factory=list)
    headers: list[CellCopy | None] = field(default_factory=list)
    by_key: dict[Key, list[CellCopy | None]] = field(default_factory=dict)
    by_position: list[list[CellCopy | None]] = field(default_factory=list)
    widths: list[float | None] = field(default_factory=list)
    keyed: bool = False
    old_keys: set[Key] = field(default_factory=set)
    lost_key: list[str] = field(default_factory=list)  # key columns the team deleted
    orphans: list[tuple[Key, list[CellCopy | None]]] = field(default_factory=list)  # by row

    @property
    def empty(self) -> bool:
        return not self.columns

    def column_name(self, index: int) -> str:
        """Team column ``index`` as the archive names it (header, or letter when headerless)."""
        return _column_name(self.headers[index], self.columns[index])

    def kept_rows(self, frame: TabFrame) -> int:
        """Rows of the previous version whose key is still in the data."""
        new = {normalise_key(frame.key_of(row)) for row in frame.rows}
        return len(self.old_keys & new)


@dataclass(frozen=True)
class LeavingNote:
    """A team cell of a row that left, with its style (the value keeps its number format)."""

    note: ArchivedNote
    style: Any


def capture(ws: Worksheet, frame: TabFrame, old: OldColumns) -> Extras:
    """The team's cells of ``ws``, keyed by row key when the tab has one.

    Only key and team cells are read, straight from the sheet's cell map: a
    large tab with no team column costs one key look-up per row. When the
    team deleted a key column the rows cannot be matched any more: their team
    cells become ``orphans``, archived rather than guessed onto a row.
    """
    key = frame.template.key
    key_at = [old.position_of(k) for k in key]
    extras = Extras(columns=list(old.team), keyed=bool(key) and None not in key_at)
    extras.lost_key = [k for k, at in zip(key, key_at, strict=True) if at is None]
    extras.widths = [_width(ws, t.old) for t in old.team]
    extras.headers = [copy_cell(ws._cells.get((1, t.old))) for t in old.team]
    grid = ws._cells
    for r in range(2, ws.max_row + 1):
        cells = [copy_cell(grid.get((r, t.old))) for t in old.team]
        if not key:
            extras.by_position.append(cells)
            continue
        values = normalise_key([None if c is None else _value(grid.get((r, c))) for c in key_at])
        if extras.lost_key:
            if any(cells):
                extras.orphans.append((key_or_row(values, r), cells))
        elif any(part is not None for part in values):
            extras.old_keys.add(values)
            if any(cells):
                extras.by_key.setdefault(values, cells)
    return extras


def _value(cell: Cell | None) -> Any:
    return None if cell is None else cell.value


def restore(ws: Worksheet, extras: Extras, frame: TabFrame, positions: Sequence[int]) -> None:
    """Write captured team cells at their new columns, row by row."""
    if extras.empty:
        return
    _put_row(ws, 1, positions, extras.headers)
    for i, row in enumerate(frame.rows):
        if extras.keyed:
            cells = extras.by_key.get(normalise_key(frame.key_of(row)))
        else:
            cells = extras.by_position[i] if i < len(extras.by_position) else None
        if cells:
            _put_row(ws, i + 2, positions, cells)
    for position, width in zip(positions, extras.widths, strict=True):
        if width is not None:
            ws.column_dimensions[get_column_letter(position)].width = width


def leaving_notes(extras: Extras, frame: TabFrame, when: dt.datetime) -> list[LeavingNote]:
    """The non-empty team cells of keyed rows that are not in the data any more (of every
    row, when the team deleted a key column); of a keyless tab, those of the rows past its
    new last row, named ``row N``."""
    if not extras.by_key and not extras.orphans and not extras.by_position:
        return []
    staying = {normalise_key(frame.key_of(row)) for row in frame.rows}
    leaving = extras.orphans or [
        (key, cells) for key, cells in extras.by_key.items() if key not in staying
    ]
    if not frame.template.key:
        past = list(enumerate(extras.by_position))[len(frame.rows) :]
        leaving = [(key_or_row((), i + 2), cells) for i, cells in past if any(cells)]
    names = [extras.column_name(i) for i in range(len(extras.columns))]
    out: list[LeavingNote] = []
    for key, cells in leaving:
        present = [
            (n, c) for n, c in zip(names, cells, strict=True) if c is not None and _filled(c)
        ]
        notes = notes_of_row(frame.title, key, [(n, c[0]) for n, c in present], when)
        out.extend(LeavingNote(note, c[2]) for note, (_, c) in zip(notes, present, strict=True))
    return out


def _filled(cell: CellCopy) -> bool:
    return cell[0] is not None and cell[0] != ""


def _column_name(header: CellCopy | None, column: TeamColumn) -> str:
    """The team's header of the column, or its letter when they left it empty."""
    return column_name(None if header is None else header[0], get_column_letter(column.old))


def _put_row(
    ws: Worksheet, row: int, positions: Sequence[int], cells: Sequence[CellCopy | None]
) -> None:
    for position, copied in zip(positions, cells, strict=True):
        if copied is None:
            continue
        cell = ws.cell(row=row, column=position)
        cell._value, cell.data_type, cell._style = copied[0], copied[1], copied[2]


def copy_cell(cell: Cell | None) -> CellCopy | None:
    if cell is None or cell.value is None:
        return None
    return (cell._value, cell.data_type, cell._style.__copy__())


def _width(ws: Worksheet, column: int) -> float | None:
    dim = ws.column_dimensions.get(get_column_letter(column))
    return dim.width if dim is not None and dim.customWidth else None


def normalise_key(values: Sequence[Any]) -> tuple[Any, ...]:
    """Key values as both a frame and a reopened workbook spell them.

    A workbook gives dates back as midnight datetimes and Decimals as floats,
    so keys are compared in one canonical form.
    """
    return tuple(_canonical(v) for v in values)


def _canonical(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value.replace(microsecond=0)
    if isinstance(value, bool | str | dt.date):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return int(number) if number.is_integer() else round(number, 9)
    return str(value)
