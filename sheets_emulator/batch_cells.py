"""batchUpdate kinds that touch cells and sheet-level objects: repeatCell,
updateCells (values, formats, notes, validation, pivot tables), data
validation, basic filters, protected and named ranges, conditional formats,
merges."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from sheets_emulator import fieldmask, pivot
from sheets_emulator.apierror import bad_request
from sheets_emulator.grid import CLEAR, Cell, Layer
from sheets_emulator.render import VALIDATION, set_path
from sheets_emulator.shapes import normalise_colours, twin_paths
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, check_bounds, clip
from sheets_emulator.values import from_extended

CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation", "pivotTable")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_REF_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|true|false)$", re.IGNORECASE)


def expand_fields(text: str) -> list[str]:
    """``a(b,c.d),e`` → ``["a.b", "a.c.d", "e"]``; ``*`` stays ``["*"]``."""
    tree = fieldmask.parse(text)
    if tree is None:
        return ["*"]
    out: list[str] = []

    def walk(node: fieldmask.Mask, prefix: str) -> None:
        for key, sub in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if sub:
                walk(sub, path)
            else:
                out.append(path)

    walk(tree, "")
    return out


def _cell_paths(payload: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    if not payload.get("fields"):
        raise bad_request("'fields' is required: it names what to write (e.g. userEnteredValue).")
    paths = expand_fields(str(payload["fields"]))
    if paths == ["*"]:
        return list(allowed)
    for path in paths:
        if path.split(".")[0] not in allowed:
            raise bad_request(
                f"the Sheets API emulator does not support writing '{path}' (supported: {', '.join(allowed)})."
            )
    return paths


def _format_paths(paths: list[str]) -> list[str]:
    subs = []
    for path in paths:
        if path == "userEnteredFormat":
            subs.append("*")
        elif path.startswith("userEnteredFormat."):
            subs.append(path.split(".", 1)[1])
    return subs if "*" in subs else twin_paths(subs)


def _user_format(data: dict[str, Any]) -> dict[str, Any]:
    """The request's userEnteredFormat, colours stored as Google stores them."""
    return normalise_colours(copy.deepcopy(data.get("userEnteredFormat") or {}))


# -- repeatCell / updateCells ----------------------------------------------------


