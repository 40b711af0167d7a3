"""A frame's data rows as worksheet XML text, the hot loop of a workbook write.

Each value is typed as :func:`.cells.to_cell_value` and openpyxl would type
it — text as an inline string (escaped, illegal control characters replaced,
cut at Excel's 32,767 characters), numbers in openpyxl's ``%.16g``, NaN and
infinities as empty cells, dates and times as serial numbers under a date
format — but the common cases (text, integers, floats) are decided inline,
per column as prepared once, because this loop runs once per cell of the
workbook; anything else goes through the general conversion.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.xlsx.cells import ColumnStyles, to_cell_value
from sheets_sync.tab_templates.model import ColumnType

_MAX_TEXT = 32767  # Excel's limit on a cell's text (openpyxl cuts there too)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_TIME_TYPES = (dt.datetime, dt.date, dt.time)
_EXACT_INT = 10**15  # below this, str(int) is what "%.16g" writes


@dataclass
class DataRows:
    """A frame's data rows to stream under the sheet's own cells.

    ``positions``: the sheet column of each frame column; ``styles``: each
    column's cell style and type (:class:`.cells.ColumnStyles`).
    """

    rows: Sequence[Sequence[Any]]
    styles: ColumnStyles
    positions: Sequence[int]
    first_row: int = 2

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


class RowWriter:
    """Turns data rows into cell XML, column by column as prepared once."""

    def __init__(self, ws: Worksheet, data: DataRows) -> None:
        self.ws, self.data = ws, data
        self.order = sorted(range(len(data.positions)), key=lambda j: data.positions[j])
        self.styles = [style_attr(ws, s) for s in data.styles.styles]
        self.by_row = [
            (j, by, {name: style_attr(ws, s) for name, s in styles.items()})
            for j, by, styles in data.styles.by_row
        ]
        self.heads = [f'<c r="{get_column_letter(p)}' for p in data.positions]
        self.text = [kind is ColumnType.TEXT for kind in data.styles.types]
        self.keep_empty = data.styles.keep_empty
        self.epoch = ws.parent.epoch
        self.serials: dict[Any, str] = {}
        self.date_styles: dict[tuple[int, type], str] = {}

    def cells(self, r: int) -> tuple[list[int], list[str]]:
        """Sheet columns and cell XML of sheet row ``r``, left to right (none outside the data)."""
        index = r - self.data.first_row
        if index < 0 or index >= len(self.data.rows):
            return [], []
        row, rs = self.data.rows[index], str(r)
        columns: list[int] = []
        out: list[str] = []
        positions, heads = self.data.positions, self.heads
        styles = self._styles(row) if self.by_row else self.styles
        for j in self.order:
            value = row[j]
            kind = type(value)
            if kind is str:
                xml = f'{heads[j]}{rs}"{styles[j]} t="inlineStr">{inline(value)}</c>'
            elif kind is int and not self.text[j] and -_EXACT_INT < value < _EXACT_INT:
                xml = f'{heads[j]}{rs}"{styles[j]}><v>{value}</v></c>'
            elif value is None and not self.keep_empty[j]:
                continue
            elif (kind is Decimal or kind is float) and not self.text[j] and _finite(value):
                number = "%.16g" % value  # noqa: UP031 - openpyxl's spelling
                xml = f'{heads[j]}{rs}"{styles[j]}><v>{number}</v></c>'
            else:
                xml = self._other(j, rs, value)
            if xml:
                columns.append(positions[j])
                out.append(xml)
        return columns, out

    def _styles(self, row: Sequence[Any]) -> list[str]:
        """The columns' styles for this row, a ``format_by`` column's chosen by its text."""
        styles = list(self.styles)
        for j, by, chosen in self.by_row:
            styles[j] = chosen.get(row[by], styles[j])
        return styles

    def _other(self, j: int, rs: str, value: Any) -> str:
        value = to_cell_value(value, self.data.styles.types[j])
        ref = f"{self.heads[j]}{rs}"
        if value is None:
            return f'{ref}"{self.styles[j]}/>' if self.data.styles.keep_empty[j] else ""
        kind = type(value)
        if kind is str:
            return f'{ref}"{self.styles[j]} t="inlineStr">{inline(value)}</c>'
        if kind is bool:
            return f'{ref}"{self.styles[j]} t="b"><v>{int(value)}</v></c>'
        if kind is int or kind is float or isinstance(value, Decimal):
            number = "%.16g" % value  # noqa: UP031 - openpyxl's spelling (Decimal as a float)
            return f'{ref}"{self.styles[j]}><v>{number}</v></c>'
        if isinstance(value, _TIME_TYPES):
            return f'{ref}"{self._date_style(j, value)}><v>{self._serial(value)}</v></c>'
        return f'{ref}"{self.styles[j]} t="inlineStr">{inline(str(value))}</c>'

    def _serial(self, value: Any) -> str:
        text = self.serials.get(value)
        if text is None:
            serial = to_excel(value, self.epoch)
            text = self.serials[value] = "%.16g" % serial  # noqa: UP031 - as openpyxl writes it
        return text

    def _date_style(self, j: int, value: Any) -> str:
        """The column's style, or — when its format shows no date — the one openpyxl gives a
        date in such a cell (its default date format for the value's type)."""
        key = (j, type(value))
        found = self.date_styles.get(key)
        if found is None:
            style = self.data.styles.styles[j].__copy__()
            scratch = Cell(self.ws, row=1, column=1, style_array=style)
            if is_date_format(scratch.number_format):
                found = self.styles[j]
            else:
                scratch.value = value  # openpyxl sets its date format here
                found = style_attr(self.ws, scratch._style)
            self.date_styles[key] = found
        return found


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def style_attr(ws: Worksheet, style: Any) -> str:
    """`` s="N"`` for a cell of this style (nothing for the default style)."""
    if not any(style):
        return ""
    return f' s="{ws.parent._cell_styles.add(style)}"'


def inline(text: str) -> str:
    """``<is>…</is>`` of a text cell: escaped, illegal characters replaced, cut at
    Excel's limit, leading or trailing spaces preserved."""
    if not text.isprintable():
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text).translate(_ESCAPES)
    elif "&" in text or "<" in text or ">" in text:
        text = text.translate(_ESCAPES)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT]
    if text.strip() != text:
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"
