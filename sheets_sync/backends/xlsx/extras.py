"""The team's own columns to the right of a managed tab, carried across re-syncs.

A managed tab is rebuilt on every sync, but cells the team typed to the right
of the managed columns (comments, owners, follow-ups) belong to a row, not
to a position. On a keyed tab they are matched by the row's key and follow
it when rows move or appear (new rows get empty team cells). When a row
vanishes from the data — a day leaving the rolling window, a seller done
onboarding — its team cells vanish with it, exactly as the Google backend's
row deletion does; the workbook keeps no orphaned notes. A tab without a key
keeps team cells by row position.

Where the managed columns end is recorded in a workbook defined name per tab
(``ss_<title>``, also handy as a pivot or chart source), so a template that
gains a column shifts the team's columns right instead of overwriting them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.frame import TabFrame

CellCopy = tuple[Any, str, Any]  # value, data type, style array


@dataclass
class Extras:
    """Team cells captured from the previous version of a tab."""

    width: int = 0
    headers: list[CellCopy | None] = field(default_factory=list)
    by_key: dict[tuple[Any, ...], list[CellCopy | None]] = field(default_factory=dict)
    by_position: list[list[CellCopy | None]] = field(default_factory=list)
    widths: list[float | None] = field(default_factory=list)
    keyed: bool = False

    @property
    def empty(self) -> bool:
        return self.width == 0


def range_name(title: str) -> str:
    """A valid defined-name for a tab title (letters, digits and underscores)."""
    return "ss_" + re.sub(r"\W+", "_", title).strip("_")


def record_range(wb: Workbook, title: str, width: int, rows: int) -> None:
    """Name the managed data range so the next sync knows where team columns start."""
    quoted = "'" + title.replace("'", "''") + "'"
    ref = f"{quoted}!$A$1:${get_column_letter(width)}${rows + 1}"
    name = range_name(title)
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def managed_width(wb: Workbook, title: str, default: int) -> int:
    name = wb.defined_names.get(range_name(title))
    if name is None or not name.attr_text or "!" not in name.attr_text:
        return default
    try:
        _, _, max_col, _ = range_boundaries(name.attr_text.split("!")[-1].replace("$", ""))
    except (ValueError, TypeError):
        return default
    return int(max_col or default)


def capture(ws: Worksheet, frame: TabFrame, old_width: int) -> Extras:
    """The team's cells right of ``old_width``, keyed by row key when the tab has one."""
    last = ws.max_column
    if last <= old_width:
        return Extras()
    extras = Extras(width=last - old_width)
    extras.widths = [_width(ws, c) for c in range(old_width + 1, last + 1)]
    rows = ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=last)
    header = next(rows)
    extras.headers = [_copy(c) for c in header[old_width:]]
    key_at = _key_positions([c.value for c in header[:old_width]], frame.template.key)
    extras.keyed = key_at is not None
    for row in rows:
        cells = [_copy(c) for c in row[old_width:]]
        if key_at is None:
            extras.by_position.append(cells)
        elif any(cells):
            extras.by_key.setdefault(normalise_key([row[i].value for i in key_at]), cells)
    return extras


def _key_positions(headers: Sequence[Any], key: Sequence[str]) -> list[int] | None:
    if not key or any(k not in headers for k in key):
        return None
    return [list(headers).index(k) for k in key]


def restore(ws: Worksheet, extras: Extras, frame: TabFrame) -> None:
    """Write captured team cells beside the new managed columns, row by row."""
    if extras.empty:
        return
    first = frame.width + 1
    _put_row(ws, 1, first, extras.headers)
    for i, row in enumerate(frame.rows):
        if extras.keyed:
            cells = extras.by_key.get(normalise_key(frame.key_of(row)))
        else:
            cells = extras.by_position[i] if i < len(extras.by_position) else None
        if cells:
            _put_row(ws, i + 2, first, cells)
    for offset, width in enumerate(extras.widths):
        if width is not None:
            ws.column_dimensions[get_column_letter(first + offset)].width = width


def _put_row(ws: Worksheet, row: int, first: int, cells: Sequence[CellCopy | None]) -> None:
    for offset, copied in enumerate(cells):
        if copied is None:
            continue
        cell = ws.cell(row=row, column=first + offset)
        cell._value, cell.data_type, cell._style = copied[0], copied[1], copied[2]


def _copy(cell: Cell) -> CellCopy | None:
    if cell.value is None:
        return None
    return (cell._value, cell.data_type, cell._style.__copy__())


def _width(ws: Worksheet, column: int) -> float | None:
    dim = ws.column_dimensions.get(get_column_letter(column))
    return dim.width if dim is not None and dim.customWidth else None


def normalise_key(values: Sequence[Any]) -> tuple[Any, ...]:
    """Key values as both a frame and a reopened workbook spell them.

    A workbook gives dates back as midnight datetimes and Decimals as floats,
    so keys are compared in one canonical form.
    """
    return tuple(_canonical(v) for v in values)


def _canonical(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value.replace(microsecond=0)
    if isinstance(value, bool | str | dt.date):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return int(number) if number.is_integer() else round(number, 9)
    return str(value)
