"""Sparse sheet storage: memory follows the cells stored, not the grid's size.

A grid is a dict of row index → list of entries. An entry is ``None`` (empty),
a bare scalar (``str``/``int``/``float``/``bool``: a plain value, the common
case, kept unboxed so a million-cell write stays fast) or a :class:`Cell`
(formula, per-cell format, note, pivot table or validation). Formats applied
to whole ranges (``repeatCell``) are kept as a few range *layers* rather than
copied into every cell, so formatting ``D2:D`` costs one entry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool


class _Clear:
    """Marker entry: the client sent "" — empty the cell (``None`` leaves it unchanged)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR = _Clear()


@dataclass(slots=True)
class Cell:
    """A cell that carries more than a plain value."""

    value: Scalar | None = None
    formula: str | None = None
    fmt: dict[str, Any] | None = None
    note: str | None = None
    pivot: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None

    def is_empty(self) -> bool:
        return (
            self.value is None
            and self.formula is None
            and not self.fmt
            and self.note is None
            and self.pivot is None
            and self.validation is None
        )

    def copy(self) -> Cell:
        """Formats are replaced, never mutated, so they are shared; pivots are copied."""
        pivot = copy.deepcopy(self.pivot) if self.pivot is not None else None
        return Cell(self.value, self.formula, self.fmt, self.note, pivot, self.validation)


@dataclass(slots=True)
class Layer:
    """A format applied to a rectangle by ``repeatCell`` (end-exclusive bounds)."""

    r0: int
    r1: int
    c0: int
    c1: int
    fmt: dict[str, Any]
    fields: list[str] = field(default_factory=list)


def entry_value(entry: Any) -> Scalar | None:
    """The stored value of an entry (a formula's value is not computed: None)."""
    if entry is None or type(entry) is not Cell:
        return entry
    return entry.value


def has_value(entry: Any) -> bool:
    """True when the entry shows something in a values read (formulas count)."""
    if entry is None:
        return False
    if type(entry) is Cell:
        return entry.value not in (None, "") or entry.formula is not None or entry.pivot is not None
    return entry != ""


