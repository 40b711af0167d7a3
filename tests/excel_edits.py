"""The team's edits to a workbook, made with openpyxl the way Excel leaves the file.

Excel and LibreOffice rewrite every defined name pointing at a sheet when a
column is inserted, deleted or moved, or the sheet renamed; openpyxl moves
the cells but not the names. These helpers do what Excel would, so tests of
the product's hidden markers (:mod:`sheets_sync.backends.xlsx.markers`) see
the file a real team would hand back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

_CELL = re.compile(r"(\$?)([A-Z]{1,3})(?=\$?\d|:|$)")


def excel_edit(path: Path, edit: Callable[[Any], None], rename: Callable[[str], str]) -> None:
    """Apply ``edit`` to the workbook, then rewrite every defined name with ``rename``.

    Mimics Excel's reference update: when a column is inserted, deleted or a
    sheet renamed, Excel rewrites each defined name pointing there (a name on
    a deleted column becomes ``'Sheet'!#REF!``). openpyxl moves the cells but
    not the names, so the test does what Excel would.
    """
    wb = load_workbook(path)
    edit(wb)
    for name in list(wb.defined_names):
        defined = wb.defined_names[name]
        defined.attr_text = rename(defined.attr_text)
    wb.save(path)


def _on_sheet(ref: str, sheet: str) -> tuple[str, str] | None:
    prefix = "'" + sheet.replace("'", "''") + "'!"
    return (prefix, ref[len(prefix) :]) if ref.startswith(prefix) else None


def insert_columns(path: Path, sheet: str, at: int, headers: dict[int, Any]) -> None:
    """The team inserts one column at ``at`` and types ``{row: value}`` in it."""

    def edit(wb: Any) -> None:
        ws = wb[sheet]
        ws.insert_cols(at)
        for row_number, value in headers.items():
            ws.cell(row_number, at, value)

    def shift(ref: str) -> str:
        found = _on_sheet(ref, sheet)
        if found is None:
            return ref
        prefix, area = found

        def move(match: re.Match[str]) -> str:
            index = column_index_from_string(match.group(2))
            return match.group(1) + get_column_letter(index + 1 if index >= at else index)

        return prefix + _CELL.sub(move, area)

    excel_edit(path, edit, shift)


def delete_column(path: Path, sheet: str, at: int) -> None:
    """The team deletes column ``at``: names on it break, names right of it move left."""

    def shift(ref: str) -> str:
        found = _on_sheet(ref, sheet)
        if found is None or "#REF!" in ref:
            return ref
        prefix, area = found
        parts = [_CELL.match(p) for p in area.split(":")]
        columns = [column_index_from_string(m.group(2)) for m in parts if m]
        if columns and all(c == at for c in columns):
            return prefix + "#REF!"

        def move(match: re.Match[str]) -> str:
            index = column_index_from_string(match.group(2))
            return match.group(1) + get_column_letter(index - 1 if index > at else index)

        return prefix + _CELL.sub(move, area)

    excel_edit(path, lambda wb: wb[sheet].delete_cols(at), shift)


def rename_sheet(path: Path, old: str, new: str) -> None:
    def edit(wb: Any) -> None:
        wb[old].title = new

    def rename(ref: str) -> str:
        found = _on_sheet(ref, old)
        return ref if found is None else "'" + new.replace("'", "''") + "'!" + found[1]

    excel_edit(path, edit, rename)


def move_column(path: Path, sheet: str, src: int, dst: int) -> None:
    """The team cuts column ``src`` and inserts it before column ``dst`` (``dst`` < ``src``).

    Only the one-column names (our column markers) are moved, as Excel moves
    every name on a moved column; the other names keep their bounds.
    """
    order = [*range(1, dst), src, *range(dst, src)]
    new_of = {old: new for new, old in enumerate(order, start=1)}

    def edit(wb: Any) -> None:
        ws = wb[sheet]
        values = {(r, c): ws.cell(r, c).value for r in range(1, ws.max_row + 1) for c in order}
        for (r, c), value in values.items():
            ws.cell(r, new_of[c], value)

    def move(ref: str) -> str:
        found = _on_sheet(ref, sheet)
        single = re.fullmatch(r"\$([A-Z]{1,3}):\$([A-Z]{1,3})", found[1]) if found else None
        if found is None or single is None or single.group(1) != single.group(2):
            return ref
        column = column_index_from_string(single.group(1))
        letter = get_column_letter(new_of.get(column, column))
        return f"{found[0]}${letter}:${letter}"

    excel_edit(path, edit, move)
