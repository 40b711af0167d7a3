"""Python values ↔ Sheets API cell values, and A1 notation.

The frame holds plain Python values; the API wants JSON numbers, strings and
booleans written ``RAW``, with dates as serial numbers (epoch 1899-12-30) so
they stay dates (sortable, pivotable) under a date number format. Reading
back (``FORMULA`` render, ``SERIAL_NUMBER`` dates) returns the same shapes,
so :func:`same_cell` can compare what is there with what should be there.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sheets_sync.tab_templates.model import ColumnType

SERIAL_EPOCH = datetime(1899, 12, 30)
SERIAL_EPOCH_DATE = SERIAL_EPOCH.date()
EMPTY = ""

Cell = str | int | float | bool
"""A JSON value as the Values API carries it; ``""`` is an empty cell."""


def to_cell(value: Any) -> Cell:
    """One frame value as a JSON cell value (NULL → empty, dates → serials)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if value is None:
        return EMPTY
    if isinstance(value, str | bool):
        return value
    if isinstance(value, datetime):
        return datetime_serial(value)
    if isinstance(value, date):
        return (value - SERIAL_EPOCH_DATE).days
    if isinstance(value, time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal | numbers.Real):
        number = float(value)
        return EMPTY if math.isnan(number) or math.isinf(number) else number
    return str(value)


def datetime_serial(value: datetime) -> float:
    """Aware datetimes are converted to UTC first: the product's timestamps are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - SERIAL_EPOCH).total_seconds() / 86400


def to_row(row: Sequence[Any]) -> list[Cell]:
    return [to_cell(v) for v in row]


def same_cell(current: Any, desired: Cell) -> bool:
    """Whether a cell read back already holds the desired value.

    Booleans are not numbers here (``True == 1`` in Python, not in a sheet), and
    floats are compared with a relative tolerance because serials and money
    round-trip through JSON text.
    """
    if type(current) is type(desired) and current == desired:
        return True
    if desired == EMPTY:
        return current is None or current == EMPTY
    if isinstance(desired, bool) or isinstance(current, bool):
        return type(current) is type(desired) and current == desired
    if isinstance(desired, int | float):
        if not isinstance(current, int | float):
            return False
        return abs(current - desired) <= 1e-9 * max(1.0, abs(desired))
    return bool(current == desired)


def normalise_key(value: Any) -> Any:
    """A key cell in a form that compares equal whether it came from a frame or a sheet."""
    if value is None or value == EMPTY:
        return EMPTY
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else round(float(value), 9)
    return value


def number_format(kind: ColumnType, pattern: str | None) -> dict[str, str] | None:
    """The ``userEnteredFormat.numberFormat`` for a column, or None for text."""
    api_type = {
        ColumnType.INTEGER: "NUMBER",
        ColumnType.DECIMAL: "NUMBER",
        ColumnType.MONEY: "NUMBER",
        ColumnType.PERCENT: "PERCENT",
        ColumnType.DATE: "DATE",
        ColumnType.DATETIME: "DATE_TIME",
    }.get(kind)
    if api_type is None or pattern is None:
        return None
    return {"type": api_type, "pattern": pattern}


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA … 18277 → ZZZ."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def quote_title(title: str) -> str:
    """Sheet titles are always quoted in ranges: spaces and ``·`` are common in ours."""
    return "'" + title.replace("'", "''") + "'"


def a1_range(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """Zero-based, end-exclusive bounds → ``'Title'!B2:D9``."""
    start = f"{column_letter(col0)}{row0 + 1}"
    end = f"{column_letter(col1 - 1)}{row1}"
    return f"{quote_title(title)}!{start}:{end}"


def columns_range(title: str, width: int) -> str:
    """All rows of the managed columns: what the diff reads."""
    return f"{quote_title(title)}!A:{column_letter(width - 1)}"


def colour(hex_rgb: str) -> dict[str, float]:
    """``#RRGGBB`` (validated by the template loader) → the API's 0..1 channels."""
    red, green, blue = (int(hex_rgb[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return {"red": round(red, 4), "green": round(green, 4), "blue": round(blue, 4)}


def colour_style(hex_rgb: str) -> dict[str, Any]:
    """``#RRGGBB`` → a ColorStyle, what Google's current ``…ColorStyle`` fields take
    (the plain ``Color`` fields are deprecated; see :mod:`.current`)."""
    return {"rgbColor": colour(hex_rgb)}
