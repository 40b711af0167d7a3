"""Typed, formatted, safe cells for the workbook backend.

Every value is written with its column's number format, and text is always
text: openpyxl turns any string starting with ``=`` into a formula, so text
cells get their data type forced back to string — a seller named
``=IMPORTXML(…)`` is shown literally and never evaluated. Per-column styles
are built once and copied onto each cell, which is several times faster than
setting ``number_format`` and ``protection`` cell by cell. Empty cells are
written only where their style matters (editable columns, total rows).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, FormatBy

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EAED")
TOTAL_FONT = Font(bold=True)
PIXELS_PER_CHAR = 7
MAX_AUTO_WIDTH = 60


class ColumnStyles:
    """The style of each managed column's data cells, precomputed on a scratch cell."""

    def __init__(self, ws: Worksheet, columns: Sequence[ColumnSpec], bold: bool = False) -> None:
        self.styles = [_style_array(ws, c, bold) for c in columns]
        self.types = [c.type for c in columns]
        self.keep_empty = [c.editable or bold for c in columns]
        headers = [c.header for c in columns]
        self.by_row: list[tuple[int, int, dict[str, Any]]] = [
            (j, headers.index(c.format_by.column), _styles_by(ws, c, c.format_by, bold))
            for j, c in enumerate(columns)
            if c.format_by is not None
        ]
        """(column, column naming each row's format, that text → style): ``format_by``."""


def _styles_by(ws: Worksheet, column: ColumnSpec, by: FormatBy, bold: bool) -> dict[str, Any]:
    """The column's style under each of its ``format_by`` formats."""
    return {name: _style_array(ws, column, bold, fmt) for name, fmt in by.formats}


def _style_array(ws: Worksheet, column: ColumnSpec, bold: bool, fmt: str | None = None) -> Any:
    scratch = Cell(ws, row=1, column=1)
    fmt = fmt or column.effective_format
    if fmt:
        scratch.number_format = fmt
    scratch.protection = Protection(locked=not column.editable)
    if bold:
        scratch.font = TOTAL_FONT
    return scratch._style


def write_header(
    ws: Worksheet, headers: Sequence[str], positions: Sequence[int] | None = None
) -> None:
    """Bold, shaded, locked header row (row 1), at ``positions`` (default: A, B, …)."""
    for index, header in zip(_columns(positions, len(headers)), headers, strict=True):
        cell = ws.cell(row=1, column=index)
        set_value(cell, header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center")


def _columns(positions: Sequence[int] | None, count: int) -> Sequence[int]:
    """Sheet columns of the managed columns: given (team columns between them) or A, B, …"""
    return list(positions) if positions is not None else range(1, count + 1)


def write_rows(
    ws: Worksheet,
    rows: Sequence[Sequence[Any]],
    styles: ColumnStyles,
    first_row: int = 2,
    positions: Sequence[int] | None = None,
) -> None:
    """Data rows from ``first_row`` on, typed and styled per column, at ``positions``.

    Cells are built directly and placed in the sheet's cell map (what
    ``Worksheet.append`` does), skipping ``Worksheet.cell``'s lookups: this loop
    runs once per cell of the workbook. Empty cells are only created where
    their style matters (editable columns stay unlocked when empty).
    """
    grid = ws._cells
    keep_empty = styles.keep_empty
    at = _columns(positions, len(styles.types))
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row):
            if value is None and not keep_empty[c]:
                continue
            cell = Cell(ws, row=r, column=at[c], style_array=copy.copy(styles.styles[c]))
            set_value(cell, to_cell_value(value, styles.types[c]))
            grid[(r, at[c])] = cell


def set_value(cell: Cell, value: Any) -> None:
    """Assign a value; strings stay strings even when they look like formulas."""
    cell.value = value
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"


def to_cell_value(value: Any, kind: ColumnType) -> Any:
    """A frame value as openpyxl should store it for a column of ``kind``.

    NaN and infinities have no spelling in a workbook (Excel reports the file
    as corrupt), so they become empty cells, like NULL.
    """
    if value is None or (isinstance(value, float | Decimal) and not math.isfinite(value)):
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, dt.datetime):
        return _naive_utc(value)
    if kind is ColumnType.TEXT and not isinstance(value, bool | dt.date):
        return str(value)
    if isinstance(value, int | float | Decimal | bool | dt.date):
        return value
    return str(value)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """Excel has no time zones; the data model is UTC, so aware values become naive UTC."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def set_widths(
    ws: Worksheet,
    columns: Sequence[ColumnSpec],
    rows: Sequence[Sequence[Any]],
    positions: Sequence[int] | None = None,
) -> None:
    """Template widths are pixels (as in Google Sheets); others are sized to the content."""
    sample = rows[:200]
    at = _columns(positions, len(columns))
    for index, column in enumerate(columns, start=1):
        dim = ws.column_dimensions[get_column_letter(at[index - 1])]
        if column.width is not None:
            dim.width = max(1.0, round(column.width / PIXELS_PER_CHAR, 1))
        else:
            dim.width = _auto_width(column, [r[index - 1] for r in sample])
        if column.hidden:
            dim.hidden = True


def _auto_width(column: ColumnSpec, values: Sequence[Any]) -> float:
    longest = len(column.header)
    for value in values:
        longest = max(longest, _display_length(value, column.type))
    return float(min(MAX_AUTO_WIDTH, longest + 3))


def _display_length(value: Any, kind: ColumnType) -> int:
    if value is None:
        return 0
    if kind is ColumnType.DATE:
        return 10
    if kind is ColumnType.DATETIME:
        return 16
    if isinstance(value, float | Decimal) and kind is not ColumnType.TEXT:
        return len(f"{value:,.2f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return len(f"{value:,}")
    return len(str(value))
