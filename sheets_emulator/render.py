"""Reading cells back: values rendering and formats resolved from layers.

A cell's user-entered format is its range layers (``repeatCell``) folded in
order, then its own format (``updateCells``). Pivot tables are rendered at
read time into the cells they cover, so they always reflect their source.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sheets_emulator.grid import Cell, Layer, entry_value
from sheets_emulator.numfmt import is_datetime_format
from sheets_emulator.spreadsheets import Sheet, Spreadsheet
from sheets_emulator.values import formatted, render

VALIDATION = "dataValidation"


def set_path(target: dict[str, Any], path: str, source: dict[str, Any]) -> None:
    """Copy ``path`` (``a.b``) from source into target; absent in source means delete."""
    keys = path.split(".")
    src: Any = source
    for key in keys:
        src = src.get(key) if isinstance(src, dict) else None
        if src is None:
            break
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    if src is None or src == {}:  # an empty message is an unset one
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = copy.deepcopy(src)


def fold_layer(fmt: dict[str, Any], layer: Layer) -> dict[str, Any]:
    if "*" in layer.fields:
        return copy.deepcopy(layer.fmt)
    out = copy.deepcopy(fmt)
    for path in layer.fields:
        set_path(out, path, layer.fmt)
    return out


def covering(layers: list[Layer], r: int, c: int) -> list[Layer]:
    return [x for x in layers if x.r0 <= r < x.r1 and x.c0 <= c < x.c1]


def user_format(sheet: Sheet, r: int, c: int, entry: Any) -> dict[str, Any]:
    fmt: dict[str, Any] = {}
    for layer in covering(sheet.grid.layers, r, c):
        if layer.fields != [VALIDATION]:
            fmt = fold_layer(fmt, layer)
    if type(entry) is Cell and entry.fmt:
        fmt = {**fmt, **copy.deepcopy(entry.fmt)}
    return fmt


def validation_rule(sheet: Sheet, r: int, c: int, entry: Any) -> dict[str, Any] | None:
    if type(entry) is Cell and entry.validation is not None:
        return entry.validation or None
    rule = None
    for layer in covering(sheet.grid.layers, r, c):
        if layer.fields == [VALIDATION]:
            rule = layer.fmt or None
    return rule


def read_values(
    book: Spreadsheet,
    sheet: Sheet,
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    option: str,
    dates: str,
    overlay: dict[tuple[int, int], Any] | None = None,
) -> list[list[Any]]:
    """Rendered rows of a range, with trailing empty cells and rows trimmed like Google.

    ``overlay`` (the sheet's rendered pivots) may be passed in so a batchGet of
    many ranges on one sheet computes its pivots once.
    """
    from sheets_emulator.pivot import render_pivots

    grid = sheet.grid
    if overlay is None:
        overlay = render_pivots(book, sheet)
    layers = [x for x in grid.layers if x.r0 < r1 and x.r1 > r0 and x.c0 < c1 and x.c1 > c0]
    keys = {k for k in grid.rows if r0 <= k < r1}
    pivot_rows = {r for r, _ in overlay if r0 <= r < r1}
    keys.update(pivot_rows)
    formats = ColumnFormats(layers, c0, c1)
    options = (_fast_cell(option, dates), option, dates)
    out: list[list[Any]] = []
    for r in sorted(keys):
        row = grid.rows.get(r, [])
        if r in pivot_rows:
            rendered = _render_row(sheet, layers, overlay, r, row, c0, c1, option, dates)
        else:
            rendered = _render_plain_row(sheet, layers, formats.for_row(r), options, r, row, c0, c1)
        if rendered:
            out.extend([] for _ in range(r - r0 - len(out)))
            out.append(rendered)
    return out


class ColumnFormats:
    """The layer-given number format of each column of a range, per row.

    Rows covered by the same layers share one list, folded once; this keeps a
    big read linear in the cells instead of folding layers for every cell.
    """

    def __init__(self, layers: list[Layer], c0: int, c1: int) -> None:
        self.layers = [x for x in layers if x.fields != [VALIDATION]]
        self.c0, self.c1 = c0, c1
        self._span: tuple[int, int, list[Any] | None] = (0, -1, None)
        self._by_key: dict[tuple[int, ...], list[Any] | None] = {}

    def for_row(self, r: int) -> list[Any] | None:
        """Formats indexed by ``c - c0`` (None: no layer sets a number format in this row)."""
        lo, hi, cols = self._span
        if lo <= r < hi:
            return cols
        if not self.layers:
            self._span = (0, 1 << 62, None)
            return None
        key = tuple(i for i, x in enumerate(self.layers) if x.r0 <= r < x.r1)
        edges = [x.r0 for x in self.layers if x.r0 > r] + [x.r1 for x in self.layers if x.r1 > r]
        cols = self._by_key.get(key) if key in self._by_key else self._columns(key)
        self._by_key[key] = cols
        self._span = (r, min(edges, default=1 << 62), cols)
        return cols

    def _columns(self, key: tuple[int, ...]) -> list[Any] | None:
        folded: dict[tuple[int, ...], Any] = {}
        out = []
        for c in range(self.c0, self.c1):
            cover = tuple(i for i in key if self.layers[i].c0 <= c < self.layers[i].c1)
            if cover not in folded:
                fmt: dict[str, Any] = {}
                for i in cover:
                    fmt = fold_layer(fmt, self.layers[i])
                folded[cover] = fmt.get("numberFormat")
            out.append(folded[cover])
        return out if any(f is not None for f in out) else None


FastCell = Callable[[Any, Any], Any]


def _fast_cell(option: str, dates: str) -> FastCell:
    """How a plain (unboxed, non-text) value renders under the read options."""
    if option == "FORMATTED_VALUE":
        return formatted
    formatted_dates = dates == "FORMATTED_STRING"

    def unformatted(value: Any, number_format: Any) -> Any:
        if (
            formatted_dates
            and number_format
            and type(value) is not bool
            and is_datetime_format(number_format)
        ):
            return formatted(value, number_format)
        if type(value) is float and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value

    return unformatted


def _render_plain_row(
    sheet: Sheet,
    layers: list[Layer],
    col_formats: list[Any] | None,
    options: tuple[FastCell, str, str],
    r: int,
    row: list[Any],
    c0: int,
    c1: int,
) -> list[Any]:
    """One row without pivot output: plain values take the fast path, boxed cells the full one."""
    fast, option, dates = options
    cells: list[Any] = []
    append = cells.append
    for c, entry in enumerate(row[c0:c1], c0):
        kind = type(entry)
        if entry is None:
            append("")
        elif kind is str:
            append(entry)
        elif kind is Cell:
            append(_render_cell(sheet, layers, r, c, entry, option, dates))
        else:
            append(fast(entry, None if col_formats is None else col_formats[c - c0]))
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _render_row(
    sheet: Sheet,
    layers: list[Layer],
    overlay: dict[tuple[int, int], Any],
    r: int,
    row: list[Any],
    c0: int,
    c1: int,
    option: str,
    dates: str,
) -> list[Any]:
    width = min(c1, max(len(row), max((c + 1 for rr, c in overlay if rr == r), default=0)))
    cells = []
    for c in range(c0, width):
        entry = row[c] if c < len(row) else None
        if (r, c) in overlay and entry_value(entry) is None and not _has_formula(entry):
            entry = overlay[(r, c)]
        cells.append(_render_cell(sheet, layers, r, c, entry, option, dates))
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _has_formula(entry: Any) -> bool:
    return type(entry) is Cell and entry.formula is not None


def _render_cell(
    sheet: Sheet, layers: list[Layer], r: int, c: int, entry: Any, option: str, dates: str
) -> Any:
    if entry is None:
        return ""
    if type(entry) is Cell:
        value, formula = entry.value, entry.formula
    else:
        value, formula = entry, None
        if type(value) is str:
            return value
        if not layers and option != "FORMATTED_VALUE":
            return int(value) if type(value) is float and value.is_integer() else value
    number_format = None
    if value is not None and type(value) is not str:
        number_format = (
            user_format(sheet, r, c, entry).get("numberFormat")
            if layers or type(entry) is Cell
            else None
        )
    shown = render(value, formula, number_format, option, dates)
    return "" if shown is None else shown
