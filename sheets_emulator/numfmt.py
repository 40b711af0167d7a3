"""A small renderer for Sheets number-format patterns (en_US locale).

Covers what dashboards use: ``0``, ``0.00``, ``#,##0.00``, ``0.0%``,
currency with literal or ``[$€]`` symbols, and date/time patterns
(``yyyy-mm-dd``, ``M/d/yyyy H:mm:ss``, ``mmm d``, ``am/pm``). Anything
stranger renders as its closest simple reading; see docs/emulator.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

_EPOCH = dt.datetime(1899, 12, 30)
_DEFAULT_PATTERNS = {
    "NUMBER": "#,##0.00",
    "PERCENT": "0.00%",
    "CURRENCY": "$#,##0.00",
    "DATE": "M/d/yyyy",
    "TIME": "h:mm:ss am/pm",
    "DATE_TIME": "M/d/yyyy H:mm:ss",
    "SCIENTIFIC": "0.00E+00",
}
_DATE_TOKEN = re.compile(
    r"yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|AM/PM|a/p|\"[^\"]*\"|\\.|.",
    re.IGNORECASE,
)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def is_datetime_format(number_format: dict[str, Any]) -> bool:
    return number_format.get("type") in ("DATE", "TIME", "DATE_TIME")


def format_number(value: float, number_format: dict[str, Any] | None) -> str:
    """FORMATTED_VALUE of a number under a numberFormat (None = automatic)."""
    if not number_format or number_format.get("type") in (None, "NUMBER_FORMAT_TYPE_UNSPECIFIED"):
        return general(value)
    kind = number_format.get("type", "NUMBER")
    pattern = number_format.get("pattern") or _DEFAULT_PATTERNS.get(kind, "")
    if kind == "TEXT" or not pattern:
        return general(value)
    if is_datetime_format(number_format):
        return format_datetime(value, pattern)
    return format_pattern(value, pattern)


def general(value: float) -> str:
    """Automatic format: integers plainly, others with up to 10 significant digits."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-9):
        mantissa, _, exponent = f"{value:.5E}".partition("E")
        return (
            f"{mantissa.rstrip('0').rstrip('.')}E{exponent[0]}{exponent[1:].lstrip('0').zfill(2)}"
        )
    text = f"{value:.10g}"
    return text


def format_pattern(value: float, pattern: str) -> str:
    """A numeric pattern: sections ``pos;neg;zero``, literals, ``,`` ``.`` ``%``."""
    sections = _compiled(pattern)
    negative_explicit = value < 0 and len(sections) > 1
    if negative_explicit:
        section = sections[1]
    elif value == 0 and len(sections) > 2:
        section = sections[2]
    else:
        section = sections[0]
    prefix, core, suffix, percent = section
    if core is None:
        return prefix
    if percent:
        value *= 100
    number = _format_core(abs(value) if negative_explicit else value, core)
    if not negative_explicit and number.startswith("-"):
        return "-" + prefix + number[1:] + suffix
    return prefix + number + suffix


Section = tuple[str, "tuple[int, int, str, int, bool] | None", str, bool]


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> list[Section]:
    """Each section as (prefix, core spec, suffix, percent), parsed once per pattern."""
    out: list[Section] = []
    for section in _split_sections(pattern):
        body = _literalise(section)
        first = re.search(r"[0#?]", body)
        if first is None:
            out.append((body, None, "", False))
            continue
        last = max(body.rfind(ch) for ch in "0#?")
        core = body[first.start() : last + 1]
        out.append((body[: first.start()], _core_spec(core), body[last + 1 :], "%" in body))
    return out


def _split_sections(pattern: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in pattern:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _literalise(section: str) -> str:
    """Resolve ``"text"``, ``\\x``, ``[$€-407]``, ``[Red]``, ``_x`` into plain literals."""
    section = re.sub(r"\[\$([^\]-]*)(-[^\]]*)?\]", lambda m: m.group(1), section)
    section = re.sub(r"\[[A-Za-z]+\]", "", section)
    section = re.sub(r"_.", " ", section)
    section = re.sub(r"\\(.)", lambda m: m.group(1), section)
    return re.sub(r'"([^"]*)"', lambda m: m.group(1), section)


def _core_spec(core: str) -> tuple[int, int, str, int, bool]:
    """(decimals, minimum decimals, grouping, minimum integer digits, has a dot)."""
    integer_part, _, fraction_part = core.partition(".")
    decimals = sum(fraction_part.count(ch) for ch in "0#?")
    grouping = "," if "," in integer_part else ""
    return decimals, fraction_part.count("0"), grouping, integer_part.count("0"), "." in core


def _format_core(value: float, spec: tuple[int, int, str, int, bool]) -> str:
    decimals, min_decimals, grouping, min_int, has_dot = spec
    text = f"{value:{grouping}.{decimals}f}"
    if decimals > min_decimals:
        whole, _, frac = text.partition(".")
        frac = frac.rstrip("0").ljust(min_decimals, "0")
        text = whole + ("." + frac if frac else ("." if has_dot and min_decimals else ""))
    whole, dot, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    if digits == "0" and min_int == 0 and frac:
        digits = ""
    elif len(digits.replace(",", "")) < min_int:
        digits = digits.zfill(min_int)
    return sign + digits + dot + frac


def format_datetime(serial: float, pattern: str) -> str:
    """A date/time pattern; ``m`` is minutes after ``h`` or before ``s``, like Sheets."""
    try:
        moment = _EPOCH + dt.timedelta(days=serial, microseconds=500_000)
    except OverflowError:  # beyond year 9999: no date to show, the number is all there is
        return general(serial)
    moment = moment.replace(microsecond=0)
    tokens = _DATE_TOKEN.findall(pattern)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out = []
    for i, token in enumerate(tokens):
        out.append(_render_token(token, tokens, i, moment, twelve))
    return "".join(out)


def _render_token(token: str, tokens: list[str], i: int, moment: dt.datetime, twelve: bool) -> str:
    low = token.lower()
    if low in ("m", "mm") and _is_minute(tokens, i):
        return f"{moment.minute:02d}" if low == "mm" else str(moment.minute)
    hour = (moment.hour % 12 or 12) if twelve else moment.hour
    table = {
        "yyyy": f"{moment.year:04d}", "yy": f"{moment.year % 100:02d}",
        "mmmmm": _MONTHS[moment.month - 1][0], "mmmm": _MONTHS[moment.month - 1],
        "mmm": _MONTHS[moment.month - 1][:3], "mm": f"{moment.month:02d}", "m": str(moment.month),
        "dddd": _DAYS[moment.weekday()], "ddd": _DAYS[moment.weekday()][:3],
        "dd": f"{moment.day:02d}", "d": str(moment.day),
        "hh": f"{hour:02d}", "h": str(hour), "ss": f"{moment.second:02d}", "s": str(moment.second),
        "am/pm": "AM" if moment.hour < 12 else "PM", "a/p": "a" if moment.hour < 12 else "p",
    }  # fmt: skip
    if low in table:
        return table[low]
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    return token


def _is_minute(tokens: list[str], i: int) -> bool:
    before = [t.lower() for t in tokens[:i] if t.strip(" :.-/")]
    after = [t.lower() for t in tokens[i + 1 :] if t.strip(" :.-/")]
    return bool(before and before[-1] in ("h", "hh")) or bool(after and after[0] in ("s", "ss"))
