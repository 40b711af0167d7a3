"""From (the sheet as it is, the frames) to the requests that make it as it should be.

Pure: no HTTP. The plan is ONE ``spreadsheets:batchUpdate`` request list (all
structure of all tabs: new sheets, row deletions/insertions, grid sizes,
formats, filter, protection, named ranges, conditional formats, pivots, charts
and their data, :mod:`.charts`, the team's notes leaving and coming home and
their ``Archived notes`` rows, :mod:`.notes`) and the changed cells grouped into rectangles,
packed into ``values:batchUpdate`` bodies under the payload cap (:mod:`.bodies`).
Both kinds of request are idempotent when replayed against the state they were
planned from, and a rerun re-plans from what is actually there, so an
interrupted sync converges on the next run.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.archive import ARCHIVE_TITLE, Archive, ArchivedNote, ArchiveRow, read_archive
from sheets_sync.backends.base import DEFAULT_OPTIONS, WriteOptions, WrittenTab
from sheets_sync.backends.gsheets import charts, structure
from sheets_sync.backends.gsheets.bodies import pack, value_range
from sheets_sync.backends.gsheets.cells import EMPTY, Cell, to_row
from sheets_sync.backends.gsheets.columns import ColumnLayout, plan_columns
from sheets_sync.backends.gsheets.diff import (
    Alignment,
    Block,
    ColumnRules,
    align_keyed,
    align_rows,
    blocks,
    changed_runs,
    with_pending,
)
from sheets_sync.backends.gsheets.notes import (
    archive_requests,
    coming_home,
    keyless_warnings,
    leaving_notes,
    restore_requests,
)
from sheets_sync.backends.gsheets.rowformats import row_formats
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.errors import ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.guards import check_shrink
from sheets_sync.tab_templates.model import ColumnType, SheetPosition

PIVOT_SHEET_ROWS = 1000
PIVOT_SHEET_COLS = 26


@dataclass
class Plan:
    """The requests of one sync and what they write to each tab, then each pivot sheet."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    value_bodies: list[dict[str, Any]] = field(default_factory=list)
    tabs: list[WrittenTab] = field(default_factory=list)

    @property
    def cells_written(self) -> int:
        return sum(t.cells for t in self.tabs)


@dataclass(frozen=True)
class _TabPlan:
    requests: list[dict[str, Any]]
    ranges: list[dict[str, Any]]
    written: WrittenTab
    layout: ColumnLayout
    notes: list[ArchivedNote]
    restored: list[ArchiveRow]


def build_plan(
    state: BookState,
    frames: Sequence[TabFrame],
    payload_cap: int,
    options: WriteOptions = DEFAULT_OPTIONS,
    now: dt.datetime | None = None,
    archive_blocked: bool = False,
) -> Plan:
    """The whole sync of ``frames`` (already fitted to the limits) against ``state``.

    ``state`` has its managed sheets keyed by managed title (:mod:`.ownership`).
    Raises ``ShrinkError`` (a keyed tab losing too many rows) or
    ``DestinationError`` (notes to archive on a team sheet) before anything is sent.
    """
    plan = Plan()
    ids = _SheetIds(state)
    ranges: list[dict[str, Any]] = []
    pivots: list[WrittenTab] = []
    notes: list[ArchivedNote] = []
    restored: list[ArchiveRow] = []
    when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    room = charts.chart_room(frames)
    archive = _archive(state, archive_blocked)
    for frame in frames:
        tab = _plan_tab(state, frame, ids, options, _Moment(when, room, archive))
        plan.requests.extend(tab.requests)
        ranges.extend(tab.ranges)
        plan.tabs.append(tab.written)
        notes.extend(tab.notes)
        restored.extend(tab.restored)
        grid_rows, _ = _grid_size(state, frame)
        for spec in frame.template.pivots:
            plan.requests.extend(
                _pivot_requests(state, frame, spec, ids, grid_rows - 1, tab.layout.after)
            )
            pivots.append(WrittenTab(spec.title, rows=None, cells=0))  # Google computes it
    archive_id, new = ids.of(ARCHIVE_TITLE) if notes or restored else (0, True)
    sheet = None if new else state.sheets[ARCHIVE_TITLE]
    drawn = charts.plan_charts(state, frames, ids.of)
    plan.requests.extend(drawn.requests)
    for written in plan.tabs:
        written.cells += drawn.cells.get(written.title, 0)
    plan.requests.extend(
        archive_requests(sheet, archive_id, notes, restored, archive, archive_blocked, when)
    )
    plan.tabs.extend(pivots)
    plan.requests.extend(_first_sheets(state, frames, ids))
    plan.value_bodies = pack(ranges, payload_cap)
    return plan


