"""``moveDimension`` and ``sortRange``: rows and columns that change places.

Google's rule: ``destinationIndex`` is given in the coordinates *before* the
source rows/columns are taken out, so moving ROWS [1, 3) to 4 turns
0,1,2,3,4 into 0,3,1,2,4. Cells, their formats (range layers), row/column
metadata and pivot anchors travel exactly with the moved rows/columns.
GridRanges (named ranges, basic filter, protected ranges, conditional
formats, merges, pivot sources) follow Google's cut-and-insert reading: a
range lying inside the moved block moves with it; any other range loses the
moved rows/columns it held and grows when they land inside it.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from sheets_emulator import devmeta
from sheets_emulator.apierror import bad_request
from sheets_emulator.grid import Grid, Layer, entry_value
from sheets_emulator.shift import all_ranges
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, clip


def move_dimension(book: Spreadsheet, payload: dict[str, Any]) -> None:
    source = payload.get("source") or {}
    sheet = book.sheet_by_id(source.get("sheetId", 0))
    dim = source.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise bad_request("source.dimension must be ROWS or COLUMNS")
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    start, end = int(source.get("startIndex", 0)), int(source.get("endIndex", size))
    if not 0 <= start < end <= size:
        raise bad_request(
            f"Invalid source range [{start}, {end}) on a sheet with {size} {dim.lower()}."
        )
    if "destinationIndex" not in payload:
        raise bad_request("destinationIndex is required.")
    dest = int(payload["destinationIndex"])
    if not 0 <= dest <= size:
        raise bad_request(
            f"Invalid destinationIndex {dest}: must be between 0 and {size} ({dim.lower()})."
        )
    if start <= dest <= end:
        return  # the block lands where it already is
    move = Move(start, end, dest)
    _move_grid(sheet, dim, move)
    for rng in all_ranges(book):
        if rng.get("sheetId", 0) == sheet.sheet_id:
            move.range(rng, dim)
    devmeta.move(book, sheet.sheet_id, dim, move.new)


class Move:
    """The index permutation of one move: ``[start, end)`` re-inserted before ``dest``."""

    def __init__(self, start: int, end: int, dest: int) -> None:
        self.start, self.end = start, end
        self.n = end - start
        self.at = dest if dest < start else dest - self.n  # insert position once removed
        self.lo, self.hi = min(start, self.at), max(end, self.at + self.n)  # indices that change

    def new(self, i: int) -> int:
        """Where old index ``i`` ends up."""
        if self.start <= i < self.end:
            return self.at + (i - self.start)
        if self.at < self.start and self.at <= i < self.start:
            return i + self.n
        if self.at >= self.start and self.end <= i < self.at + self.n:
            return i - self.n
        return i

    def runs(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The new positions of old ``[lo, hi)`` as contiguous, ordered runs."""
        edge = self.at if self.at < self.start else self.at + self.n  # end of the shifted block
        cuts = sorted({lo, hi, *[b for b in (self.start, self.end, edge) if lo < b < hi]})
        pieces = sorted((self.new(a), self.new(a) + (b - a)) for a, b in itertools.pairwise(cuts))
        merged: list[tuple[int, int]] = []
        for a, b in pieces:
            if merged and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        return merged

    def range(self, rng: dict[str, Any], dim: str) -> None:
        """Move one GridRange in place (cut-and-insert, see the module docstring)."""
        lo_key, hi_key = (
            ("startRowIndex", "endRowIndex")
            if dim == "ROWS"
            else ("startColumnIndex", "endColumnIndex")
        )
        lo, hi = rng.get(lo_key), rng.get(hi_key)
        if lo is not None and hi is not None and self.start <= lo and hi <= self.end:
            rng[lo_key], rng[hi_key] = lo + self.at - self.start, hi + self.at - self.start
            return
        if lo is not None:
            lo = _cut(lo, self.start, self.end)
            rng[lo_key] = lo + self.n if lo >= self.at else lo
        if hi is not None:
            hi = _cut(hi, self.start, self.end)
            rng[hi_key] = hi + self.n if hi > self.at else hi


