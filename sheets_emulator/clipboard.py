"""``copyPaste`` and ``cutPaste``: a range's cells, formats, validation, merges and
conditional formats pasted elsewhere, on the same sheet or another.

As Google's ``CopyPasteRequest`` reference says: a destination spanning a
multiple of the source's height (or width) repeats the source to fill it;
a smaller one still receives the whole source. ``TRANSPOSE`` turns rows into
columns. ``cutPaste`` pastes at a single cell and clears the source whatever
``pasteType`` pastes. The source is read whole before anything is written,
so source and destination may overlap. What each ``pasteType`` carries
follows the ``PasteType`` reference (``PASTE_FORMAT`` is the format and the
data validation; ``PASTE_NO_BORDERS`` is ``PASTE_NORMAL`` without borders).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sheets_emulator import a1
from sheets_emulator.apierror import bad_request
from sheets_emulator.batch_cells import add_layer
from sheets_emulator.grid import Cell, Layer
from sheets_emulator.render import VALIDATION
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, check_bounds, clip

Box = tuple[int, int, int, int]  # r0, r1, c0, c1 (end-exclusive)

_PARTS = {
    "PASTE_NORMAL": {"values", "formulas", "notes", "formats", "validation", "merges", "rules"},
    "PASTE_NO_BORDERS": {"values", "formulas", "notes", "formats", "validation", "merges", "rules"},
    "PASTE_VALUES": {"values"},
    "PASTE_FORMAT": {"formats", "validation", "merges", "rules"},
    "PASTE_FORMULA": {"values", "formulas"},
    "PASTE_DATA_VALIDATION": {"validation"},
    "PASTE_CONDITIONAL_FORMATTING": {"rules"},
}
_FORMAT_KEYS = (
    "numberFormat", "backgroundColor", "backgroundColorStyle", "borders", "padding",
    "horizontalAlignment", "verticalAlignment", "wrapStrategy", "textDirection", "textFormat",
    "hyperlinkDisplayType", "textRotation",
)  # fmt: skip


@dataclass
class Clip:
    """The source, read whole; positions relative to its top-left corner."""

    height: int
    width: int
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    merges: list[Box] = field(default_factory=list)
    rules: list[tuple[dict[str, Any], list[Box]]] = field(default_factory=list)

    def transposed(self) -> Clip:
        return Clip(
            self.width,
            self.height,
            {(c, r): cell for (r, c), cell in self.cells.items()},
            [Layer(x.c0, x.c1, x.r0, x.r1, x.fmt, list(x.fields)) for x in self.layers],
            [_flip(b) for b in self.merges],
            [(rule, [_flip(b) for b in boxes]) for rule, boxes in self.rules],
        )


def _flip(box: Box) -> Box:
    return box[2], box[3], box[0], box[1]


def _cut_box(box: Box, into: Box) -> Box | None:
    """``box`` clipped to ``into``, relative to ``into``'s corner (None when disjoint)."""
    r0, r1 = max(box[0], into[0]), min(box[1], into[1])
    c0, c1 = max(box[2], into[2]), min(box[3], into[3])
    if r0 >= r1 or c0 >= c1:
        return None
    return r0 - into[0], r1 - into[0], c0 - into[2], c1 - into[2]


def read(sheet: Sheet, box: Box) -> Clip:
    r0, r1, c0, c1 = box
    out = Clip(r1 - r0, c1 - c0)
    for r, row in sheet.grid.rows.items():
        if r0 <= r < r1:
            for c in range(c0, min(c1, len(row))):
                entry = row[c]
                if entry is not None:
                    out.cells[(r - r0, c - c0)] = (
                        entry.copy() if type(entry) is Cell else Cell(value=entry)
                    )
    for layer in sheet.grid.layers:
        part = _cut_box((layer.r0, layer.r1, layer.c0, layer.c1), box)
        if part is not None:
            out.layers.append(Layer(*part, layer.fmt, list(layer.fields)))
    for merge in sheet.merges:
        mbox = _grid_box(merge)
        if box[0] <= mbox[0] and mbox[1] <= box[1] and box[2] <= mbox[2] and mbox[3] <= box[3]:
            out.merges.append(_cut_box(mbox, box) or mbox)
    for rule in sheet.conditional_formats:
        parts = [p for p in (_cut_box(_grid_box(g), box) for g in rule.get("ranges", [])) if p]
        if parts:
            out.rules.append((rule, parts))
    return out


