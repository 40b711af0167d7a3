"""Which columns of a managed tab are the product's and where every column goes next.

The previous version of a tab tells, through its column markers
(:mod:`.markers`), where each managed column is now: the team may have
inserted columns between them, moved them or deleted some. Every other
non-empty column is the team's. On the next write the managed columns are
written in template order (a deleted one comes back) and each team column
keeps its place relative to them: one the team put after managed column
``Orders`` stays right after ``Orders``; one left of every managed column
stays first; one right of every managed column stays right of them all, so a
template that gains a column shifts the team's trailing columns right instead
of overwriting them.

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
    """A team column of the previous version: where it was and what it follows."""

    old: int
    anchor: str | None  # header of the managed column it follows; None: before them all
    trailing: bool  # right of every managed column


@dataclass
class OldColumns:
    """The previous version's columns: managed ones (→ header, None if unknown) and the team's."""

    managed: dict[int, str | None] = field(default_factory=dict)
    team: list[TeamColumn] = field(default_factory=list)

    def position_of(self, header: str) -> int | None:
        return next((c for c, h in self.managed.items() if h == header), None)


def read_old(wb: Workbook, ws: Worksheet, frame: TabFrame, adopted: bool = False) -> OldColumns:
    """Classify the columns of ``ws``, the tab's previous version (or an adopted sheet)."""
    places = None if adopted else markers.column_places(wb, frame.title, ws.title)
    if places is None:
        managed = _managed_by_position(wb, ws, frame, adopted)
    else:
        names = {markers.column_marker(frame.title, h): h for h in frame.headers}
        managed = {p: names.get(n) for n, p in places.items() if p is not None}
    team = _team_columns(ws, managed, set(frame.headers))
    return OldColumns(managed, team)


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
    ws: Worksheet, managed: dict[int, str | None], headers: set[str]
) -> list[TeamColumn]:
    """Unmanaged columns up to the last one holding a value (empty gaps the team left
    included), each tied to the surviving managed column on its left."""
    last = max((c for (_, c), cell in ws._cells.items() if cell.value is not None), default=0)
    survivors = sorted(c for c, h in managed.items() if h in headers)
    team: list[TeamColumn] = []
    for column in (c for c in range(1, last + 1) if c not in managed):
        if not survivors or column > survivors[-1]:
            team.append(TeamColumn(column, None, trailing=True))
            continue
        left = [c for c in survivors if c < column]
        team.append(TeamColumn(column, managed[left[-1]] if left else None, trailing=False))
    return team


def place(headers: Sequence[str], team: Sequence[TeamColumn]) -> tuple[list[int], list[int]]:
    """Sheet columns (1-based) of the managed columns, then of the team columns, in order."""
    slots: list[tuple[bool, int]] = []  # (is managed, index)

    def followers(anchor: str | None, trailing: bool) -> list[tuple[bool, int]]:
        return [
            (False, j) for j, t in enumerate(team) if t.trailing == trailing and t.anchor == anchor
        ]

    slots.extend(followers(None, False))
    for index, header in enumerate(headers):
        slots.append((True, index))
        slots.extend(followers(header, False))
    slots.extend(followers(None, True))
    managed, placed = [0] * len(headers), [0] * len(team)
    for position, (is_managed, index) in enumerate(slots, start=1):
        if is_managed:
            managed[index] = position
        else:
            placed[index] = position
    return managed, placed