def _cut(i: int, start: int, end: int) -> int:
    """A range boundary once ``[start, end)`` is deleted."""
    return i if i <= start else max(start, i - (end - start))


def _move_grid(sheet: Sheet, dim: str, move: Move) -> None:
    grid = sheet.writable()
    if dim == "ROWS":
        grid.rows = {move.new(r): row for r, row in grid.rows.items()}
        grid.row_meta = {move.new(r): m for r, m in grid.row_meta.items()}
    else:
        _move_columns(grid, move)
        grid.col_meta = {move.new(c): m for c, m in grid.col_meta.items()}
    grid.layers = [piece for layer in grid.layers for piece in _move_layer(layer, dim, move)]


def _move_columns(grid: Grid, move: Move) -> None:
    for r, row in list(grid.rows.items()):
        if len(row) <= move.lo:
            continue
        span = row[move.lo : move.hi] + [None] * max(0, move.hi - len(row))
        moved: list[Any] = [None] * len(span)
        for offset, entry in enumerate(span):
            moved[move.new(move.lo + offset) - move.lo] = entry
        row[move.lo : move.hi] = moved
        while row and row[-1] is None:
            row.pop()
        if not row:
            del grid.rows[r]


def _move_layer(layer: Layer, dim: str, move: Move) -> list[Layer]:
    """A format rectangle split into the runs its rows/columns land in (order kept)."""
    lo, hi = (layer.r0, layer.r1) if dim == "ROWS" else (layer.c0, layer.c1)
    out = []
    for a, b in move.runs(lo, hi):
        if dim == "ROWS":
            out.append(Layer(a, b, layer.c0, layer.c1, layer.fmt, list(layer.fields)))
        else:
            out.append(Layer(layer.r0, layer.r1, a, b, layer.fmt, list(layer.fields)))
    return out


# -- sortRange -------------------------------------------------------------------


def sort_range(book: Spreadsheet, payload: dict[str, Any]) -> None:
    """Sort the rows of a range by its columns; the range's cells move, rows outside stay.

    Order as in Sheets: numbers, then text (case-insensitive), then booleans;
    empty cells last whichever the direction. Later specs break ties, and
    equal rows keep their order.
    """
    sheet, bounds = book.grid_range(payload.get("range") or {})
    r0, r1, c0, c1 = clip(sheet, bounds)
    specs = payload.get("sortSpecs") or []
    if not specs:
        raise bad_request("sortSpecs must name at least one column to sort by.")
    grid = sheet.writable()
    rows = [_cells_of(grid, r, c0, c1) for r in range(r0, r1)]
    for spec in reversed(specs):
        column = int(spec.get("dimensionIndex", 0))
        if not c0 <= column < c1:
            raise bad_request(
                f"sortSpecs dimensionIndex {column} is outside the sorted columns [{c0}, {c1})."
            )
        descending = spec.get("sortOrder", "ASCENDING") == "DESCENDING"
        rows.sort(key=functools.partial(_row_key, column - c0, descending), reverse=descending)
    for offset, cells in enumerate(rows):
        _put_cells(grid, r0 + offset, c0, cells)


def _cells_of(grid: Grid, r: int, c0: int, c1: int) -> list[Any]:
    row = grid.rows.get(r, [])
    return [row[c] if c < len(row) else None for c in range(c0, c1)]


def _put_cells(grid: Grid, r: int, c0: int, cells: list[Any]) -> None:
    row = grid.rows.setdefault(r, [])
    end = c0 + len(cells)
    if len(row) < end:
        row.extend([None] * (end - len(row)))
    row[c0:end] = cells
    while row and row[-1] is None:
        row.pop()
    if not row:
        del grid.rows[r]


def _row_key(j: int, descending: bool, cells: list[Any]) -> tuple[Any, ...]:
    return _sort_key(cells[j], descending)


def _sort_key(entry: Any, descending: bool) -> tuple[Any, ...]:
    value = entry_value(entry)
    present = value is not None and value != ""
    if not present:  # empty cells sort last in both directions
        return (not descending, 0, 0)
    if type(value) is bool:
        return (descending, 2, value)
    if type(value) is str:
        return (descending, 1, value.casefold())
    return (descending, 0, value)