def repeat_cell(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, bounds = book.grid_range(payload.get("range") or {})
    r0, r1, c0, c1 = clip(sheet, bounds)
    data = payload.get("cell") or {}
    paths = _cell_paths(payload, CELL_FIELDS[:4])
    grid = sheet.writable()
    subs = _format_paths(paths)
    if subs:
        add_layer(sheet, Layer(r0, r1, c0, c1, _user_format(data), subs))
    if "dataValidation" in paths:
        add_layer(
            sheet,
            Layer(r0, r1, c0, c1, copy.deepcopy(data.get("dataValidation") or {}), [VALIDATION]),
        )
    if "userEnteredValue" in paths or "note" in paths:
        for r in range(r0, r1):
            for c in range(c0, c1):
                _write_cell(
                    book, sheet, r, c, data, [p for p in paths if p in ("userEnteredValue", "note")]
                )
    _ = grid


def add_layer(sheet: Sheet, layer: Layer) -> None:
    """Add a range layer, dropping older ones it hides and stripping per-cell overrides."""
    grid = sheet.writable()
    grid.layers = [old for old in grid.layers if not _hidden_by(old, layer)]
    grid.layers.append(layer)
    for r, row in grid.rows.items():
        if layer.r0 <= r < layer.r1:
            for c in range(layer.c0, min(layer.c1, len(row))):
                entry = row[c]
                if type(entry) is Cell:
                    _strip_cell(entry, layer)


def _hidden_by(old: Layer, new: Layer) -> bool:
    covers = new.r0 <= old.r0 and old.r1 <= new.r1 and new.c0 <= old.c0 and old.c1 <= new.c1
    same_kind = (old.fields == [VALIDATION]) == (new.fields == [VALIDATION])
    return covers and same_kind and ("*" in new.fields or set(old.fields) <= set(new.fields))


def _strip_cell(cell: Cell, layer: Layer) -> None:
    if layer.fields == [VALIDATION]:
        cell.validation = None
    elif cell.fmt:
        if "*" in layer.fields:
            cell.fmt = None
        else:
            fmt = copy.deepcopy(cell.fmt)
            for path in layer.fields:
                set_path(fmt, path, {})
            cell.fmt = fmt or None


def update_cells(book: Spreadsheet, payload: dict[str, Any]) -> None:
    rows = payload.get("rows") or []
    paths = _cell_paths(payload, CELL_FIELDS)
    if "range" in payload:
        sheet, bounds = book.grid_range(payload["range"])
        r0, r1, c0, c1 = clip(sheet, bounds)
    else:
        start = payload.get("start") or {}
        sheet = book.sheet_by_id(start.get("sheetId", 0))
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        width = max((len(r.get("values") or []) for r in rows), default=0)
        r1, c1 = r0 + len(rows), c0 + width
        from sheets_emulator.a1 import Bounds

        check_bounds(sheet, Bounds(r0, max(r1, r0 + 1), c0, max(c1, c0 + 1)))
    for i in range(r1 - r0):
        values = (rows[i].get("values") or []) if i < len(rows) else []
        for j in range(c1 - c0):
            data = values[j] if j < len(values) else {}
            if "range" not in payload and j >= len(values):
                continue
            _write_cell(book, sheet, r0 + i, c0 + j, data or {}, paths)


def _write_cell(
    book: Spreadsheet, sheet: Sheet, r: int, c: int, data: dict[str, Any], paths: list[str]
) -> None:
    grid = sheet.writable()
    cell = grid.cell_for_update(r, c)
    where = f"cell {r},{c}"
    if "userEnteredValue" in paths:
        ext = data.get("userEnteredValue")
        new = from_extended(ext, where) if ext else Cell()
        cell.value, cell.formula = new.value, new.formula
    subs = _format_paths(paths)
    if subs:
        fmt = {} if "*" in subs else copy.deepcopy(cell.fmt or {})
        given = _user_format(data)
        for sub in subs:
            if sub == "*":
                fmt = copy.deepcopy(given)
            else:
                set_path(fmt, sub, given)
        cell.fmt = fmt or None
    if "note" in paths:
        cell.note = data.get("note") or None
    if "dataValidation" in paths:
        cell.validation = copy.deepcopy(data.get("dataValidation")) or None
    if "pivotTable" in paths:
        _set_pivot(book, sheet, cell, data.get("pivotTable"), where)
    if cell.is_empty():
        grid.write_row(r, c, [CLEAR])


def _set_pivot(book: Spreadsheet, sheet: Sheet, cell: Cell, table: Any, where: str) -> None:
    if not table:
        cell.pivot = None
        return
    pivot.validate(book, table, where)
    cell.pivot = copy.deepcopy(table)
    sheet.has_pivots = True


# -- validation, filters ---------------------------------------------------------


def set_data_validation(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, bounds = book.grid_range(payload.get("range") or {})
    rule = payload.get("rule")
    if rule is not None and not (rule.get("condition") or {}).get("type"):
        raise bad_request("rule.condition.type is required (e.g. ONE_OF_LIST, NUMBER_GREATER).")
    r0, r1, c0, c1 = clip(sheet, bounds)
    add_layer(sheet, Layer(r0, r1, c0, c1, copy.deepcopy(rule or {}), [VALIDATION]))


def set_basic_filter(book: Spreadsheet, payload: dict[str, Any]) -> None:
    flt = copy.deepcopy(payload.get("filter") or {})
    if "range" not in flt:
        raise bad_request("filter.range is required.")
    sheet, bounds = book.grid_range(flt["range"])
    r0, r1, c0, c1 = clip(sheet, bounds)  # Google stores the filter's range with explicit bounds
    flt["range"] = {"sheetId": sheet.sheet_id, "startRowIndex": r0, "endRowIndex": r1,
                    "startColumnIndex": c0, "endColumnIndex": c1}  # fmt: skip
    sheet.basic_filter = flt


def clear_basic_filter(book: Spreadsheet, payload: dict[str, Any]) -> None:
    book.sheet_by_id(payload.get("sheetId", 0)).basic_filter = None


# -- protected and named ranges --------------------------------------------------


def add_protected_range(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    protected = copy.deepcopy(payload.get("protectedRange") or {})
    if "namedRangeId" in protected:
        named = next(
            (n for n in book.named_ranges if n["namedRangeId"] == protected["namedRangeId"]), None
        )
        if named is None:
            raise bad_request(f"No named range with id: {protected['namedRangeId']}")
        protected["range"] = copy.deepcopy(named["range"])
    if "range" not in protected:
        raise bad_request("protectedRange.range (or namedRangeId) is required.")
    sheet, _ = book.grid_range(protected["range"])
    protected["range"].setdefault("sheetId", sheet.sheet_id)
    protected["protectedRangeId"] = book.rng.randrange(1, 2**31 - 1)
    protected["requestingUserCanEdit"] = True  # read-only: the caller owns the spreadsheet
    if not protected.get("warningOnly"):
        protected.pop("warningOnly", None)
    asked = {k: v for k, v in (protected.get("editors") or {}).items() if v not in ([], False)}
    reply = {**protected, "editors": asked}
    users = [book.owner, *[u for u in asked.get("users", []) if u != book.owner]]
    protected["editors"] = {**asked, "users": users}  # Google adds the owner as an editor
    sheet.protected_ranges.append(protected)
    return {"protectedRange": copy.deepcopy(reply)}


def _find_protected(book: Spreadsheet, range_id: Any) -> tuple[Sheet, dict[str, Any]]:
    for sheet in book.sheets:
        for protected in sheet.protected_ranges:
            if protected["protectedRangeId"] == range_id:
                return sheet, protected
    raise bad_request(f"No protected range with id: {range_id}")


def update_protected_range(book: Spreadsheet, payload: dict[str, Any]) -> None:
    new = payload.get("protectedRange") or {}
    _, protected = _find_protected(book, new.get("protectedRangeId"))
    for path in expand_fields(str(payload.get("fields") or "*")):
        if path == "*":
            protected.update(
                copy.deepcopy({k: v for k, v in new.items() if k != "protectedRangeId"})
            )
        else:
            set_path(protected, path, new)


def delete_protected_range(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, protected = _find_protected(book, payload.get("protectedRangeId"))
    sheet.protected_ranges.remove(protected)


def add_named_range(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    named = copy.deepcopy(payload.get("namedRange") or {})
    _check_name(book, str(named.get("name", "")), None)
    sheet, _ = book.grid_range(named.get("range") or {})
    named["range"].setdefault("sheetId", sheet.sheet_id)
    named.setdefault("namedRangeId", f"{book.rng.getrandbits(40):x}")
    if any(n["namedRangeId"] == named["namedRangeId"] for n in book.named_ranges):
        raise bad_request(f"A named range with id {named['namedRangeId']} already exists.")
    book.named_ranges.append(named)
    return {"namedRange": copy.deepcopy(named)}


def _check_name(book: Spreadsheet, name: str, keep: str | None) -> None:
    if not _NAME.match(name) or _REF_LIKE.match(name):
        raise bad_request(
            f"The name {name!r} is not valid: use letters, digits, '_' and '.', start with a letter "
            "or '_', and do not use a cell reference."
        )
    for other in book.named_ranges:
        if other["name"].lower() == name.lower() and other["namedRangeId"] != keep:
            raise bad_request(f"A named range with the name {name!r} already exists.")


def _find_named(book: Spreadsheet, range_id: Any) -> dict[str, Any]:
    for named in book.named_ranges:
        if named["namedRangeId"] == range_id:
            return named
    raise bad_request(f"No named range with id: {range_id}")


def update_named_range(book: Spreadsheet, payload: dict[str, Any]) -> None:
    """Apply the ``fields`` mask to a copy, then check the result whole (a ``*`` mask
    replaces both name and range, so it needs both; ``range.endRowIndex`` changes one bound)."""
    new = payload.get("namedRange") or {}
    named = _find_named(book, new.get("namedRangeId"))
    if not payload.get("fields"):
        raise bad_request("'fields' is required.")
    paths = expand_fields(str(payload["fields"]))
    paths = ["name", "range"] if "*" in paths else paths
    if "namedRangeId" in paths:
        raise bad_request("namedRangeId cannot be changed.")
    updated = copy.deepcopy(named)
    for path in paths:
        set_path(updated, path, new)
    if "range" not in updated:
        raise bad_request("namedRange.range is required: a named range must cover a range.")
    _check_name(book, str(updated.get("name", "")), named["namedRangeId"])
    book.grid_range(updated["range"])
    named.clear()
    named.update(updated)


def delete_named_range(book: Spreadsheet, payload: dict[str, Any]) -> None:
    book.named_ranges.remove(_find_named(book, payload.get("namedRangeId")))


# -- conditional formats, merges -------------------------------------------------


def add_conditional_format_rule(book: Spreadsheet, payload: dict[str, Any]) -> None:
    rule = copy.deepcopy(payload.get("rule") or {})
    ranges = rule.get("ranges") or []
    if not ranges:
        raise bad_request("rule.ranges must name at least one range.")
    if ("booleanRule" in rule) == ("gradientRule" in rule):
        raise bad_request("rule needs exactly one of booleanRule or gradientRule.")
    sheets = {book.grid_range(r)[0].sheet_id for r in ranges}
    if len(sheets) != 1:
        raise bad_request("All ranges of a conditional format rule must be on the same sheet.")
    sheet = book.sheet_by_id(sheets.pop())
    index = int(payload.get("index", 0))
    sheet.conditional_formats.insert(min(index, len(sheet.conditional_formats)), rule)


def _rule_at(book: Spreadsheet, payload: dict[str, Any]) -> tuple[Sheet, int]:
    sheet = book.sheet_by_id(payload.get("sheetId", 0))
    index = int(payload.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise bad_request(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    return sheet, index


def delete_conditional_format_rule(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(book, payload)
    return {"rule": sheet.conditional_formats.pop(index)}


def update_conditional_format_rule(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(book, payload)
    old = sheet.conditional_formats[index]
    if "rule" in payload:
        sheet.conditional_formats[index] = copy.deepcopy(payload["rule"])
        return {"oldRule": old, "newRule": payload["rule"], "oldIndex": index, "newIndex": index}
    new_index = int(payload.get("newIndex", index))
    sheet.conditional_formats.insert(new_index, sheet.conditional_formats.pop(index))
    return {"oldRule": old, "newRule": old, "oldIndex": index, "newIndex": new_index}


def merge_cells(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, bounds = book.grid_range(payload.get("range") or {})
    r0, r1, c0, c1 = clip(sheet, bounds)
    kind = payload.get("mergeType", "MERGE_ALL")
    if kind == "MERGE_ALL":
        pieces = [(r0, r1, c0, c1)]
    elif kind == "MERGE_ROWS":
        pieces = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    elif kind == "MERGE_COLUMNS":
        pieces = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    else:
        raise bad_request(f"Invalid mergeType {kind!r}")
    box = (r0, r1, c0, c1)
    sheet.merges = [m for m in sheet.merges if not _inside(m, box)]  # re-merging replaces them
    for p in pieces:
        if any(_overlap(p, m) for m in sheet.merges):
            raise bad_request(
                "You can't merge cells that overlap an existing merge; unmerge them first."
            )
        sheet.merges.append(
            {
                "sheetId": sheet.sheet_id,
                "startRowIndex": p[0],
                "endRowIndex": p[1],
                "startColumnIndex": p[2],
                "endColumnIndex": p[3],
            }
        )


def _overlap(p: tuple[int, int, int, int], m: dict[str, Any]) -> bool:
    return (
        p[0] < m["endRowIndex"] and m["startRowIndex"] < p[1]
        and p[2] < m["endColumnIndex"] and m["startColumnIndex"] < p[3]
    )  # fmt: skip


def _inside(m: dict[str, Any], box: tuple[int, int, int, int]) -> bool:
    return (
        box[0] <= m["startRowIndex"] and m["endRowIndex"] <= box[1]
        and box[2] <= m["startColumnIndex"] and m["endColumnIndex"] <= box[3]
    )  # fmt: skip


def unmerge_cells(book: Spreadsheet, payload: dict[str, Any]) -> None:
    sheet, bounds = book.grid_range(payload.get("range") or {})
    box = clip(sheet, bounds)
    sheet.merges = [m for m in sheet.merges if not _overlap(box, m)]


HANDLERS: dict[str, Callable[[Spreadsheet, dict[str, Any]], dict[str, Any] | None]] = {
    "repeatCell": repeat_cell,
    "updateCells": update_cells,
    "setDataValidation": set_data_validation,
    "setBasicFilter": set_basic_filter,
    "clearBasicFilter": clear_basic_filter,
    "addProtectedRange": add_protected_range,
    "updateProtectedRange": update_protected_range,
    "deleteProtectedRange": delete_protected_range,
    "addNamedRange": add_named_range,
    "updateNamedRange": update_named_range,
    "deleteNamedRange": delete_named_range,
    "addConditionalFormatRule": add_conditional_format_rule,
    "deleteConditionalFormatRule": delete_conditional_format_rule,
    "updateConditionalFormatRule": update_conditional_format_rule,
    "mergeCells": merge_cells,
    "unmergeCells": unmerge_cells,
}
