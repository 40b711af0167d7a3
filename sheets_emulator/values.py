"""Cell values in and out: USER_ENTERED parsing and the three render options.

Dates are serial numbers (days since 1899-12-30, fractions for time) whose
meaning comes from the cell's number format, exactly as in Google Sheets; the
locale is fixed to en_US. Number formats are rendered by :mod:`.numfmt`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sheets_emulator.apierror import bad_request
from sheets_emulator.grid import CLEAR, Cell, Scalar
from sheets_emulator.numfmt import format_number, is_datetime_format

EPOCH = dt.datetime(1899, 12, 30)
MAX_CELL_CHARS = 50_000

_NUMBER = re.compile(
    r"^(?P<sign>[-+]?)\s*(?P<cur>[$€£]?)\s*(?P<num>(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][-+]?\d+)?)"
    r"\s*(?P<cur2>€?)(?P<pct>%?)$"
)
_ISO_DATE = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")


def to_serial(moment: dt.datetime) -> float:
    """A datetime as a Sheets serial number."""
    delta = moment - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def from_serial(serial: float) -> dt.datetime:
    return EPOCH + dt.timedelta(days=serial)


def check_length(text: str, where: str) -> None:
    if len(text) > MAX_CELL_CHARS:
        raise bad_request(
            f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters "
            f"in a single cell ({where})."
        )


def raw_entry(value: Any, where: str) -> Any:
    """A RAW input value as a grid entry (None = leave the cell unchanged)."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_CELL_CHARS:
            check_length(value, where)
        return value if value != "" else CLEAR
    if kind in (int, float, bool) or value is None:
        return value
    raise bad_request(f"Invalid value at '{where}', a {kind.__name__} is not a valid cell value.")


def user_entered_entry(value: Any, where: str) -> Any:
    """A USER_ENTERED input value as a grid entry: numbers, dates, booleans, formulas parsed."""
    if type(value) is not str:
        return raw_entry(value, where)
    check_length(value, where)
    if value == "":
        return CLEAR
    if value.startswith("'"):
        return value[1:]
    if value.startswith("=") and len(value) > 1:
        return Cell(formula=value)
    parsed = parse_text(value)
    if parsed is None:
        return value
    number, fmt = parsed
    if fmt is None:
        return number
    return Cell(value=number, fmt={"numberFormat": fmt})


def parse_text(text: str) -> tuple[Scalar, dict[str, str] | None] | None:
    """What Sheets makes of typed text: (value, auto number format) or None for plain text."""
    stripped = text.strip()
    upper = stripped.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE", None
    return _parse_number(stripped) or _parse_date(stripped)


def _parse_number(text: str) -> tuple[Scalar, dict[str, str] | None] | None:
    match = _NUMBER.match(text)
    if not match or not re.search(r"\d", match.group("num")):
        return None
    number = float(match.group("num").replace(",", ""))
    if match.group("sign") == "-":
        number = -number
    if match.group("pct"):
        decimals = len(match.group("num").partition(".")[2])
        pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
        return _tidy(number / 100), {"type": "PERCENT", "pattern": pattern}
    currency = match.group("cur") or match.group("cur2")
    if currency:
        pattern = f"[${currency}]#,##0.00" if match.group("cur") else "#,##0.00 [$€]"
        return _tidy(number), {"type": "CURRENCY", "pattern": pattern}
    if "," in match.group("num"):
        return _tidy(number), {
            "type": "NUMBER",
            "pattern": "#,##0.00" if "." in match.group("num") else "#,##0",
        }
    return _tidy(number), None


def _tidy(number: float) -> Scalar:
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _parse_date(text: str) -> tuple[Scalar, dict[str, str] | None] | None:
    iso = _ISO_DATE.match(text)
    us = _US_DATE.match(text) if not iso else None
    if iso or us:
        if iso:
            y, mo, d, hh, mi, ss = iso.groups()
        else:
            assert us is not None
            mo, d, y, hh, mi, ss = us.groups()
        try:
            moment = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
        except ValueError:
            return None
        base = "yyyy-mm-dd" if iso else "M/d/yyyy"
        if hh is None:
            return _tidy(to_serial(moment)), {"type": "DATE", "pattern": base}
        return to_serial(moment), {"type": "DATE_TIME", "pattern": base + " H:mm:ss"}
    return _parse_time(text)


def _parse_time(text: str) -> tuple[Scalar, dict[str, str] | None] | None:
    match = _TIME.match(text)
    if not match:
        return None
    hours, minutes, seconds, ampm = match.groups()
    h = int(hours)
    if ampm:
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    if h > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        return None
    serial = (h * 3600 + int(minutes) * 60 + int(seconds or 0)) / 86400
    return serial, {"type": "TIME", "pattern": "h:mm:ss am/pm" if ampm else "H:mm:ss"}


# -- rendering ----------------------------------------------------------------


def render(
    value: Scalar | None,
    formula: str | None,
    number_format: dict[str, Any] | None,
    option: str,
    date_option: str,
) -> Any:
    """One cell as values.get renders it (None = empty)."""
    if option == "FORMULA" and formula is not None:
        return formula
    if value is None:
        return None
    if option == "FORMATTED_VALUE":
        return formatted(value, number_format)
    if (
        date_option == "FORMATTED_STRING"
        and number_format
        and is_datetime_format(number_format)
        and type(value) in (int, float)
    ):
        return formatted(value, number_format)
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def formatted(value: Scalar, number_format: dict[str, Any] | None) -> str:
    """FORMATTED_VALUE of one value."""
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if type(value) is str:
        return value
    return format_number(float(value), number_format)


def typed_value(value: Scalar) -> dict[str, Any]:
    """ExtendedValue JSON of a plain value (``numberValue`` / ``stringValue`` / ``boolValue``)."""
    if type(value) is bool:
        return {"boolValue": value}
    if type(value) is str:
        return {"stringValue": value}
    return {"numberValue": value}


def from_extended(ext: dict[str, Any], where: str) -> Cell:
    """A Cell holding an ExtendedValue from updateCells / repeatCell."""
    if "formulaValue" in ext:
        return Cell(formula=str(ext["formulaValue"]))
    for key in ("numberValue", "boolValue", "stringValue"):
        if key in ext:
            value = ext[key]
            if key == "stringValue":
                check_length(str(value), where)
            elif key == "numberValue":
                value = _tidy(float(value))
            return Cell(value=value)
    if "errorValue" in ext:
        raise bad_request(f"Invalid value at '{where}': errorValue cannot be written.")
    return Cell()
