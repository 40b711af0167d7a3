"""A few cells set in a worksheet part's XML text: the pricing push's write-back.

A push writes a handful of cells (status, version, cleared edits) into the
Pricing tab, a million-cell sheet in the demo workbook. Loading and saving
the workbook for that cost a minute; here the sheet's XML is patched as
text — each target cell replaced in place, keeping its style (its number
format, its unlocked protection), or inserted at its place in its row — and
the package saved with every other part as stored. Text is always an inline
string, so ``=…`` stays literal. A value this patcher does not spell (a
date), or a part it does not read (a cell without its reference), raises
:class:`Unsupported`, and the caller takes openpyxl's whole-workbook path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter

from sheets_sync.backends.base import CellWrite
from sheets_sync.backends.xlsx.rowxml import inline

_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(/?)>')
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})\d+"[^>]*?(/?)>')
_STYLE = re.compile(rb'\ss="(\d+)"')


class Unsupported(Exception):
    """The part or a value is outside what the text patch handles."""


def patch(xml: bytes, cells: Sequence[CellWrite]) -> bytes:
    """``xml`` with ``cells`` set (the last write of a cell wins)."""
    targets: dict[int, dict[int, Any]] = {}
    for cell in cells:
        targets.setdefault(cell.row, {})[cell.column] = _check(cell.value)
    start, end = _sheet_data(xml)
    out: list[bytes] = [xml[:start]]
    at, todo = start, sorted(targets)
    for match in _ROW.finditer(xml, start, end):
        if not todo:
            break
        row = int(match.group(1))
        while todo and todo[0] < row:
            out += [xml[at : match.start()], _new_row(todo[0], targets[todo.pop(0)])]
            at = match.start()
        if todo and todo[0] == row:
            todo.pop(0)
            closing = match.end() if match.group(2) else xml.index(b"</row>", match.end())
            opening = match.group(0)[:-2] + b">" if match.group(2) else match.group(0)
            body = b"" if match.group(2) else xml[match.end() : closing]
            out += [xml[at : match.start()], opening, _patch_row(body, row, targets[row])]
            out.append(b"</row>")
            at = closing if match.group(2) else closing + len(b"</row>")
    out.append(xml[at:end])
    out += [_new_row(row, targets[row]) for row in todo]
    out.append(xml[end:])
    return b"".join(out)


def _sheet_data(xml: bytes) -> tuple[int, int]:
    """Where rows may go: after ``<sheetData>`` and before ``</sheetData>``."""
    empty = re.search(rb"<sheetData\s*/>", xml)
    if empty is not None:
        raise Unsupported("empty sheet")
    opening = re.search(rb"<sheetData\b[^>]*>", xml)
    closing = xml.rfind(b"</sheetData>")
    if opening is None or closing < 0:
        raise Unsupported("no sheetData")
    return opening.end(), closing


def _check(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float | Decimal):
        return value
    raise Unsupported(type(value).__name__)


def _patch_row(body: bytes, row: int, cells: Mapping[int, Any]) -> bytes:
    out: list[bytes] = []
    at, todo, seen = 0, sorted(cells), 0
    for match in _CELL.finditer(body):
        seen += 1
        column = column_index_from_string(match.group(1).decode())
        end = match.end() if match.group(2) else body.index(b"</c>", match.end()) + 4
        while todo and todo[0] < column:
            out += [body[at : match.start()], _cell(row, todo[0], cells[todo.pop(0)], b"")]
            at = match.start()
        if todo and todo[0] == column:
            style = _STYLE.search(match.group(0))
            out += [body[at : match.start()], _cell(row, column, cells[todo.pop(0)], style)]
            at = end
    if seen != body.count(b"<c ") + body.count(b"<c>"):
        raise Unsupported("a cell without its reference")
    out.append(body[at:])
    out += [_cell(row, column, cells[column], b"") for column in todo]
    return b"".join(out)


def _new_row(row: int, cells: Mapping[int, Any]) -> bytes:
    body = b"".join(_cell(row, c, cells[c], b"") for c in sorted(cells))
    return b'<row r="%d">%s</row>' % (row, body)


def _cell(row: int, column: int, value: Any, style: re.Match[bytes] | bytes | None) -> bytes:
    """One cell's XML, with the style of the cell it replaces."""
    s = style.group(0).decode() if isinstance(style, re.Match) else ""
    ref = f"{get_column_letter(column)}{row}"
    if value is None:
        return f'<c r="{ref}"{s}/>'.encode() if s else b""
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr">{inline(value)}</c>'.encode()
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'.encode()
    number = "%.16g" % value  # noqa: UP031 - openpyxl's spelling
    return f'<c r="{ref}"{s}><v>{number}</v></c>'.encode()