def _grid_box(rng: dict[str, Any]) -> Box:
    return (
        int(rng.get("startRowIndex", 0)),
        int(rng.get("endRowIndex", 1 << 30)),
        int(rng.get("startColumnIndex", 0)),
        int(rng.get("endColumnIndex", 1 << 30)),
    )


def _tiles(clip_: Clip, dest: Box) -> list[tuple[int, int]]:
    """Top-left corners of every copy: the destination filled when it spans multiples."""
    dh, dw = dest[1] - dest[0], dest[3] - dest[2]
    down = dh // clip_.height if dh % clip_.height == 0 and dh >= clip_.height else 1
    across = dw // clip_.width if dw % clip_.width == 0 and dw >= clip_.width else 1
    return [
        (dest[0] + i * clip_.height, dest[2] + j * clip_.width)
        for i in range(down)
        for j in range(across)
    ]


def paste(
    book: Spreadsheet, sheet: Sheet, clip_: Clip, corners: list[tuple[int, int]], kind: str
) -> None:
    parts = _PARTS[kind]
    last_r = max(r for r, _ in corners) + clip_.height
    last_c = max(c for _, c in corners) + clip_.width
    check_bounds(sheet, a1.Bounds(corners[0][0], last_r, corners[0][1], last_c))
    for r, c in corners:
        box = (r, r + clip_.height, c, c + clip_.width)
        _clear_target(sheet, box, parts, kind)
        _paste_cells(sheet, clip_, r, c, parts, kind)
        if "merges" in parts:
            _paste_merges(sheet, clip_, box)
        if "rules" in parts:
            _paste_rules(sheet, clip_, r, c)


def _clear_target(sheet: Sheet, box: Box, parts: set[str], kind: str) -> None:
    """What the paste replaces goes first: formats and validation as range layers."""
    r0, r1, c0, c1 = box
    if "formats" in parts:
        keys = [k for k in _FORMAT_KEYS if k != "borders"] if kind == "PASTE_NO_BORDERS" else ["*"]
        add_layer(sheet, Layer(r0, r1, c0, c1, {}, keys))
    if "validation" in parts:
        add_layer(sheet, Layer(r0, r1, c0, c1, {}, [VALIDATION]))
    if "values" in parts or "notes" in parts:
        grid = sheet.writable()
        for r in [r for r in grid.rows if r0 <= r < r1]:
            row = grid.rows[r]
            for c in range(c0, min(c1, len(row))):
                _take(row, c, parts)
            while row and row[-1] is None:
                row.pop()
            if not row:
                del grid.rows[r]


def _take(row: list[Any], c: int, parts: set[str]) -> None:
    """Empty what ``parts`` replaces in one destination cell."""
    entry = row[c]
    if type(entry) is not Cell:
        if "values" in parts:
            row[c] = None
        return
    if "values" in parts:
        entry.value = entry.formula = None
        entry.pivot = None
    if "notes" in parts:
        entry.note = None
    if entry.is_empty():
        row[c] = None


def _paste_cells(sheet: Sheet, clip_: Clip, r: int, c: int, parts: set[str], kind: str) -> None:
    grid = sheet.writable()
    for layer in clip_.layers:
        if layer.fields == [VALIDATION] and "validation" not in parts:
            continue
        if layer.fields != [VALIDATION] and "formats" not in parts:
            continue
        fmt, fields = _without_borders(layer.fmt, layer.fields, kind)
        moved = Layer(layer.r0 + r, layer.r1 + r, layer.c0 + c, layer.c1 + c, fmt, fields)
        add_layer(sheet, moved)
    for (dr, dc), cell in clip_.cells.items():
        new = _pasted(cell, parts, kind)
        if new is None:
            continue
        target = grid.cell_for_update(r + dr, c + dc)
        _merge_into(target, new, parts)
        if target.is_empty():
            grid.set(r + dr, c + dc, None)
        elif _plain(target):
            grid.set(r + dr, c + dc, target.value)


def _plain(cell: Cell) -> bool:
    return (
        cell.formula is None
        and not cell.fmt
        and cell.note is None
        and cell.pivot is None
        and cell.validation is None
    )


