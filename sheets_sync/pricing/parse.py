"""Reading what the team typed in `New price` (docs/design.md §7, step 2).

A price is accepted only when there is one obvious reading of it: a number
cell, or text such as ``123.45``, ``123,45``, ``€ 123.45`` or ``123.45 €``.
Anything else is refused with a reason that says what to type instead, never
guessed: a formula (it is never evaluated), words, ``1,234`` (a thousands
separator or three decimals?), ``1.234,56``, ``-0``, NaN or infinity. Range
rules (≥ 0, two decimals, the ceiling) belong to :mod:`.validate`.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sheets_sync.pricing.model import short

EXAMPLE = "type the number alone, e.g. 123.45"

_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?", re.ASCII)
_CURRENCY = "€"


class PriceRejected(ValueError):
    """The cell holds something that is not a price; the message says what to type."""


def is_blank(value: Any) -> bool:
    """An empty cell: no edit on that row."""
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_price(value: Any) -> Decimal:
    """The price in a non-blank `New price` cell, exactly as typed (no rounding)."""
    if isinstance(value, bool):
        raise PriceRejected(f"{value} is not a price; {EXAMPLE}")
    if isinstance(value, int | float | Decimal):
        return _from_number(value)
    if isinstance(value, str):
        return _from_text(value)
    raise PriceRejected(f"{short(value)} is not a price; {EXAMPLE}")


def _from_number(value: int | float | Decimal) -> Decimal:
    if isinstance(value, float) and not math.isfinite(value):
        raise PriceRejected(f"{value} is not a price; {EXAMPLE}")
    # str() of a float is its shortest round-tripping form: 123.45, never 123.4500000001
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise PriceRejected(f"{value} is not a price; {EXAMPLE}")
    return _not_negative_zero(number, str(value))


def _from_text(raw: str) -> Decimal:
    text = raw.strip()
    if text.startswith("="):
        raise PriceRejected(f"a formula ({short(text)}) is not a price; {EXAMPLE}")
    bare = _strip_currency(text)
    if not _NUMBER.fullmatch(bare):
        raise PriceRejected(f"{short(text)} is not a price; {_hint(bare)}")
    whole, _, decimals = bare.replace(",", ".").partition(".")
    if len(decimals) == 3 and whole.lstrip("-") not in ("", "0"):
        raise PriceRejected(
            f"{short(text)} is ambiguous (thousands separator or 3 decimals?); "
            "type it without thousands separators and with at most 2 decimals, e.g. "
            f"{whole if len(whole) <= 12 else '1234'}.00"
        )
    try:
        number = Decimal(bare.replace(",", "."))
    except InvalidOperation as err:  # pragma: no cover - the pattern admits only numbers
        raise PriceRejected(f"{short(text)} is not a price; {EXAMPLE}") from err
    return _not_negative_zero(number, text)


def _strip_currency(text: str) -> str:
    """``€ 123.45`` and ``123.45 €`` → ``123.45`` (one euro sign, at either end)."""
    if text.startswith(_CURRENCY):
        return text[1:].strip()
    if text.endswith(_CURRENCY):
        return text[:-1].strip()
    return text


def _hint(bare: str) -> str:
    """The fix for a text that is not a number, for the cases people actually type."""
    if re.fullmatch(r"-?[0-9]{1,3}(?:[., '\u00a0][0-9]{3})+(?:[.,][0-9]+)?", bare):
        return "remove the thousands separators, e.g. 1234.56"
    if bare.lower() in {"nan", "inf", "-inf", "infinity", "-infinity"}:
        return EXAMPLE
    if any(sign in bare for sign in ("$", "£", "EUR", "eur")):
        return f"prices are in the row's currency; {EXAMPLE}"
    return EXAMPLE


def _not_negative_zero(number: Decimal, shown: str) -> Decimal:
    if number.is_zero() and number.is_signed():
        raise PriceRejected(
            f"{short(shown)} is not a price; type 0 (with a reason) to take the listing offline"
        )
    return number
