"""Which columns of a managed tab are the product's and where every column goes next.

The previous version of a tab tells, through its column markers
(:mod:`.markers`), where each managed column is now: the team may have
inserted columns between them, moved them or deleted some. Every other
column up to the last one holding a value is the team's. The next write
keeps the sheet's column order as the team left it — their columns and the
managed ones they moved stay where they are — and puts each managed column
that is missing (new in the template, or deleted by the team) right after the
template column before it (the first one at A). So a template that gains a
column at its end shifts the team's trailing columns right instead of
overwriting them, and a column of a template that dropped it disappears.

A tab without column markers (written before they existed, or adopted) is
read the old way: the managed columns are the first ones, as many as its
``ss_<title>`` range (or the template) says, and the team's are to their
right — or, on a tab of the previous version, any column in that range whose
header is not a template header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.xlsx import markers
from sheets_sync.frame import TabFrame


@dataclass(frozen=True)
class TeamColumn:
    """A team column of the previous version, by where it was."""

    old: int


@dataclass
class OldColumns:
    """The previous version's columns: managed ones (→ header, None if unknown) and the team's."""

    managed: dict[int, str | None] = field(default_factory=dict)
    team: list[TeamColumn] = field(default_factory=list)

    def position_of(self, header: str) -> int | None:
        return next((c for c, h in self.managed.items() if h == header), None)


def read_old(
    wb: Workbook, ws: Worksheet, frame: TabFrame, adopted: bool = False, last: int | None = None
) -> OldColumns:
    """Classify the columns of ``ws``, the tab's previous version (or an adopted sheet).

    ``last``: the sheet's last column holding a value, when the sheet was read
    without its computed columns (:meth:`.package.Package.scan`).
    """
    places = None if adopted else markers.column_places(wb, frame.title, ws.title)
    if places is None:
        managed = _managed_by_position(wb, ws, frame, adopted)
    else:
        names = {markers.column_marker(frame.title, h): h for h in frame.headers}
        managed = {p: names.get(n) for n, p in places.items() if p is not None}
    return OldColumns(managed, _team_columns(ws, managed, last))


def _managed_by_position(
    wb: Workbook, ws: Worksheet, frame: TabFrame, adopted: bool
) -> dict[int, str | None]:
    """Without markers the managed columns are the first ones.

    An adopted sheet's first columns are replaced whatever they hold. On a
    sheet written before markers existed, a column inside that range whose
    header is not a template header (one the team inserted; Excel widened the
    ``ss_`` range around it) is the team's.
    """
    width = frame.width if adopted else markers.managed_width(wb, frame.title, frame.width)
    headers = set(frame.headers)
    managed: dict[int, str | None] = {}
    for column in range(1, width + 1):
        value = ws.cell(1, column).value
        header = value if isinstance(value, str) and value in headers else None
        if adopted or (header is not None and header not in managed.values()):
            managed[column] = header
    return managed


def _team_columns(
    ws: Worksheet, managed: dict[int, str | None], last: int | None = None
) -> list[TeamColumn]:
    """Unmanaged columns up to the last one holding a value (empty gaps the team left
    included)."""
    if last is None:
        last = max((c for (_, c), cell in ws._cells.items() if cell.value is not None), default=0)
    return [TeamColumn(c) for c in range(1, last + 1) if c not in managed]


def place(headers: Sequence[str], old: OldColumns) -> tuple[list[int], list[int]]:
    """Sheet columns (1-based) of the managed columns, then of the team columns, in order."""
    wanted = {h: i for i, h in enumerate(headers)}
    team_at = {t.old: j for j, t in enumerate(old.team)}
    slots: list[tuple[bool, int]] = []  # (is managed, index), left to right
    for column in sorted({*old.managed, *team_at}):
        header = old.managed.get(column)
        if column in team_at:
            slots.append((False, team_at[column]))
        elif header in wanted and (True, wanted[header]) not in slots:
            slots.append((True, wanted[header]))
    for index in range(len(headers)):
        if (True, index) not in slots:
            after = slots.index((True, index - 1)) + 1 if index else 0
            slots.insert(after, (True, index))
    managed, placed = [0] * len(headers), [0] * len(old.team)
    for position, (is_managed, index) in enumerate(slots, start=1):
        if is_managed:
            managed[index] = position
        else:
            placed[index] = position
    return managed, placed