@dataclass(frozen=True)
class _Moment:
    """What every tab of one sync shares: its time, the charts' room, the archive as read."""

    when: dt.datetime
    room: Mapping[str, tuple[int, int]]
    archive: Archive | None


def _archive(state: BookState, blocked: bool) -> Archive | None:
    """The archive as read with the tabs; none when absent or a team sheet holds its title."""
    if blocked or ARCHIVE_TITLE not in state.sheets:
        return None
    return read_archive(state.values.get(ARCHIVE_TITLE, []))


def _first_sheets(state: BookState, frames: Sequence[TabFrame], ids: _SheetIds) -> list[dict]:
    """Moves putting ``position: first`` tabs first, in template order; none when already there.

    Last in the batch, so a sheet added by the same batch (at the end) moves too.
    """
    requests: list[dict] = []
    first = [f.title for f in frames if f.template.position is SheetPosition.FIRST]
    for place, title in enumerate(first):
        sheet_id, new = ids.of(title)
        if requests or new or state.sheets[title].index != place:  # a move shifts the rest
            requests.append(structure.move_sheet(sheet_id, place))
    return requests


def cells_besides_frames(state: BookState, frames: Sequence[TabFrame]) -> int:
    """Cells the spreadsheet will hold after syncing ``frames``, besides the frames' own.

    Google caps the whole spreadsheet, so other sheets, pivot sheets (new ones
    at their default size), the team's columns right of a managed tab and rows
    kept for frozen panes all count. Counted with the frames before any cut,
    so a tab truncated to fit is over-counted a little, never under.
    """
    managed = {f.title for f in frames} | {p.title for f in frames for p in f.template.pivots}
    cells = sum(s.cells for title, s in state.sheets.items() if title not in managed)
    room = charts.chart_room(frames)
    for frame in frames:
        rows, cols = _grid_size(state, frame, room)
        cells += rows * cols - frame.cell_count
        cells += sum(_pivot_cells(state, spec.title) for spec in frame.template.pivots)
    return cells


def _grid_size(
    state: BookState, frame: TabFrame, room: Mapping[str, tuple[int, int]] | None = None
) -> tuple[int, int]:
    """The tab's grid after the sync: its rows (at least one below frozen ones, and
    enough for the charts floating on it, ``room``) and its columns (the team's extra
    columns stay)."""
    sheet = state.sheets.get(frame.title)
    need_rows, need_cols = (room or {}).get(frame.title, (0, 0))
    rows = max(len(frame.rows) + 1, frame.template.freeze_rows + 1, need_rows)
    return rows, max(frame.width, sheet.col_count if sheet else 0, need_cols)


class _SheetIds:
    """Ids we pick for new sheets, so later requests of the same batch can refer to them."""

    def __init__(self, state: BookState) -> None:
        self.state = state
        self.taken = set(state.sheet_ids)
        self.new: dict[str, int] = {}

    def of(self, title: str) -> tuple[int, bool]:
        """(sheet id, whether the sheet is new); stable across reruns for the same title."""
        sheet = self.state.sheets.get(title)
        if sheet is not None:
            return sheet.sheet_id, False
        if title not in self.new:
            sheet_id = zlib.crc32(title.encode()) & 0x3FFFFFFF or 1
            while sheet_id in self.taken:
                sheet_id = (sheet_id * 31 + 7) & 0x3FFFFFFF or 1
            self.taken.add(sheet_id)
            self.new[title] = sheet_id
        return self.new[title], True


