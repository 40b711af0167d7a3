"""Reading cells back: values rendering and formats resolved from layers.

A cell's user-entered format is its range layers (``repeatCell``) folded in
order, then its own format (``updateCells``). Pivot tables are rendered at
read time into the cells they cover, so they always reflect their source.
"""

from __future__ import annotations

import copy
from typing import Any

from sheets_sync.emulator.grid import Cell, Layer, entry_value
from sheets_sync.emulator.spreadsheets import Sheet, Spreadsheet
from sheets_sync.emulator.values import render

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
    if src is None:
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
    book: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, option: str, dates: str
) -> list[list[Any]]:
    """Rendered rows of a range, with trailing empty cells and rows trimmed like Google."""
    from sheets_sync.emulator.pivot import render_pivots

    grid = sheet.grid
    overlay = render_pivots(book, sheet)
    layers = [x for x in grid.layers if x.r0 < r1 and x.r1 > r0 and x.c0 < c1 and x.c1 > c0]
    keys = {k for k in grid.rows if r0 <= k < r1}
    keys.update(r for r, _ in overlay if r0 <= r < r1)
    out: list[list[Any]] = []
    for r in sorted(keys):
        row = grid.rows.get(r, [])
        rendered = _render_row(sheet, layers, overlay, r, row, c0, c1, option, dates)
        if rendered:
            out.extend([] for _ in range(r - r0 - len(out)))
            out.append(rendered)
    return out


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
