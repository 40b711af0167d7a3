"""From (the sheet as it is, the frames) to the requests that make it as it should be.

Pure: no HTTP. The plan is ONE ``spreadsheets:batchUpdate`` request list (all
structure of all tabs: new sheets, row deletions/insertions, grid sizes,
formats, filter, protection, named ranges, conditional formats, pivots) and
the changed cells grouped into rectangles, packed into ``values:batchUpdate``
bodies under the payload cap. Both kinds of request are idempotent when
replayed against the state they were planned from, and a rerun re-plans from
what is actually there, so an interrupted sync converges on the next run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.cells import Cell, a1_range, to_row
from sheets_sync.backends.gsheets.diff import (
    Alignment,
    Block,
    ColumnRules,
    align_keyed,
    align_rows,
    blocks,
    changed_runs,
)
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.frame import TabFrame
from sheets_sync.templates.model import ColumnType

PIVOT_SHEET_ROWS = 1000
PIVOT_SHEET_COLS = 26
BODY_OVERHEAD = 64  # {"valueInputOption":"RAW","data":[...]} around the ranges


@dataclass
class TabPlan:
    title: str
    rows: int
    cells_written: int = 0
    rows_inserted: int = 0
    rows_deleted: int = 0


@dataclass
class Plan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    value_bodies: list[dict[str, Any]] = field(default_factory=list)
    tabs: list[TabPlan] = field(default_factory=list)
    cells_after: int = 0

    @property
    def cells_written(self) -> int:
        return sum(t.cells_written for t in self.tabs)


def build_plan(state: BookState, frames: Sequence[TabFrame], payload_cap: int) -> Plan:
    """The whole sync of ``frames`` against ``state`` (see the module docstring)."""
    plan = Plan()
    ids = _SheetIds(state)
    ranges: list[dict[str, Any]] = []
    managed: set[str] = set()
    for frame in frames:
        tab_requests, tab_ranges, tab_plan, rows = _plan_tab(state, frame, ids)
        plan.requests.extend(tab_requests)
        ranges.extend(tab_ranges)
        plan.tabs.append(tab_plan)
        managed.add(frame.title)
        plan.cells_after += rows * max(frame.width, _current_cols(state, frame.title))
        for spec in frame.template.pivots:
            plan.requests.extend(_pivot_requests(state, frame, spec, ids, rows - 1))
            managed.add(spec.title)
            plan.cells_after += _pivot_cells(state, spec.title)
    plan.cells_after += sum(s.cells for t, s in state.sheets.items() if t not in managed)
    plan.value_bodies = pack(ranges, payload_cap)
    return plan


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


def _current_cols(state: BookState, title: str) -> int:
    sheet = state.sheets.get(title)
    return sheet.col_count if sheet else 0


def _pivot_cells(state: BookState, title: str) -> int:
    sheet = state.sheets.get(title)
    return sheet.cells if sheet and sheet.cells else PIVOT_SHEET_ROWS * PIVOT_SHEET_COLS


def _plan_tab(
    state: BookState, frame: TabFrame, ids: _SheetIds
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], TabPlan, int]:
    """Requests, value ranges, report and final grid row count for one managed tab."""
    template = frame.template
    sheet_id, new = ids.of(frame.title)
    current = None if new else state.sheets[frame.title]
    have = state.values.get(frame.title, [])
    desired = [to_row(row) for row in frame.rows]
    alignment = _align(frame, have[1:], desired)
    rows = max(len(desired) + 1, template.freeze_rows + 1)
    cols = max(frame.width, current.col_count if current else 0)
    frozen = (template.freeze_rows, template.freeze_columns)
    requests: list[dict[str, Any]] = []
    if current is None:
        requests.append(structure.add_sheet(sheet_id, frame.title, rows, cols, frozen))
    else:
        if current.row_count - len(alignment.deletions) <= template.freeze_rows:
            # Google refuses a grid left with only frozen rows, even mid-batch.
            requests.append(structure.append_rows(sheet_id, template.freeze_rows + 1))
        requests.extend(_realign(sheet_id, alignment))
        requests.append(structure.resize(sheet_id, rows, cols, frozen))
    requests.extend(_decorate(state, frame, sheet_id, current, len(desired), rows))
    changed = _changed_blocks(frame, have, desired, alignment)
    report = TabPlan(frame.title, len(desired), sum(b.cells for b in changed))
    report.rows_deleted = len(alignment.deletions)
    report.rows_inserted = sum(1 for p in alignment.layout if p.source is None)
    ranges = [_value_range(frame.title, b) for b in changed]
    return requests, ranges, report, rows


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
) -> list[dict[str, Any]]:
    template = frame.template
    name = structure.range_name(frame.title)
    return [
        *structure.presentation(template, sheet_id, grid_rows),
        *structure.basic_filter(template, sheet_id, data_rows, current),
        *structure.protection(template, sheet_id, current),
        *structure.named_range(
            frame.title, sheet_id, data_rows, frame.width, state.named_range(name)
        ),
        *structure.conditional_formats(template, sheet_id, current),
    ]


def _pivot_requests(
    state: BookState, frame: TabFrame, spec: Any, ids: _SheetIds, data_rows: int
) -> list[dict[str, Any]]:
    source_id, _ = ids.of(frame.title)
    pivot_id, new = ids.of(spec.title)
    out = []
    if new:
        size = (PIVOT_SHEET_ROWS, PIVOT_SHEET_COLS)
        out.append(structure.add_sheet(pivot_id, spec.title, *size, frozen=(0, 0)))
    out.append(structure.pivot(frame.template, spec, source_id, pivot_id, data_rows))
    return out


def _changed_blocks(
    frame: TabFrame, have: list[list[Any]], desired: list[list[Cell]], alignment: Alignment
) -> list[Block]:
    """Header row, then every data row at its final position, compared cell by cell."""
    columns = frame.template.columns
    rules = ColumnRules(
        exact=frozenset(i for i, c in enumerate(columns) if c.type is ColumnType.BOOLEAN),
        keep=frozenset(i for i, c in enumerate(columns) if c.editable),
    )
    header: list[Cell] = list(frame.headers)
    rows = [(0, header, changed_runs(have[0] if have else None, header))]
    current = have[1:]
    for position, placement in enumerate(alignment.layout):
        before = current[placement.source] if placement.source is not None else None
        values = desired[placement.desired]
        rows.append((position + 1, values, changed_runs(before, values, rules)))
    return blocks([r for r in rows if r[2]])


def _value_range(title: str, block: Block) -> dict[str, Any]:
    rng = a1_range(title, block.row0, block.col0, block.row1, block.col1)
    return {"range": rng, "majorDimension": "ROWS", "values": block.values}


def pack(ranges: list[dict[str, Any]], payload_cap: int) -> list[dict[str, Any]]:
    """``values:batchUpdate`` bodies, each under ``payload_cap`` bytes of JSON."""
    bodies: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    size = BODY_OVERHEAD
    for piece, piece_size in _pieces(ranges, payload_cap - BODY_OVERHEAD):
        if data and size + piece_size > payload_cap:
            bodies.append(_body(data))
            data, size = [], BODY_OVERHEAD
        data.append(piece)
        size += piece_size + 1
    if data:
        bodies.append(_body(data))
    return bodies


def _body(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"valueInputOption": "RAW", "data": data}


def _pieces(ranges: list[dict[str, Any]], cap: int) -> Any:
    """Each range with its JSON size; a range too big for one body is split by rows."""
    for rng in ranges:
        size = _json_size(rng)
        if size <= cap:
            yield rng, size
            continue
        yield from _split(rng, cap)


def _split(rng: dict[str, Any], cap: int) -> Any:
    title, _, bounds = rng["range"].rpartition("!")
    first, _, last = bounds.partition(":")
    col0 = first.rstrip("0123456789")
    col1 = last.rstrip("0123456789")
    row = int(first[len(col0) :])
    chunk: list[list[Cell]] = []
    size = 0
    for values in rng["values"]:
        row_size = _json_size(values) + 1
        if chunk and size + row_size + 80 > cap:
            yield _slice(title, col0, col1, row, chunk), size + 80
            row += len(chunk)
            chunk, size = [], 0
        chunk.append(values)
        size += row_size
    if chunk:
        yield _slice(title, col0, col1, row, chunk), size + 80


def _slice(title: str, col0: str, col1: str, row: int, values: list[list[Cell]]) -> dict:
    rng = f"{title}!{col0}{row}:{col1}{row + len(values) - 1}"
    return {"range": rng, "majorDimension": "ROWS", "values": values}


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
