"""A1 notation: parse what clients send, format what Google answers.

Google accepts ``Sheet1!A1:C3``, ``'KPI Daily'!A:B``, ``Sheet1!2:5``,
``A2:C`` (open-ended), a bare sheet title, or a named range, and answers with
ranges clipped to the grid and titles quoted only when they need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sheets_emulator.apierror import bad_request

MAX_COLUMNS = 18_278  # ZZZ

_CELL = re.compile(r"^\$?([A-Za-z]{0,3})\$?([0-9]*)$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_REF = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


@dataclass(frozen=True)
class Bounds:
    """Zero-based, end-exclusive cell bounds; ``None`` means open to the grid's edge."""

    r0: int
    r1: int | None
    c0: int
    c1: int | None


WHOLE = Bounds(0, None, 0, None)


def column_index(letters: str) -> int:
    """``A`` → 0, ``AA`` → 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index - 1


def column_letters(index: int) -> str:
    """0 → ``A``, 26 → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def quote_title(title: str) -> str:
    """Quote a sheet title the way Google does in the ranges it returns."""
    if _PLAIN_TITLE.match(title) and not _LOOKS_LIKE_REF.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """``'It''s'!A1`` → (``It's``, ``A1``); ``A1`` → (None, ``A1``); ``Sheet1`` → (``Sheet1``, None)?

    A bare token is returned as (None, token): the caller decides whether it
    is a sheet title, a named range or cells.
    """
    text = text.strip()
    if text.startswith("'"):
        end = _closing_quote(text)
        title = text[1:end].replace("''", "'")
        rest = text[end + 1 :]
        if rest == "":
            return title, None
        if not rest.startswith("!"):
            raise bad_request(f"Unable to parse range: {text}")
        return title, rest[1:] or None
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells or None
    return None, text


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                i += 2
                continue
            return i
        i += 1
    raise bad_request(f"Unable to parse range: {text}")


def parse_cells(text: str) -> Bounds | None:
    """``B2:D`` → Bounds(1, None, 1, 4); None when ``text`` is not cell notation."""
    parts = text.split(":")
    if len(parts) > 2 or not text:
        return None
    ends = [_CELL.match(p) for p in parts]
    if any(m is None or (not m.group(1) and not m.group(2)) for m in ends):
        return None
    cols = [column_index(m.group(1)) if m.group(1) else None for m in ends if m]
    rows = [int(m.group(2)) - 1 if m.group(2) else None for m in ends if m]
    if any(r is not None and r < 0 for r in rows):
        return None
    if len(parts) == 1:
        if cols[0] is None or rows[0] is None:
            return None
        return Bounds(rows[0], rows[0] + 1, cols[0], cols[0] + 1)
    return _pair_bounds(rows, cols)


def _pair_bounds(rows: list[int | None], cols: list[int | None]) -> Bounds | None:
    """Both corners of ``X:Y``; a missing row or column part means open-ended."""
    if (cols[0] is None) != (cols[1] is None) and rows[0] is None:
        return None
    r_lo, r_hi = _span(rows)
    c_lo, c_hi = _span(cols)
    return Bounds(r_lo, r_hi, c_lo, c_hi)


def _span(pair: list[int | None]) -> tuple[int, int | None]:
    a, b = pair
    if a is None and b is None:
        return 0, None
    if a is None or b is None:
        return (a if a is not None else b) or 0, None
    lo, hi = min(a, b), max(a, b)
    return lo, hi + 1


def format_range(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    """Google's answer form: ``Sheet1!A1:C3`` (a single cell stays ``A1``)."""
    start = f"{column_letters(c0)}{r0 + 1}"
    end = f"{column_letters(c1 - 1)}{r1}"
    cells = start if (r1 - r0 == 1 and c1 - c0 == 1) else f"{start}:{end}"
    return f"{quote_title(title)}!{cells}"