def _pasted(cell: Cell, parts: set[str], kind: str) -> Cell | None:
    new = Cell()
    if "values" in parts:
        new.value = cell.value
    if "formulas" in parts:
        new.formula = cell.formula
    if "notes" in parts:
        new.note = cell.note
    if "formats" in parts and cell.fmt:
        new.fmt = _without_borders(cell.fmt, ["*"], kind)[0] or None
    if "validation" in parts:
        new.validation = cell.validation
    return None if new.is_empty() else new


def _merge_into(target: Cell, new: Cell, parts: set[str]) -> None:
    if "values" in parts:
        target.value, target.formula = new.value, new.formula
    if "notes" in parts:
        target.note = new.note
    if new.fmt is not None:
        target.fmt = {**(target.fmt or {}), **new.fmt}
    if new.validation is not None:
        target.validation = new.validation


def _without_borders(
    fmt: dict[str, Any], fields: list[str], kind: str
) -> tuple[dict[str, Any], list[str]]:
    if kind != "PASTE_NO_BORDERS":
        return fmt, fields
    keys = (
        [k for k in _FORMAT_KEYS if k != "borders"]
        if "*" in fields
        else [f for f in fields if not f.startswith("borders")]
    )
    return {k: v for k, v in fmt.items() if k != "borders"}, keys


def _paste_merges(sheet: Sheet, clip_: Clip, box: Box) -> None:
    sheet.merges = [m for m in sheet.merges if _cut_box(_grid_box(m), box) is None]
    for r0, r1, c0, c1 in clip_.merges:
        sheet.merges.append({
            "sheetId": sheet.sheet_id,
            "startRowIndex": r0 + box[0], "endRowIndex": r1 + box[0],
            "startColumnIndex": c0 + box[2], "endColumnIndex": c1 + box[2],
        })  # fmt: skip


def _paste_rules(sheet: Sheet, clip_: Clip, r: int, c: int) -> None:
    """Each rule over the source becomes a new rule over the pasted cells (as in Sheets)."""
    for rule, boxes in clip_.rules:
        new = copy.deepcopy(rule)
        new["ranges"] = [
            {"sheetId": sheet.sheet_id, "startRowIndex": b[0] + r, "endRowIndex": b[1] + r,
             "startColumnIndex": b[2] + c, "endColumnIndex": b[3] + c}
            for b in boxes
        ]  # fmt: skip
        sheet.conditional_formats.append(new)


def _source(book: Spreadsheet, payload: dict[str, Any]) -> tuple[Sheet, Box]:
    if "source" not in payload:
        raise bad_request("source is required.")
    sheet, bounds = book.grid_range(payload["source"], "source: ")
    box = clip(sheet, bounds)
    if box[0] >= box[1] or box[2] >= box[3]:
        raise bad_request("source must cover at least one cell.")
    return sheet, box


def _kind(payload: dict[str, Any]) -> str:
    kind = str(payload.get("pasteType") or "PASTE_NORMAL")
    if kind not in _PARTS:
        raise bad_request(f"Invalid pasteType {kind!r}: expected one of {', '.join(_PARTS)}.")
    return kind


def copy_paste(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, box = _source(book, payload)
    kind = _kind(payload)
    orientation = str(payload.get("pasteOrientation") or "NORMAL")
    if orientation not in ("NORMAL", "TRANSPOSE"):
        raise bad_request(
            f"Invalid pasteOrientation {orientation!r}: expected NORMAL or TRANSPOSE."
        )
    if "destination" not in payload:
        raise bad_request("destination is required.")
    target, bounds = book.grid_range(payload["destination"], "destination: ")
    data = read(sheet, box)
    if orientation == "TRANSPOSE":
        data = data.transposed()
    paste(book, target, data, _tiles(data, clip(target, bounds)), kind)


def cut_paste(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, box = _source(book, payload)
    kind = _kind(payload)
    dest = payload.get("destination")
    if not isinstance(dest, dict):
        raise bad_request("destination (a GridCoordinate) is required.")
    target = book.sheet_by_id(dest.get("sheetId", 0), "destination: ")
    corner = (int(dest.get("rowIndex", 0)), int(dest.get("columnIndex", 0)))
    data = read(sheet, box)
    _clear_target(sheet, box, set(_PARTS["PASTE_NORMAL"]), "PASTE_NORMAL")
    sheet.merges = [m for m in sheet.merges if _cut_box(_grid_box(m), box) is None]
    paste(book, target, data, [corner], kind)


HANDLERS = {"copyPaste": copy_paste, "cutPaste": cut_paste}