def _pivot_cells(state: BookState, title: str) -> int:
    sheet = state.sheets.get(title)
    return sheet.cells if sheet and sheet.cells else PIVOT_SHEET_ROWS * PIVOT_SHEET_COLS


def _plan_tab(
    state: BookState,
    frame: TabFrame,
    ids: _SheetIds,
    options: WriteOptions,
    moment: _Moment,
) -> _TabPlan:
    """Requests, value ranges, what gets written, the leaving notes and the notes coming
    home of one managed tab."""
    template = frame.template
    sheet_id, new = ids.of(frame.title)
    current = None if new else state.sheets[frame.title]
    raw = state.values.get(frame.title, [])
    tags = state.columns_of(frame.title)
    tagged = current is not None and current.sheet_id in state.tab_tags
    header = raw[0] if raw else []
    layout = plan_columns(current, sheet_id, frame.headers, header, tags, tagged)
    have = [layout.project(row) for row in raw]
    desired = [to_row(row) for row in frame.rows]
    alignment = _align(frame, have[1:], desired)
    frame, desired = with_pending(frame, have[1:], desired, alignment)
    if template.key:
        _check_rows_kept(frame, layout, len(have[1:]), len(alignment.deletions), options)
    room = moment.room
    rows, _ = _grid_size(state, frame, room)
    cols = max(layout.grid_cols, max(layout.after) + 1, room.get(frame.title, (0, 0))[1])
    frozen = (template.freeze_rows, template.freeze_columns)
    requests: list[dict[str, Any]] = []
    if current is None:
        requests.append(structure.add_sheet(sheet_id, frame.title, rows, cols, frozen))
        requests.append(structure.tag_sheet(sheet_id, frame.title))
        requests.extend(layout.requests)
    else:
        requests.extend(layout.requests)
        if current.row_count - len(alignment.deletions) <= template.freeze_rows:
            # Google refuses a grid left with only frozen rows, even mid-batch.
            requests.append(structure.append_rows(sheet_id, template.freeze_rows + 1))
        requests.extend(_realign(sheet_id, alignment))
        requests.append(structure.resize(sheet_id, rows, cols, frozen))
    requests.extend(_decorate(state, frame, sheet_id, current, len(desired), rows, layout.after))
    in_sheet_order = [frame.rows[p.desired] for p in alignment.layout]
    requests.extend(row_formats(template, in_sheet_order, sheet_id, layout.after))
    width = current.col_count if current is not None else 0
    coming = coming_home(frame, raw, layout, alignment, desired, moment.archive, width)
    requests.extend(restore_requests(sheet_id, raw, layout, coming, width))
    changed = _changed_blocks(frame, have, desired, alignment, layout.after)
    notes = leaving_notes(frame, raw, layout, alignment.deletions, moment.when)
    written = WrittenTab(
        frame.title,
        len(desired),
        sum(b.cells for b in changed) + len(coming.cells),
        frame.truncated_from,
        archived_notes=len(notes),
        restored_notes=len(coming.cells),
        warnings=[*coming.warnings(frame.title), *keyless_warnings(frame, raw, layout)],
    )
    ranges = [value_range(frame.title, b) for b in changed]
    return _TabPlan(requests, ranges, written, layout, notes, coming.restored)


def _check_rows_kept(
    frame: TabFrame, layout: ColumnLayout, now_rows: int, deleted: int, options: WriteOptions
) -> None:
    """The shrink guard of a keyed tab; a deleted key column loses every row's identity."""
    lost = [frame.headers[i] for i in frame.template.key_indexes if layout.before[i] is None]
    if lost and now_rows and not options.allow_shrink:
        raise ShrinkError(
            f"tab {frame.title!r}: its key column {lost[0]!r} was deleted, so its {now_rows:,} "
            "rows cannot be matched to the data; nothing was written. Undo the deletion "
            "(version history), or run again with --allow-shrink to rebuild the rows (the "
            f"team's cells on them move to {ARCHIVE_TITLE!r})"
        )
    kept = now_rows - deleted
    allow = options.allow_shrink or frame.template.allow_shrink  # rows leave it by design
    check_shrink(frame.title, now_rows, kept, options.max_shrink_share, allow)


