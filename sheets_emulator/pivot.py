"""Pivot tables: validated when written, rendered (computed) when read.

Rendering covers the common shape: any number of row groupings, at most one
column grouping, values summarised with SUM, COUNTA, COUNT, AVERAGE, MIN,
MAX or COUNTUNIQUE, horizontal value layout, and a Grand Total row/column.
Anything else is stored and returned by spreadsheets.get but renders nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sheets_emulator.apierror import bad_request
from sheets_emulator.grid import Cell, entry_value
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, clip

SUMMARIES: dict[str, Callable[[list[Any]], Any]] = {
    "SUM": lambda xs: sum(x for x in xs if _is_num(x)),
    "COUNTA": lambda xs: sum(1 for x in xs if x not in (None, "")),
    "COUNT": lambda xs: sum(1 for x in xs if _is_num(x)),
    "AVERAGE": lambda xs: _avg([x for x in xs if _is_num(x)]),
    "MIN": lambda xs: min((x for x in xs if _is_num(x)), default=0),
    "MAX": lambda xs: max((x for x in xs if _is_num(x)), default=0),
    "COUNTUNIQUE": lambda xs: len({x for x in xs if x not in (None, "")}),
}


def _is_num(x: Any) -> bool:
    return type(x) in (int, float)


def _avg(xs: list[Any]) -> Any:
    return sum(xs) / len(xs) if xs else None


def validate(book: Spreadsheet, pivot: dict[str, Any], where: str) -> None:
    """The source range exists and every offset and function makes sense."""
    source = pivot.get("source")
    if not isinstance(source, dict):
        raise bad_request(f"{where}: pivotTable.source is required")
    sheet, bounds = book.grid_range(source, where + ": ")
    r0, r1, c0, c1 = clip(sheet, bounds)
    width = c1 - c0
    if r1 - r0 < 1 or width < 1:
        raise bad_request(f"{where}: pivotTable.source must not be empty")
    for group in ("rows", "columns", "values"):
        for i, item in enumerate(pivot.get(group) or []):
            offset = item.get("sourceColumnOffset")
            if offset is None and group != "values":
                raise bad_request(
                    f"{where}: pivotTable.{group}[{i}].sourceColumnOffset is required"
                )
            if offset is not None and not 0 <= int(offset) < width:
                raise bad_request(
                    f"{where}: pivotTable.{group}[{i}].sourceColumnOffset {offset} is outside the "
                    f"source range, which has {width} columns"
                )
            if group == "values" and "formula" not in item:
                func = item.get("summarizeFunction", "SUM")
                if func not in SUMMARIES and func != "CUSTOM":
                    raise bad_request(
                        f"{where}: pivotTable.values[{i}].summarizeFunction {func!r} is invalid"
                    )


def render_pivots(book: Spreadsheet, sheet: Sheet) -> dict[tuple[int, int], Any]:
    """Computed values of every pivot anchored on ``sheet``, by (row, column)."""
    if not sheet.has_pivots:
        return {}
    out: dict[tuple[int, int], Any] = {}
    for r, row in sheet.grid.rows.items():
        for c, entry in enumerate(row):
            if type(entry) is Cell and entry.pivot is not None:
                for (dr, dc), value in _render(book, entry.pivot).items():
                    out[(r + dr, c + dc)] = value
    return out


def _render(book: Spreadsheet, pivot: dict[str, Any]) -> dict[tuple[int, int], Any]:
    try:
        source_sheet, bounds = book.grid_range(pivot["source"])
    except Exception:
        return {}  # the source sheet was deleted: Google shows an error cell; we show nothing
    if len(pivot.get("columns") or []) > 1 or any(
        "formula" in v for v in pivot.get("values") or []
    ):
        return {}
    r0, r1, c0, c1 = clip(source_sheet, bounds)
    table = [
        [entry_value(source_sheet.grid.get(r, c)) for c in range(c0, c1)] for r in range(r0, r1)
    ]
    header, records = table[0], [t for t in table[1:] if any(v not in (None, "") for v in t)]
    if pivot.get("columns"):
        return _crosstab(pivot, header, records)
    return _flat(pivot, header, records)


def _value_specs(pivot: dict[str, Any], header: list[Any]) -> list[tuple[str, int, str]]:
    specs = []
    for item in pivot.get("values") or []:
        offset = int(item.get("sourceColumnOffset", 0))
        func = item.get("summarizeFunction", "SUM")
        specs.append((item.get("name") or f"{func} of {header[offset]}", offset, func))
    return specs


def _group_key(record: list[Any], groups: list[dict[str, Any]]) -> tuple[Any, ...]:
    return tuple(record[int(g["sourceColumnOffset"])] for g in groups)


def _sorted_keys(keys: set[tuple[Any, ...]], groups: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    ordered = sorted(
        keys, key=lambda k: tuple((type(v) is str, str(v) if type(v) is str else v or 0) for v in k)
    )
    if groups and groups[0].get("sortOrder") == "DESCENDING":
        ordered.reverse()
    return ordered


def _flat(
    pivot: dict[str, Any], header: list[Any], records: list[list[Any]]
) -> dict[tuple[int, int], Any]:
    rows, specs = pivot.get("rows") or [], _value_specs(pivot, header)
    out: dict[tuple[int, int], Any] = {}
    for j, g in enumerate(rows):
        out[(0, j)] = header[int(g["sourceColumnOffset"])]
    for k, (name, _, _) in enumerate(specs):
        out[(0, len(rows) + k)] = name
    keys = _sorted_keys({_group_key(rec, rows) for rec in records}, rows)
    for i, key in enumerate(keys, start=1):
        members = [rec for rec in records if _group_key(rec, rows) == key]
        for j, v in enumerate(key):
            out[(i, j)] = v
        for k, (_, offset, func) in enumerate(specs):
            out[(i, len(rows) + k)] = SUMMARIES[func]([m[offset] for m in members])
    total_row = len(keys) + 1
    out[(total_row, 0)] = "Grand Total"
    for k, (_, offset, func) in enumerate(specs):
        out[(total_row, len(rows) + k)] = SUMMARIES[func]([m[offset] for m in records])
    return {pos: v for pos, v in out.items() if v is not None}


def _crosstab(
    pivot: dict[str, Any], header: list[Any], records: list[list[Any]]
) -> dict[tuple[int, int], Any]:
    rows, col = pivot.get("rows") or [], pivot["columns"][0]
    specs = _value_specs(pivot, header)[:1]
    if not specs:
        return {}
    name, offset, func = specs[0]
    col_off = int(col["sourceColumnOffset"])
    col_keys = _sorted_keys({(rec[col_off],) for rec in records}, [col])
    row_keys = _sorted_keys({_group_key(rec, rows) for rec in records}, rows)
    width = max(len(rows), 1)
    out: dict[tuple[int, int], Any] = {(0, 0): name, (0, width): header[col_off]}
    for j, g in enumerate(rows):
        out[(1, j)] = header[int(g["sourceColumnOffset"])]
    for k, (cv,) in enumerate(col_keys):
        out[(1, width + k)] = cv
    out[(1, width + len(col_keys))] = "Grand Total"
    for i, key in enumerate([*row_keys, None], start=2):
        members = [rec for rec in records if key is None or _group_key(rec, rows) == key]
        for j, v in enumerate(key or ("Grand Total",)):
            out[(i, j)] = v
        for k, (cv,) in enumerate(col_keys):
            cell = [m[offset] for m in members if m[col_off] == cv]
            if cell:
                out[(i, width + k)] = SUMMARIES[func](cell)
        out[(i, width + len(col_keys))] = SUMMARIES[func]([m[offset] for m in members])
    return {pos: v for pos, v in out.items() if v is not None}
