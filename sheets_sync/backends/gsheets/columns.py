"""Where each managed column of a tab is, and what the batch does to keep it there.

Each managed column carries a column tag (:data:`.state.COLUMN_KEY`, value =
its header) that Google moves with it, so the product follows the column
wherever the team puts it:

- a column the team inserts (anywhere, also between managed columns) has no
  tag: it is theirs and is never written, formatted or protected;
- a managed column the team moved stays where they put it;
- a managed column the team deleted is restored right after the previous
  managed column (at the start for the first one), with its tag, and written;
- a sheet synced before the tags existed (or adopted) is tagged on the way:
  each managed column is found by its header in row 1, else at its template
  position when that cell is not another managed header.

Pure: the layout gives each template column's index before the structural
batch (to read the values) and after it (to write them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.cells import EMPTY
from sheets_sync.backends.gsheets.state import SheetState


@dataclass(frozen=True)
class ColumnLayout:
    """``before[j]``: template column j's index now (None: not on the sheet); ``after[j]``:
    its index once the batch ran; ``grid_cols``: the sheet's columns after the inserts."""

    before: tuple[int | None, ...]
    after: tuple[int, ...]
    grid_cols: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def managed_now(self) -> frozenset[int]:
        return frozenset(i for i in self.before if i is not None)

    def project(self, row: Sequence[Any]) -> list[Any]:
        """The managed cells of a row as read now, in template order."""
        return [row[i] if i is not None and i < len(row) else EMPTY for i in self.before]

    def team_cells(self, row: Sequence[Any]) -> list[tuple[int, Any]]:
        """``(column index, value)`` of the non-empty cells of a row outside managed columns."""
        managed = self.managed_now
        return [
            (i, value)
            for i, value in enumerate(row)
            if i not in managed and value is not None and value != EMPTY
        ]


def plan_columns(
    sheet: SheetState | None,
    sheet_id: int,
    headers: Sequence[str],
    header_row: Sequence[Any],
    tags: Mapping[str, int],
    tagged_sheet: bool = False,
) -> ColumnLayout:
    """The layout of one managed tab (a new sheet is tagged column by column).

    ``tagged_sheet``: the sheet carried our tag before this run, so its columns
    are known by their tags alone (none left: the team deleted them all).
    """
    if sheet is None:
        requests = [structure.tag_column(sheet_id, j, h) for j, h in enumerate(headers)]
        return ColumnLayout(
            (None,) * len(headers), tuple(range(len(headers))), len(headers), requests
        )
    known = bool(tags) or tagged_sheet
    if known:
        before = [tags.get(h) for h in headers]
        before = [i if i is not None and i < sheet.col_count else None for i in before]
    else:
        before = _untagged(headers, header_row, sheet.col_count)
    return _restore(sheet_id, headers, before, sheet.col_count, tagged=known)


def _untagged(headers: Sequence[str], header_row: Sequence[Any], cols: int) -> list[int | None]:
    """Managed columns of a sheet without column tags: by header, else by template position."""
    row = list(header_row[:cols])
    found: list[int | None] = []
    taken: set[int] = set()
    for header in headers:
        index = next((i for i, v in enumerate(row) if v == header and i not in taken), None)
        found.append(index)
        if index is not None:
            taken.add(index)
    names = set(headers)
    for j, index in enumerate(found):
        cell = row[j] if j < len(row) else EMPTY
        if index is None and j < cols and j not in taken and cell not in names:
            found[j] = j
            taken.add(j)
    return found


def _restore(
    sheet_id: int, headers: Sequence[str], before: list[int | None], cols: int, tagged: bool
) -> ColumnLayout:
    """Insert each missing managed column after the previous one; tag what needs it."""
    now: list[int | None] = list(before)
    requests: list[dict[str, Any]] = []
    for j, header in enumerate(headers):
        if now[j] is not None:
            continue
        previous = now[j - 1] if j > 0 else None
        index = previous + 1 if previous is not None else 0
        requests.append(structure.insert_column(sheet_id, index, cols))
        now = [i + 1 if i is not None and i >= index else i for i in now]
        now[j] = index
        cols += 1
        requests.append(structure.tag_column(sheet_id, index, header))
    after = tuple(i for i in now if i is not None)
    if not tagged:
        requests += [
            structure.tag_column(sheet_id, after[j], h)
            for j, h in enumerate(headers)
            if before[j] is not None
        ]
    return ColumnLayout(tuple(before), after, cols, requests)
