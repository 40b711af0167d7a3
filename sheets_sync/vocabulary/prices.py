"""A price as the team types it, read once for the push and for the tab's typed-price figures.

A price is accepted only when there is one obvious reading of it: a number
cell, or text such as ``123.45``, ``123,45``, ``€ 123.45`` or ``123.45 €``.
Anything else is refused with a reason that says what to type instead, never
guessed: a formula (it is never evaluated), words, ``1,234`` (a thousands
separator or three decimals?), ``1.234,56``, ``-0``, NaN or infinity.
:func:`price_problem` holds the rules a price breaks whatever the row (≥ 0,
the ceiling, two decimals); the rules that depend on the row (a reason, grade
order, the version) are the push's (:mod:`sheets_sync.pricing.validate`).

Here, below the KPIs and the backends, so the sync's `Expected at new price 28d`
reads a typed price exactly as the push will (docs/design.md §7);
:mod:`sheets_sync.pricing.parse` re-exports it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")

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


def short(value: Any, limit: int = 40) -> str:
    """A cell's value quoted and cut, so a long paste does not flood a Status cell."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def price_problem(price: Decimal, ceiling: Decimal) -> str | None:
    """The rule ``price`` breaks whatever its row, as a `Status` detail; None when none.

    The ceiling is checked before the cents: rounding a number of any size to
    cents could overflow the decimal context, and one that large is refused anyway.
    """
    if price < 0:
        return (
            f"{_number(price)} is negative; type a price of 0 or more (0 takes the listing offline)"
        )
    if price > ceiling:
        return f"{_number(price)} is above the ceiling of {ceiling}; type a lower price"
    if price != price.quantize(CENT):
        return (
            f"{_number(price)} has more than 2 decimals; round it to cents, "
            f"e.g. {price.quantize(CENT)}"
        )
    return None


def _number(price: Decimal) -> str:
    """A price for a message: as typed, or in scientific form when it is very long."""
    text = str(price)
    return text if len(text) <= 24 else f"{price:.6E}"