class Grid:
    """The cells, dimension metadata and format layers of one sheet."""

    __slots__ = ("col_meta", "layers", "row_meta", "rows")

    def __init__(self) -> None:
        self.rows: dict[int, list[Any]] = {}
        self.row_meta: dict[int, dict[str, Any]] = {}
        self.col_meta: dict[int, dict[str, Any]] = {}
        self.layers: list[Layer] = []

    def copy(self) -> Grid:
        """A deep enough copy for an all-or-nothing batchUpdate (rows are mutable)."""
        other = Grid()
        other.rows = {
            r: [e.copy() if type(e) is Cell else e for e in row] for r, row in self.rows.items()
        }
        other.row_meta = {k: dict(v) for k, v in self.row_meta.items()}
        other.col_meta = {k: dict(v) for k, v in self.col_meta.items()}
        other.layers = [Layer(x.r0, x.r1, x.c0, x.c1, x.fmt, list(x.fields)) for x in self.layers]
        return other

    # -- cells ---------------------------------------------------------------

    def get(self, r: int, c: int) -> Any:
        row = self.rows.get(r)
        if row is None or c >= len(row):
            return None
        return row[c]

    def set(self, r: int, c: int, entry: Any) -> None:
        row = self.rows.get(r)
        if row is None:
            if entry is None:
                return
            row = self.rows[r] = []
        if c >= len(row):
            if entry is None:
                return
            row.extend([None] * (c + 1 - len(row)))
        row[c] = entry

    def cell_for_update(self, r: int, c: int) -> Cell:
        """The cell at (r, c) boxed as a :class:`Cell`, stored, ready to mutate."""
        entry = self.get(r, c)
        if type(entry) is Cell:
            return entry
        cell = Cell(value=entry)
        self.set(r, c, cell)
        return cell

    def write_row(self, r: int, c0: int, entries: list[Any]) -> None:
        """Write ``entries`` from column ``c0``; ``None`` leaves a cell unchanged."""
        row = self.rows.get(r)
        if row is None:
            row = self.rows[r] = []
        end = c0 + len(entries)
        if len(row) < end:
            row.extend([None] * (end - len(row)))
        if (
            None not in entries
            and CLEAR not in entries
            and not any(type(e) is Cell for e in row[c0:end])
        ):
            row[c0:end] = entries
            return
        for offset, entry in enumerate(entries):
            if entry is not None:
                _put(row, c0 + offset, entry)
        self._trim_row(r)

    def clear_values(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """values.clear: values and formulas go, formats and notes stay."""
        for r in [r for r in self.rows if r0 <= r < r1]:
            row = self.rows[r]
            for c in range(c0, min(c1, len(row))):
                entry = row[c]
                if type(entry) is Cell:
                    entry.value = entry.formula = None
                    entry.pivot = None
                    if entry.is_empty():
                        row[c] = None
                else:
                    row[c] = None
            self._trim_row(r)

    def _trim_row(self, r: int) -> None:
        row = self.rows[r]
        while row and row[-1] is None:
            row.pop()
        if not row:
            del self.rows[r]

    def stored_cells(self) -> int:
        return sum(len(row) - row.count(None) for row in self.rows.values())

    def last_row(self) -> int:
        """One past the last row holding anything (0 when empty)."""
        return max(self.rows, default=-1) + 1

    # -- dimensions ----------------------------------------------------------

    def insert_rows(self, at: int, n: int) -> None:
        self.rows = {(r + n if r >= at else r): row for r, row in self.rows.items()}
        self.row_meta = {(r + n if r >= at else r): m for r, m in self.row_meta.items()}
        for layer in self.layers:
            layer.r0, layer.r1 = _shift_insert(layer.r0, layer.r1, at, n)

    def delete_rows(self, r0: int, r1: int) -> None:
        n = r1 - r0
        self.rows = {
            (r - n if r >= r1 else r): row for r, row in self.rows.items() if not r0 <= r < r1
        }
        self.row_meta = {
            (r - n if r >= r1 else r): m for r, m in self.row_meta.items() if not r0 <= r < r1
        }
        self.layers = [x for x in self.layers if _shrink_rows(x, r0, r1)]

    def insert_cols(self, at: int, n: int) -> None:
        for row in self.rows.values():
            if len(row) > at:
                row[at:at] = [None] * n
        self.col_meta = {(c + n if c >= at else c): m for c, m in self.col_meta.items()}
        for layer in self.layers:
            layer.c0, layer.c1 = _shift_insert(layer.c0, layer.c1, at, n)

    def delete_cols(self, c0: int, c1: int) -> None:
        n = c1 - c0
        for r in list(self.rows):
            del self.rows[r][c0:c1]
            self._trim_row(r)
        self.col_meta = {
            (c - n if c >= c1 else c): m for c, m in self.col_meta.items() if not c0 <= c < c1
        }
        self.layers = [x for x in self.layers if _shrink_cols(x, c0, c1)]

    def truncate(self, row_count: int, col_count: int) -> None:
        """Drop what falls outside a smaller grid (resize down)."""
        for r in [r for r in self.rows if r >= row_count]:
            del self.rows[r]
        for r in list(self.rows):
            del self.rows[r][col_count:]
            self._trim_row(r)
        self.row_meta = {k: v for k, v in self.row_meta.items() if k < row_count}
        self.col_meta = {k: v for k, v in self.col_meta.items() if k < col_count}


def _put(row: list[Any], c: int, entry: Any) -> None:
    """Write a value entry, keeping the format/note of a boxed cell already there."""
    old = row[c]
    if entry is CLEAR:
        if type(old) is Cell:
            old.value = old.formula = None
            row[c] = None if old.is_empty() else old
        else:
            row[c] = None
        return
    if type(old) is Cell and type(entry) is not Cell:
        old.value, old.formula = entry, None
        return
    if type(old) is Cell and type(entry) is Cell and entry.fmt is None:
        old.value, old.formula = entry.value, entry.formula
        return
    row[c] = entry


def _shift_insert(lo: int, hi: int, at: int, n: int) -> tuple[int, int]:
    if at <= lo:
        return lo + n, hi + n
    if at < hi:
        return lo, hi + n
    return lo, hi


def _cut(lo: int, hi: int, d0: int, d1: int) -> tuple[int, int]:
    n = d1 - d0
    new_lo = lo if lo < d0 else max(d0, lo - n)
    new_hi = hi if hi <= d0 else max(d0, hi - n)
    return new_lo, new_hi


def _shrink_rows(layer: Layer, r0: int, r1: int) -> bool:
    layer.r0, layer.r1 = _cut(layer.r0, layer.r1, r0, r1)
    return layer.r1 > layer.r0


def _shrink_cols(layer: Layer, c0: int, c1: int) -> bool:
    layer.c0, layer.c1 = _cut(layer.c0, layer.c1, c0, c1)
    return layer.c1 > layer.c0
