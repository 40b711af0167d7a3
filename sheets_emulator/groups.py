"""Row and column groups: ``addDimensionGroup``, ``deleteDimensionGroup``,
``updateDimensionGroup`` and the ``rowGroups`` / ``columnGroups`` of a sheet.

Google's reference (``AddDimensionGroupRequest``, ``DeleteDimensionGroupRequest``)
describes groups by their effect on each row or column: adding a group
raises the depth of every index in its range by one, deleting lowers it by
one. The groups answered are then, for each depth d, the maximal runs of
indexes at depth d or more — so ``[C:D, 1] + [B:E]`` gives ``[B:E, 1]`` and
``[C:D, 2]``, and deleting ``D:E`` from those leaves ``[B:D, 1]`` and
``[C:C, 2]``, the reference's own examples. Groups are kept in that derived
form; a group keeps its ``collapsed`` flag while a group of the same depth
overlaps it.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from sheets_emulator.apierror import bad_request
from sheets_emulator.shapes import public_ranges
from sheets_emulator.spreadsheets import Sheet, Spreadsheet

Group = dict[str, Any]
KEYS = {"ROWS": "rowGroups", "COLUMNS": "columnGroups"}


def _range(book: Spreadsheet, rng: dict[str, Any]) -> tuple[Sheet, str, int, int]:
    """A DimensionRange checked against the sheet (both ends required, inside the grid)."""
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    dim = rng.get("dimension")
    if dim not in KEYS:
        raise bad_request("range.dimension must be ROWS or COLUMNS.")
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", size))
    if not 0 <= start < end <= size:
        raise bad_request(
            f"Invalid dimension range [{start}, {end}) on a sheet with {size} {dim.lower()}."
        )
    return sheet, dim, start, end


def _groups(sheet: Sheet, dim: str) -> list[Group]:
    return sheet.row_groups if dim == "ROWS" else sheet.column_groups


def _depths(groups: list[Group]) -> dict[int, int]:
    """Depth of every grouped index (each index is in one group per depth up to its own)."""
    depth: dict[int, int] = {}
    for group in groups:
        rng = group["range"]
        for i in range(rng["startIndex"], rng["endIndex"]):
            depth[i] = max(depth.get(i, 0), group["depth"])
    return depth


def _rebuild(sheet: Sheet, dim: str, depth: dict[int, int], old: list[Group]) -> list[Group]:
    """The groups of a depth profile: per depth, the maximal runs at that depth or deeper."""
    out: list[Group] = []
    for level in range(1, max(depth.values(), default=0) + 1):
        deep = sorted(i for i, d in depth.items() if d >= level)
        for _, run in itertools.groupby(enumerate(deep), key=lambda pair: pair[1] - pair[0]):
            indexes = [i for _, i in run]
            out.append(_group(sheet, dim, indexes[0], indexes[-1] + 1, level, old))
    out.sort(key=lambda g: (g["range"]["startIndex"], g["depth"]))
    return out


def _group(sheet: Sheet, dim: str, start: int, end: int, depth: int, old: list[Group]) -> Group:
    collapsed = any(
        g["depth"] == depth
        and g.get("collapsed")
        and g["range"]["startIndex"] < end
        and start < g["range"]["endIndex"]
        for g in old
    )
    rng = {"sheetId": sheet.sheet_id, "dimension": dim, "startIndex": start, "endIndex": end}
    group: Group = {"range": rng, "depth": depth}
    if collapsed:
        group["collapsed"] = True
    return group


def _store(sheet: Sheet, dim: str, groups: list[Group]) -> None:
    if dim == "ROWS":
        sheet.row_groups = groups
    else:
        sheet.column_groups = groups


def _reply(sheet: Sheet, dim: str) -> dict[str, Any]:
    """``{dimensionGroups: [...]}``, or ``{}`` once the dimension has none (as recorded)."""
    groups = public(_groups(sheet, dim))
    return {"dimensionGroups": groups} if groups else {}


def public(groups: list[Group]) -> list[Group]:
    """DimensionGroups as Google answers them (sheet 0 left out, ``collapsed: false`` too)."""
    return list(public_ranges(copy.deepcopy(groups)))


def add_dimension_group(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    sheet, dim, start, end = _range(book, payload.get("range") or {})
    old = _groups(sheet, dim)
    depth = _depths(old)
    for i in range(start, end):
        depth[i] = depth.get(i, 0) + 1
    _store(sheet, dim, _rebuild(sheet, dim, depth, old))
    return _reply(sheet, dim)


def delete_dimension_group(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    sheet, dim, start, end = _range(book, payload.get("range") or {})
    old = _groups(sheet, dim)
    depth = _depths(old)
    if not any(depth.get(i) for i in range(start, end)):
        raise bad_request(f"No group exists over {dim.lower()} [{start}, {end}).")
    for i in range(start, end):
        if depth.get(i):
            depth[i] -= 1
    _store(sheet, dim, _rebuild(sheet, dim, {i: d for i, d in depth.items() if d}, old))
    return _reply(sheet, dim)


def update_dimension_group(book: Spreadsheet, payload: dict[str, Any]) -> None:
    """Sets ``collapsed`` (the only mutable field) of the group with that range and depth."""
    wanted = payload.get("dimensionGroup") or {}
    fields = str(payload.get("fields") or "")
    if not fields:
        raise bad_request("At least one field must be updated (set 'fields').")
    if any(f.strip() not in ("*", "collapsed") for f in fields.split(",")):
        raise bad_request(f"Only 'collapsed' can be updated on a dimension group, not {fields!r}.")
    sheet, dim, start, end = _range(book, wanted.get("range") or {})
    depth = int(wanted.get("depth", 0))
    for group in _groups(sheet, dim):
        rng = group["range"]
        if (rng["startIndex"], rng["endIndex"], group["depth"]) == (start, end, depth):
            group.pop("collapsed", None)
            if wanted.get("collapsed"):
                group["collapsed"] = True
            return
    raise bad_request(f"No group with range [{start}, {end}) and depth {depth} on this sheet.")


def shift(sheet: Sheet, dim: str, at: int, n: int) -> None:
    """Rows/columns inserted (``n > 0`` before ``at``) or deleted (``[at, at - n)``).

    A group grows with indexes inserted inside it and loses the ones deleted,
    like the emulator's other ranges (:mod:`.shift`); groups emptied vanish.
    """
    old = _groups(sheet, dim)
    if not old:
        return
    depth: dict[int, int] = {}
    for i, d in _depths(old).items():
        if n > 0:
            depth[i + n if i >= at else i] = d
        elif not at <= i < at - n:
            depth[i + n if i >= at - n else i] = d
    if n > 0:
        for i in range(at, at + n):  # inserted inside a group: as deep as both neighbours
            inner = min(depth.get(at - 1, 0), depth.get(at + n, 0))
            if inner:
                depth[i] = inner
    _store(sheet, dim, _rebuild(sheet, dim, depth, _shifted(old, at, n)))


def _shifted(old: list[Group], at: int, n: int) -> list[Group]:
    """The old groups moved like the indexes (so their ``collapsed`` flags find their heirs)."""
    out = copy.deepcopy(old)
    for group in out:
        rng = group["range"]
        for key in ("startIndex", "endIndex"):
            i = rng[key]
            rng[key] = i + n if (i >= at if n > 0 else i >= at - n) else min(i, at) if n < 0 else i
    return out


HANDLERS = {
    "addDimensionGroup": add_dimension_group,
    "deleteDimensionGroup": delete_dimension_group,
    "updateDimensionGroup": update_dimension_group,
}
