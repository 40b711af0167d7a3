"""Read the few cells a re-sync needs out of a worksheet part, without parsing the rest.

A re-sync reads the previous version of each managed tab for its key,
editable and held columns and the team's columns: on the demo's Pricing tab
that is a quarter of a million cells out of a million. An XML parser visits
every element of the part (three per cell); here one regular expression
walks the cell tags, a cell of a skipped column costs a dictionary look-up,
and a kept cell is decoded the way openpyxl's reader decodes it (numbers,
dates by their style, shared, inline and plain strings, booleans, errors) —
anything else (a formula, rich text) is handed to openpyxl's own cell parser.
A part not spelled as Excel, LibreOffice and openpyxl spell it (a prefixed
namespace, a cell without its reference) is refused with ``None`` and read
by the caller's general parser instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import IO, Any

from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import fromstring

_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"([^>]*?)(/?)>')
_COL = re.compile(rb"<col\b[^>]*?/>")
_TYPE = re.compile(rb'\st="(\w+)"')
_STYLE = re.compile(rb'\ss="([0-9]+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>|<t\s*/>")
_ROOT = re.compile(rb"<worksheet\b")


def _text(raw: bytes) -> str:
    text = raw.decode()
    return html.unescape(text) if "&" in text else text


_CHUNK = 1 << 22  # the part is decompressed and scanned 4 MB at a time


class Kept:
    """A cell read off the previous version: its value, type and style (shared, never
    changed; :mod:`.extras` and :mod:`.pending` copy what they keep). A third of an
    openpyxl cell's memory, and a re-sync keeps a quarter of a million of them."""

    __slots__ = ("_style", "_value", "data_type")

    def __init__(self, value: Any, data_type: str, style: Any) -> None:
        self._value, self.data_type, self._style = value, data_type, style

    @property
    def value(self) -> Any:
        return self._value


def scan_part(
    src: IO[bytes],
    ws: Worksheet,
    parser: WorkSheetParser,
    keep: Callable[[int], bool] | None,
) -> int | None:
    """Put the kept cells of the part into ``ws`` and its column widths into ``parser``;
    the last column holding a value, or ``None`` when the part must be read by a general
    parser (then ``ws`` is left without cells). Read in chunks cut after a ``</row>``."""
    reader = _Cells(ws, parser, keep)
    buffer, first, piece = src.read(_CHUNK), True, b""
    if _ROOT.search(buffer, 0, 4096) is None:
        return None
    while True:
        more = src.read(_CHUNK)
        cut = buffer.rfind(b"</row>") + len(b"</row>") if more else len(buffer)
        if more and cut < len(b"</row>"):
            buffer += more
            continue
        piece, buffer = buffer[:cut], buffer[cut:] + more
        if first:
            data_at = piece.find(b"<sheetData")
            for col in _COL.finditer(piece, 0, max(data_at, 0)):
                parser.parse_column_dimensions(fromstring(col.group(0)))
            first = False
        reader.run(piece)
        if not more and not buffer:
            break
    if not reader.complete or not piece.rstrip().endswith(b"</worksheet>"):
        ws._cells.clear()
        return None  # not spelled as expected, or cut short: the XML parser says what
    return reader.last


class _Cells:
    def __init__(
        self,
        ws: Worksheet,
        parser: WorkSheetParser,
        keep: Callable[[int], bool] | None,
    ) -> None:
        self.ws, self.parser, self.keep = ws, parser, keep
        self.styles: Sequence[Any] = ws.parent._cell_styles
        self.dates, self.deltas = parser.date_formats, parser.timedelta_formats
        self.columns: dict[bytes, int] = {}
        self.wanted: dict[int, bool] = {}
        self.last, self.complete = 0, True

    def run(self, xml: bytes) -> None:
        """Keep the wanted cells of one piece of the part (whole rows)."""
        columns, wanted, keep, last, seen = self.columns, self.wanted, self.keep, self.last, 0
        for match in _CELL.finditer(xml):
            seen += 1
            if match.group(4):
                continue  # an empty cell: no value to keep, none to count
            letters = match.group(1)
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = column_index_from_string(letters.decode())
            if column > last:
                last = column
            taken = wanted.get(column)
            if taken is None:
                taken = wanted[column] = keep is None or keep(column)
            if taken or match.group(2) == b"1":
                end = xml.index(b"</c>", match.end())
                self._keep(match, column, xml[match.end() : end])
        self.last = last
        if seen != xml.count(b"<c ") + xml.count(b"<c>"):
            self.complete = False  # a cell spelled otherwise (no reference first)

    def _keep(self, match: re.Match[bytes], column: int, content: bytes) -> None:
        row = int(match.group(2))
        attrs = match.group(3)
        style = _STYLE.search(attrs) if attrs else None
        style_id = int(style.group(1)) if style else 0
        kind = _TYPE.search(attrs) if attrs else None
        found = self._decode(kind.group(1).decode() if kind else "n", style_id, content)
        if found is None:
            element = fromstring(
                b'<c xmlns="' + SHEET_MAIN_NS.encode() + b'" r="' + match.group(1)
                + match.group(2) + b'"' + attrs + b">" + content + b"</c>"
            )  # fmt: skip
            parsed = self.parser.parse_cell(element)
            found = (parsed["value"], parsed["data_type"])
        value, data_type = found
        if value is not None:
            self.ws._cells[(row, column)] = Kept(value, data_type, self.styles[style_id])

    def _decode(self, kind: str, style_id: int, content: bytes) -> tuple[Any, str] | None:
        """The value and data type as openpyxl's reader gives them; ``None``: use it."""
        if kind == "inlineStr":
            if content[:7] == b"<is><t>" and content[-9:] == b"</t></is>":
                text = content[7:-9]
            else:
                found = None if b"<r>" in content else _TEXT.search(content)
                if found is None:
                    return None
                text = found.group(1) or b""
            if b"<" in text:
                return None
            return _text(text), "s"
        if content[:3] == b"<v>" and content[-4:] == b"</v>" and b"<" not in content[3:-4]:
            raw = content[3:-4]
        else:
            if b"<f" in content or b"<is" in content:
                return None
            found = _VALUE.search(content)
            if found is None:
                return (None, "n") if not content.strip() else None
            raw = found.group(1)
        value = _text(raw)
        if not value:
            return None, "n"
        try:
            return self._typed(kind, value, style_id)
        except (ValueError, OverflowError, IndexError):
            return None  # openpyxl's reader decides what such a cell is

    def _typed(self, kind: str, value: str, style_id: int) -> tuple[Any, str] | None:
        if kind == "n":
            number = _cast_number(value)
            if style_id in self.dates:
                delta = style_id in self.deltas
                return from_excel(number, self.parser.epoch, timedelta=delta), "d"
            return number, "n"
        if kind == "s":
            return self.parser.shared_strings[int(value)], "s"
        if kind == "str":
            return value, "s"
        if kind == "b":
            return bool(int(value)), "b"
        if kind == "d":
            return from_ISO8601(value), "d"
        if kind == "e":
            return value, "e"
        return None
