"""The ``Archived notes`` tab: where the team's cells go when their row leaves a keyed tab,
and where they come home from when the row's key returns.

A keyed tab keeps the team's own columns beside each row. When a row leaves
the data (a day leaving the rolling window, a seller done onboarding), the
cells the team typed on it are not dropped: each non-empty one becomes a row
of ``Archived notes`` — which tab, which row (its key), which column, the
value, and when — written in the same atomic write that removes the row.

When the same key is back in that tab (an earlier ``--as-of``, a corrected
order date, a seller back in onboarding), the latest archived value of each
of its (tab, key, column) goes back into the team column of that name, if
the team has not typed there since, and its archive row gets ``Restored at``:
marked, never deleted, so the history stays where the team looks for it. The
team may sort, filter and move the archive's rows and columns: columns are
found by their header, rows by what they say (:func:`read_archive`). Both
backends share this module; the product only appends rows and fills
``Restored at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ARCHIVE_TITLE = "Archived notes"
ARCHIVE_HEADERS = ("Tab", "Key", "Column", "Value", "Archived at")
RESTORED_AT = "Restored at"
ARCHIVE_COLUMNS = (*ARCHIVE_HEADERS, RESTORED_AT)
"""Every column of a new archive; an archive from before ``Restored at`` gets it on its
next write."""
KEY_SEPARATOR = " · "
_SERIAL_EPOCH = dt.datetime(1899, 12, 30)  # a date-time read back as a number (Google)


@dataclass(frozen=True)
class ArchivedNote:
    """One team cell whose row left a managed tab."""

    tab: str
    key: str
    column: str
    value: Any
    archived_at: dt.datetime

    def as_row(self) -> tuple[Any, ...]:
        return (self.tab, self.key, self.column, self.value, self.archived_at)


def key_text(parts: Sequence[Any]) -> str:
    """A row's key as one readable cell: ``2025-06-30 · FR · S1 · smartphone``."""
    return KEY_SEPARATOR.join("" if part is None else _text(part) for part in parts)


def _text(part: Any) -> str:
    """One key part as text; a whole float reads as an integer (``42.0`` is ``42``), as a
    number read back from a sheet and the same number from the database must match."""
    if isinstance(part, dt.datetime | dt.date):
        return part.isoformat()
    if isinstance(part, float) and part.is_integer():
        return str(int(part))
    return str(part)


def key_or_row(parts: Sequence[Any], row_number: int) -> tuple[Any, ...]:
    """The row's key, or ``row N`` when nothing is left of it (blank, or its column deleted).

    Both backends name such a row the same way, so the team finds it by position.
    """
    if any(part not in (None, "") for part in parts):
        return tuple(parts)
    return (f"row {row_number}",)


def column_name(header: Any, letter: str) -> str:
    """A team column as the archive names it: its header, or its letter when it has none."""
    return str(header) if header not in (None, "") else letter


def notes_of_row(
    tab: str, key: Sequence[Any], cells: Sequence[tuple[str, Any]], when: dt.datetime
) -> list[ArchivedNote]:
    """The non-empty team cells of one leaving row, as ``(column name, value)`` pairs.

    The caller names each column by its header, or by its letter when the team
    left the header empty, so a note always says where it was.
    """
    return [
        ArchivedNote(tab, key_text(key), column, value, when)
        for column, value in cells
        if value is not None and value != ""
    ]


# -- coming home -------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveLayout:
    """Where each archive column is (0-based), found by its header in row 1.

    One of the five first headers that is not there (an adopted sheet, a
    header the team cleared) is read at its usual position, as before the
    headers were looked up, unless another of ours sits there. ``Restored at``,
    new in old archives, goes to its usual column only when that column is
    free, else to the first free column right of the headers: never into a
    column of the team's. The header is written wherever the cell is empty
    (``to_name``).
    """

    at: dict[str, int]
    to_name: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return max(self.at.values()) + 1


def archive_layout(header_row: Sequence[Any]) -> ArchiveLayout:
    cells = [_cell_text(v).strip() for v in header_row]
    at: dict[str, int] = {}
    for index, name in enumerate(cells):
        if name in ARCHIVE_COLUMNS and name not in at:
            at[name] = index
    used = {i for i, name in enumerate(cells) if name}
    to_name: list[str] = []
    for position, header in enumerate(ARCHIVE_COLUMNS):
        if header in at:
            continue
        taken = set(at.values())
        if position in taken or (header == RESTORED_AT and position in used):
            position = min(set(range(len(cells) + len(ARCHIVE_COLUMNS) + 1)) - used - taken)
        at[header] = position
        if position not in used:
            to_name.append(header)
    return ArchiveLayout(at, tuple(to_name))


