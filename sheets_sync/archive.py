"""The ``Archived notes`` tab: where the team's cells go when their row leaves a keyed tab.

A keyed tab keeps the team's own columns beside each row. When a row leaves
the data (a day leaving the rolling window, a seller done onboarding), the
cells the team typed on it are not dropped: each non-empty one becomes a row
of ``Archived notes`` — which tab, which row (its key), which column, the
value, and when — written in the same atomic write that removes the row.
Both backends share this shape; the product only ever appends to that tab.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ARCHIVE_TITLE = "Archived notes"
ARCHIVE_HEADERS = ("Tab", "Key", "Column", "Value", "Archived at")
KEY_SEPARATOR = " · "


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
    if isinstance(part, dt.datetime | dt.date):
        return part.isoformat()
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
