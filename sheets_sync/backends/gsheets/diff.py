"""Row alignment and cell diffs between a tab as it is and as it should be.

Pure functions over lists: no HTTP, no gspread. The result of aligning is a
*layout*: the data rows of the tab after the structural batch, each naming the
current row it keeps (or None for a row to insert) and the desired row whose
values it must end up holding. From a layout follow the row deletions, the
row insertions and the cells to write.

Keyed tabs match rows by key and keep the order the rows already have (the
team may have re-sorted them); a new key is inserted right after the row of
its predecessor in the desired order, so an untouched tab ends up in exactly
the desired order. Rows never move, so the team's cells to the right of the
managed columns stay beside their key. Tabs without a key are aligned on the
longest matching blocks of identical rows (a rolling window shifts, it is not
rewritten).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sheets_sync.backends.base import holdable
from sheets_sync.backends.gsheets.cells import Cell, normalise_key, same_cell, to_row
from sheets_sync.frame import TabFrame


@dataclass(frozen=True)
class Placement:
    """One data row after realignment: where it comes from and what it must hold."""

    source: int | None
    desired: int


@dataclass(frozen=True)
class Alignment:
    layout: list[Placement]
    deletions: list[int]

    def insert_runs(self) -> list[tuple[int, int]]:
        """``(position, count)`` of inserted rows, top to bottom, excluding the tail.

        Rows appended after the last kept row need no insert request: growing
        the grid makes room for them.
        """
        runs: list[tuple[int, int]] = []
        last_kept = max((i for i, p in enumerate(self.layout) if p.source is not None), default=-1)
        start = None
        for position, placement in enumerate(self.layout[: last_kept + 1]):
            if placement.source is None and start is None:
                start = position
            elif placement.source is not None and start is not None:
                runs.append((start, position - start))
                start = None
        return runs

    def deletion_runs(self) -> list[tuple[int, int]]:
        """``(first, count)`` of deleted current rows, bottom run first (indexes stay valid)."""
        return [(run[0], len(run)) for run in reversed(list(_consecutive(sorted(self.deletions))))]


def _consecutive(indexes: Sequence[int]) -> Iterator[list[int]]:
    run: list[int] = []
    for index in indexes:
        if run and index != run[-1] + 1:
            yield run
            run = []
        run.append(index)
    if run:
        yield run


def align_keyed(
    current: Sequence[Sequence[Any]], desired: Sequence[Sequence[Cell]], key_indexes: Sequence[int]
) -> Alignment:
    """Match rows by key; rows with a vanished, blank or repeated key are deleted."""
    wanted: dict[tuple[Any, ...], int] = {}
    for index, row in enumerate(desired):
        wanted.setdefault(_key(row, key_indexes), index)
    kept: list[tuple[int, int]] = []
    deletions: list[int] = []
    seen: set[Any] = set()
    for index, row in enumerate(current):
        key = _key(row, key_indexes)
        if key in wanted and key not in seen and any(part != "" for part in key):
            seen.add(key)
            kept.append((index, wanted[key]))
        else:
            deletions.append(index)
    return Alignment(_place_new_rows(kept, len(desired)), deletions)


def _place_new_rows(kept: list[tuple[int, int]], desired_count: int) -> list[Placement]:
    """Kept rows in their current order, each new row right after its desired predecessor."""
    kept_for = {d: s for s, d in kept}
    after: dict[int | None, list[int]] = {None: []}
    anchor: int | None = None
    for d in range(desired_count):
        if d in kept_for:
            anchor = d
            after.setdefault(d, [])
        else:
            after.setdefault(anchor, []).append(d)
    layout = [Placement(None, d) for d in after[None]]
    for source, d in kept:
        layout.append(Placement(source, d))
        layout.extend(Placement(None, new) for new in after.get(d, []))
    return layout


def _key(row: Sequence[Any], key_indexes: Sequence[int]) -> tuple[Any, ...]:
    return tuple(normalise_key(row[i] if i < len(row) else None) for i in key_indexes)


def align_rows(current: Sequence[Sequence[Any]], desired: Sequence[Sequence[Cell]]) -> Alignment:
    """Longest common alignment of identical rows; the rest is rewritten in place or churned."""
    width = max((len(r) for r in desired), default=0)
    a = [_row_key(row, width) for row in current]
    b = [_row_key(row, width) for row in desired]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    layout: list[Placement] = []
    deletions: list[int] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        paired = (i2 - i1) if tag == "equal" else min(i2 - i1, j2 - j1) if tag == "replace" else 0
        layout.extend(Placement(i1 + k, j1 + k) for k in range(paired))
        deletions.extend(range(i1 + paired, i2))
        layout.extend(Placement(None, j) for j in range(j1 + paired, j2))
    return Alignment(layout, deletions)


def _row_key(row: Sequence[Any], width: int) -> tuple[Any, ...]:
    cells = [normalise_key(v) for v in row[:width]]
    return tuple(cells + [""] * (width - len(cells)))


@dataclass(frozen=True)
class Block:
    """A rectangle of cells to write: zero-based, end-exclusive grid bounds."""

    row0: int
    col0: int
    values: list[list[Cell]]

    @property
    def row1(self) -> int:
        return self.row0 + len(self.values)

    @property
    def col1(self) -> int:
        return self.col0 + len(self.values[0])

    @property
    def cells(self) -> int:
        return len(self.values) * len(self.values[0])


@dataclass(frozen=True)
class ColumnRules:
    """Per-tab comparison rules: which columns need exact types, which keep the team's input.

    ``exact``: booleans (``1 == True`` in Python, not in a sheet). ``keep``:
    editable columns (``New price``, ``Reason``): a value the team typed
    there is pending work, so a NULL from the database never erases it.
    ``hold``: ``hold_while_pending`` columns (``Version``), never written on a
    row whose ``keep`` cells hold a pending edit, so the push compares the
    database with the version the edit was typed against — unless the cell is
    blank or not a version (:func:`.base.holdable`): then it is restored.
    """

    exact: frozenset[int] = frozenset()
    keep: frozenset[int] = frozenset()
    hold: frozenset[int] = frozenset()

    def held(self, current: Sequence[Any] | None) -> frozenset[int]:
        """The columns to leave as they are on this row (none without a pending edit)."""
        if not self.hold or current is None:
            return frozenset()
        if not any(i < len(current) and not _blank(current[i]) for i in self.keep):
            return frozenset()
        return frozenset(i for i in self.hold if i < len(current) and holdable(current[i]))


def with_pending(
    frame: TabFrame,
    current: Sequence[Sequence[Any]],
    desired: list[list[Cell]],
    alignment: Alignment,
) -> tuple[TabFrame, list[list[Cell]]]:
    """The frame and its cells with the columns computed from pending edits filled
    (:meth:`TabFrame.with_pending`): each kept row's editable cells as read with the
    rest of the tab (``current``, in template order), so it costs no request."""
    if frame.from_pending is None:
        return frame, desired
    editable = frame.template.editable_indexes
    found: dict[int, dict[int, Any]] = {}
    for placement in alignment.layout:
        row = current[placement.source] if placement.source is not None else ()
        typed = {j: row[j] for j in editable if j < len(row) and not _blank(row[j])}
        if typed:
            found[placement.desired] = typed
    filled = frame.with_pending(found)
    if filled is frame:
        return frame, desired
    cells = list(desired)
    for i in found:
        cells[i] = to_row(filled.rows[i])
    return filled, cells


def _blank(value: Any) -> bool:
    """An empty cell, as the push sees it (whitespace alone is no edit)."""
    return value is None or (isinstance(value, str) and not value.strip())


def changed_runs(
    current: Sequence[Any] | None, desired: Sequence[Cell], rules: ColumnRules = ColumnRules()
) -> list[tuple[int, int]]:
    """Column runs ``(start, end)`` of cells to write.

    Most rows are unchanged, so a row equal by Python's ``==`` is accepted at
    once, after checking the exact-type columns.
    """
    same = current is not None and current == desired
    if same and all(type(current[i]) is type(desired[i]) for i in rules.exact):  # type: ignore[index]
        return []
    runs: list[tuple[int, int]] = []
    start = None
    have = current or ()
    held = rules.held(current)
    for col, want in enumerate(desired):
        now = have[col] if col < len(have) else None
        if not (same_cell(now, want) or (want == "" and col in rules.keep) or col in held):
            if start is None:
                start = col
        elif start is not None:
            runs.append((start, col))
            start = None
    if start is not None:
        runs.append((start, len(desired)))
    return runs


def blocks(rows: Sequence[tuple[int, list[Cell], list[tuple[int, int]]]]) -> list[Block]:
    """Merge per-row runs into rectangles: the same runs on consecutive rows stack.

    A run covering its whole row takes the row itself, not a copy: on a first
    sync that is every row of every tab, and the copies were the plan's largest
    allocation (bench/sync_memory.py --trace). The rows are the plan's own
    (``to_row``), never changed after.
    """
    out: list[Block] = []
    open_blocks: dict[tuple[int, int], Block] = {}
    previous_row = None
    for grid_row, values, runs in rows:
        if previous_row is None or grid_row != previous_row + 1:
            open_blocks = {}
        still_open: dict[tuple[int, int], Block] = {}
        for c0, c1 in runs:
            cells = values if (c0, c1) == (0, len(values)) else values[c0:c1]
            block = open_blocks.get((c0, c1))
            if block is not None and block.row1 == grid_row:
                block.values.append(cells)
            else:
                block = Block(grid_row, c0, [cells])
                out.append(block)
            still_open[(c0, c1)] = block
        open_blocks = still_open
        previous_row = grid_row
    return out