@dataclass(frozen=True)
class ArchiveRow:
    """One row of the archive as read: its 0-based row on the sheet (the header is 0)."""

    row: int
    tab: str
    key: str
    column: str
    value: Any
    archived_at: Any
    restored: bool


@dataclass(frozen=True)
class Archive:
    """The archive as one sync read it: its columns and its rows."""

    layout: ArchiveLayout
    rows: tuple[ArchiveRow, ...] = ()

    def waiting(self, tab: str) -> dict[str, dict[str, ArchiveRow]]:
        """key → column → the note to bring home on ``tab``.

        The latest archived row of each (tab, key, column) wins; when that one
        is restored already, nothing of that cell waits (an older value never
        comes back over a newer history).
        """
        latest: dict[tuple[str, str], ArchiveRow] = {}
        for entry in sorted((r for r in self.rows if r.tab == tab), key=_age):
            latest[(entry.key, entry.column)] = entry
        out: dict[str, dict[str, ArchiveRow]] = {}
        for (key, column), entry in latest.items():
            if not entry.restored:
                out.setdefault(key, {})[column] = entry
        return out


def read_archive(rows: Sequence[Sequence[Any]]) -> Archive:
    """The archive from its whole rows (header first); rows not naming a tab, a key and a
    column (blank, or the team's own) are not notes."""
    layout = archive_layout(rows[0] if rows else [])
    at = layout.at
    found: list[ArchiveRow] = []
    for number, row in enumerate(rows[1:], start=1):
        cell = _reader(row)
        tab, key, column = (_cell_text(cell(at[h])) for h in ARCHIVE_HEADERS[:3])
        if tab and key and column:
            restored = _cell_text(cell(at[RESTORED_AT])) != ""
            entry = ArchiveRow(
                number, tab, key, column, cell(at["Value"]), cell(at["Archived at"]), restored
            )
            found.append(entry)
    return Archive(layout, tuple(found))


def _reader(row: Sequence[Any]) -> Any:
    return lambda index: row[index] if index < len(row) else None


def _cell_text(value: Any) -> str:
    return "" if value is None else _text(value)


def _age(entry: ArchiveRow) -> tuple[dt.datetime, int]:
    """When a row was archived, for "the latest wins"; its row breaks ties (later appended)."""
    value = entry.archived_at
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _SERIAL_EPOCH + dt.timedelta(days=float(value))
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            moment = dt.datetime.min
    return moment, entry.row


@dataclass(frozen=True)
class ReturningRow:
    """A row of a keyed tab after the sync: where it is, its key, and the team columns
    (by archive name) that already hold something on it."""

    position: int
    key: str
    filled: frozenset[str]


@dataclass
class Homecoming:
    """The notes coming back to one tab: ``cells`` (row position, column name, note), and
    per missing column the notes that stay archived (``homeless``)."""

    cells: list[tuple[int, str, ArchiveRow]] = field(default_factory=list)
    homeless: dict[str, int] = field(default_factory=dict)

    @property
    def restored(self) -> list[ArchiveRow]:
        return [entry for _, _, entry in self.cells]

    def warnings(self, tab: str) -> list[str]:
        return [
            f"tab {tab!r}: {count:,} archived note(s) of rows back in the tab stay in "
            f"{ARCHIVE_TITLE!r}, as the tab has no team column {column!r} any more; add a "
            f"column headed {column!r} beside the tab's columns and sync again to bring "
            "them back, or copy them from the archive"
            for column, count in self.homeless.items()
        ]


def homecoming(
    waiting: Mapping[str, Mapping[str, ArchiveRow]],
    rows: Iterable[ReturningRow],
    columns: Collection[str],
) -> Homecoming:
    """Which archived notes go back on which rows of one tab.

    ``columns``: the tab's team columns by archive name (header, or letter when
    headerless). A cell the team typed since is never overwritten (its note
    stays archived, not marked); a note whose column is gone stays archived
    and is counted in ``homeless`` for the warning.
    """
    out = Homecoming()
    if not waiting:
        return out
    for row in rows:
        for column, entry in waiting.get(row.key, {}).items():
            if column not in columns:
                out.homeless[column] = out.homeless.get(column, 0) + 1
            elif column not in row.filled:
                out.cells.append((row.position, column, entry))
    return out


def keyless_warning(tab: str, columns: Sequence[str]) -> str:
    """What a keyless tab holding team cells says on every sync (docs/design.md §6)."""
    named = ", ".join(repr(c) for c in columns[:5]) + (" …" if len(columns) > 5 else "")
    return (
        f"tab {tab!r} has no key, so the team's cells in its column(s) {named} are kept by "
        f"row position, not by row (those of rows that go are moved to {ARCHIVE_TITLE!r}); "
        "give its template a `key:` (the columns identifying a row) so they follow their rows"
    )