def _align(frame: TabFrame, current: list[list[Any]], desired: list[list[Cell]]) -> Alignment:
    if frame.template.key:
        return align_keyed(current, desired, frame.template.key_indexes)
    return align_rows(current, desired)


def _realign(sheet_id: int, alignment: Alignment) -> list[dict[str, Any]]:
    """Deletions bottom-up (indexes stay valid), then insertions top-down at final positions."""
    out = [structure.delete_rows(sheet_id, first + 1, n) for first, n in alignment.deletion_runs()]
    out += [structure.insert_rows(sheet_id, pos + 1, n) for pos, n in alignment.insert_runs()]
    return out


def _decorate(
    state: BookState,
    frame: TabFrame,
    sheet_id: int,
    current: SheetState | None,
    data_rows: int,
    grid_rows: int,
    where: Sequence[int],
) -> list[dict[str, Any]]:
    template = frame.template
    name = structure.range_name(frame.title)
    first, span = min(where), max(where) + 1 - min(where)
    existing = state.named_range(name)
    return [
        *structure.presentation(template, sheet_id, grid_rows, where),
        *structure.basic_filter(template, sheet_id, data_rows, current, where),
        *structure.protection(template, sheet_id, current, where),
        *structure.named_range(frame.title, sheet_id, data_rows, span, existing, first),
        *structure.conditional_formats(template, sheet_id, current, where),
    ]


def _pivot_requests(
    state: BookState,
    frame: TabFrame,
    spec: Any,
    ids: _SheetIds,
    data_rows: int,
    where: Sequence[int],
) -> list[dict[str, Any]]:
    source_id, _ = ids.of(frame.title)
    pivot_id, new = ids.of(spec.title)
    out = []
    if new:
        size = (PIVOT_SHEET_ROWS, PIVOT_SHEET_COLS)
        out.append(structure.add_sheet(pivot_id, spec.title, *size, frozen=(0, 0)))
        out.append(structure.tag_sheet(pivot_id, spec.title))
    out.append(structure.pivot(frame.template, spec, source_id, pivot_id, data_rows, where))
    return out


def _changed_blocks(
    frame: TabFrame,
    have: list[list[Any]],
    desired: list[list[Cell]],
    alignment: Alignment,
    where: Sequence[int],
) -> list[Block]:
    """Header row, then every data row at its final position, compared cell by cell in
    template order (``have`` is projected so), then placed on the managed columns'
    sheet indexes (``where``)."""
    columns = frame.template.columns
    rules = ColumnRules(
        exact=frozenset(i for i, c in enumerate(columns) if c.type is ColumnType.BOOLEAN),
        keep=frozenset(frame.template.editable_indexes),
        hold=frozenset(frame.template.held_indexes),
    )
    header: list[Cell] = list(frame.headers)
    rows = [(0, header, changed_runs(have[0] if have else None, header))]
    current = have[1:]
    for position, placement in enumerate(alignment.layout):
        before = current[placement.source] if placement.source is not None else None
        values = desired[placement.desired]
        rows.append((position + 1, values, changed_runs(before, values, rules)))
    if list(where) != list(range(len(columns))):
        rows = [(n, *_on_sheet(values, runs, where)) for n, values, runs in rows]
    return blocks([r for r in rows if r[2]])


def _on_sheet(
    values: list[Cell], runs: list[tuple[int, int]], where: Sequence[int]
) -> tuple[list[Cell], list[tuple[int, int]]]:
    """A row's changed runs moved from template columns to sheet columns; team columns
    between managed ones are never part of a run, so they are never written."""
    line = {where[j]: values[j] for start, end in runs for j in range(start, end)}
    if not line:
        return [], []
    row: list[Cell] = [line.get(c, EMPTY) for c in range(max(line) + 1)]
    return row, structure.runs(line)
