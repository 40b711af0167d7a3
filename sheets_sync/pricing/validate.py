"""Deciding each edited row's fate before anything is written (docs/design.md §7, steps 2–4).

Row contents never stop a push: every problem below is that row's rejection
or conflict, whatever the cells hold (huge or tiny numbers, NaN, control
characters, 50,000 characters, other scripts' digits).

First, before the database is read (:func:`screen`): the row's key cells are
all filled with plain text, and its market is one this sheet may price. Then
per row, in this order: the listing exists and is edited once; `New price`
parses (:mod:`.parse`); `Reason` is plain text of a sane length; `Version` is
a version number (a blank one is restored by the next sync); `Version` is the
database's (else a conflict, unless this very edit was already applied by an
earlier attempt whose write-back was lost: then it is reported applied, and
nothing is written twice); the row's `Current price` is the listing's price at
that version (else the row no longer shows its listing: a conflict, never an
update of another listing); the price is ≥ 0, at most the ceiling, has at
most 2 decimals; 0 (offline) and a change beyond ±``max_change`` (relisting
an offline listing included) need a reason.
Then grade order is checked on the state after all surviving edits, per
seller × product × country (offline grades do not count, as in the tab's
suggestions): an edit that would make a better grade pay less than a worse one
is rejected, and the check repeats until no edit breaks it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sheets_sync.pricing.model import (
    KEY_HEADERS,
    Group,
    Kind,
    Listing,
    Outcome,
    PricingKey,
    Rules,
    SheetRow,
    describe_key,
    group_of,
    money,
    short,
)
from sheets_sync.pricing.parse import PriceRejected, is_blank, parse_price
from sheets_sync.schema import GRADE_RANK
from sheets_sync.vocabulary.prices import price_problem

CENT = Decimal("0.01")
REFRESH = "run `sheets-sync sync` (or Refresh) to see it, then edit again"
RESTORE = (
    "run `sheets-sync sync` (or Refresh) to restore it (your New price is kept), then push again"
)
NO_MATCH = "this row no longer matches its listing — sync to refresh it"
MAX_KEY_CHARS = 200
MAX_REASON_CHARS = 1000
MAX_VERSION = 2**31 - 1
_VERSION = re.compile(r"[0-9]{1,10}", re.ASCII)
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def screen(row: SheetRow, countries: Collection[str] | None) -> str | None:
    """Why ``row`` cannot be an edit of a listing this sheet may price (its `Status`
    detail), judged on the sheet alone; None when it can."""
    empty = [h for h, part in zip(KEY_HEADERS, row.key, strict=True) if not part]
    if len(empty) == len(KEY_HEADERS):
        return (
            "this row has no Seller ID, Product ID, Grade or Country: type new prices "
            "only on listing rows (run a sync to restore them)"
        )
    if empty:
        return (
            f"this row's {', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty: type "
            "new prices only on listing rows (a sync restores their keys)"
        )
    for header, part in zip(KEY_HEADERS, row.key, strict=True):
        if len(part) > MAX_KEY_CHARS or _control_character(part) is not None:
            return (
                f"this row's {header} ({short(part)}) is not a listing's; run a sync to restore it"
            )
    if countries and row.key.country not in countries:
        return (
            f"this sheet prices only {', '.join(countries)}; {row.key.country} is another "
            f"market: clear New price here and push it from the {row.key.country} sheet"
        )
    return None


def _control_character(text: str) -> str | None:
    """The first character a database or a cell must not hold (controls, lone surrogates)."""
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def assess(
    rows: Sequence[SheetRow], listings: Mapping[PricingKey, Listing], rules: Rules, user: str
) -> list[Outcome]:
    """One outcome per row, in row order; nothing here touches the database."""
    repeated = _repeated(rows)
    outcomes = [
        _reject(row, repeated[row.key])
        if row.key in repeated
        else _assess_row(row, listings.get(row.key), rules, user)
        for row in rows
    ]
    _check_grade_order(outcomes, listings)
    return outcomes


def _repeated(rows: Sequence[SheetRow]) -> dict[PricingKey, str]:
    seen: dict[PricingKey, list[int]] = defaultdict(list)
    for row in rows:
        seen[row.key].append(row.row)
    return {
        key: f"{describe_key(key)} is edited on rows {', '.join(map(str, at))}; keep one edit"
        for key, at in seen.items()
        if len(at) > 1
    }


def _reject(row: SheetRow, detail: str) -> Outcome:
    return Outcome(row, Kind.REJECTED, detail)


def _assess_row(row: SheetRow, listing: Listing | None, rules: Rules, user: str) -> Outcome:
    problem = screen(row, None)
    if problem:
        return _reject(row, problem)
    if listing is None:
        return _reject(
            row, f"{describe_key(row.key)} is not in the database; run a sync to refresh the tab"
        )
    try:
        price = parse_price(row.new_price)
    except PriceRejected as rejected:
        return _reject(row, str(rejected))
    problem = reason_problem(row.reason)
    if problem:
        return _reject(row, problem)
    version = parse_version(row.version)
    if version is None:
        return _reject(row, _version_problem(row.version))
    reason = clean_reason(row.reason)
    if version != listing.version:
        return _version_mismatch(row, listing, price, version, reason, user)
    if not shows_price(row.current_price, listing.price):
        return _no_match(row, listing)
    problem = check_price(price, listing.price, reason, rules)
    if problem:
        return _reject(row, problem)
    if price == listing.price:
        return Outcome(row, Kind.UNCHANGED, price=price, version=listing.version)
    return Outcome(
        row, Kind.APPLIED, price=price, old_price=listing.price,
        version=listing.version + 1, reason=reason, by=user,
    )  # fmt: skip


def parse_version(value: Any) -> int | None:
    """The row's `Version` (a number cell, or its ASCII digits); None when it is not a
    version a listing can have (1 … 2³¹ − 1)."""
    number: int | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _VERSION.fullmatch(value.strip()):
        number = int(value.strip())
    return number if number is not None and 1 <= number <= MAX_VERSION else None


def _version_problem(value: Any) -> str:
    if is_blank(value):
        return f"Version is empty: {RESTORE}"
    return f"Version {short(value)} is not a version number: {RESTORE}"


def reason_problem(value: Any) -> str | None:
    """Why the `Reason` cell cannot be stored as typed; None when it can."""
    text = clean_reason(value) or ""
    if len(text) > MAX_REASON_CHARS:
        return (
            f"Reason is {len(text):,} characters long; shorten it to at most "
            f"{MAX_REASON_CHARS:,}, then push again"
        )
    char = _control_character(text)
    if char is not None:
        return (
            f"Reason holds an invisible control character (U+{ord(char):04X}); retype it "
            "without, then push again"
        )
    return None


def shows_price(cell: Any, price: Decimal) -> bool:
    """Whether a `Current price` cell shows ``price`` (to the cent)."""
    if is_blank(cell):
        return False
    try:
        shown = parse_price(cell)
    except PriceRejected:
        return False
    return abs(shown - price) < CENT / 2


def _no_match(row: SheetRow, listing: Listing, version: int | None = None) -> Outcome:
    at = listing.version if version is None else version
    return Outcome(
        row,
        Kind.CONFLICT,
        f"{NO_MATCH} (Current price shows {short(row.current_price)}; "
        f"{describe_key(listing.key)} at version {at} was {money(_price_at(listing, at))})",
        price=listing.price,
        version=listing.version,
    )


def _price_at(listing: Listing, version: int) -> Decimal | None:
    if version == listing.version:
        return listing.price
    last = listing.last_change
    return last.old_price if last is not None and version == listing.version - 1 else None


def clean_reason(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def check_price(price: Decimal, current: Decimal, reason: str | None, rules: Rules) -> str | None:
    """The first guardrail ``price`` breaks, as the `Status` detail; None when it passes.

    The rules of the price alone come first (:func:`price_problem`), then those of
    the row: a reason for 0 and for a big change.
    """
    problem = price_problem(price, rules.ceiling)
    if problem is not None:
        return problem
    if reason is None and price == 0 and current != 0:
        return "0 takes the listing offline: say why in Reason, then push again"
    if reason is None and price != current and _big_change(price, current, rules.max_change):
        share = f"{float(rules.max_change * 100):g}%"
        return (
            f"{current} → {price} changes the price by more than {share}; "
            "say why in Reason, then push again"
        )
    return None


def _big_change(price: Decimal, current: Decimal, max_change: Decimal) -> bool:
    """Beyond ±max_change of the current price; relisting from 0 always is."""
    if current == 0:
        return True
    return abs(price - current) > current * max_change


def _version_mismatch(
    row: SheetRow, listing: Listing, price: Decimal, version: int, reason: str | None, user: str
) -> Outcome:
    """A conflict, unless this exact edit already went in (a retry after a lost write-back)."""
    last = listing.last_change
    if (
        last is not None
        and listing.version == version + 1
        and listing.price == price == last.new_price
        and last.changed_by == user
        and last.reason == reason
    ):
        if last.old_price is None or not shows_price(row.current_price, last.old_price):
            return _no_match(row, listing, version)
        return Outcome(
            row, Kind.APPLIED, price=price, old_price=last.old_price, version=listing.version,
            reason=reason, by=user, at=last.changed_at, earlier=True,
        )  # fmt: skip
    when = listing.updated_at.strftime("%Y-%m-%d %H:%M UTC")
    return Outcome(
        row,
        Kind.CONFLICT,
        f"changed since this sheet was synced: now {listing.price} (version {listing.version}, "
        f"this row shows {version}), by {listing.updated_by} at {when}; {REFRESH}",
        price=listing.price,
        version=listing.version,
    )


def _check_grade_order(outcomes: list[Outcome], listings: Mapping[PricingKey, Listing]) -> None:
    """Reject edits that break grade order after all edits, until none does."""
    while True:
        final = {key: listing.price for key, listing in listings.items()}
        edited = {o.key: o for o in outcomes if o.to_write}
        final.update({key: o.price for key, o in edited.items() if o.price is not None})
        broken = _grade_breaks(final, {group_of(k) for k in edited}, edited)
        if not broken:
            return
        for key, detail in broken.items():
            outcome = edited[key]
            outcome.kind, outcome.detail = Kind.REJECTED, detail


def _grade_breaks(
    final: Mapping[PricingKey, Decimal],
    groups: Iterable[Group],
    edited: Mapping[PricingKey, Outcome],
) -> dict[PricingKey, str]:
    """Edited keys in a pair of active grades where the better one pays less."""
    by_group: dict[Group, list[PricingKey]] = defaultdict(list)
    wanted = set(groups)
    for key in final:
        if group_of(key) in wanted and final[key] > 0:
            by_group[group_of(key)].append(key)
    broken: dict[PricingKey, str] = {}
    for keys in by_group.values():
        ranked = sorted(keys, key=lambda k: GRADE_RANK.get(k.grade, 99))
        for i, better in enumerate(ranked):
            for worse in ranked[i + 1 :]:
                if final[better] < final[worse]:
                    _blame(broken, edited, final, better, worse)
    return broken


def _blame(
    broken: dict[PricingKey, str],
    edited: Mapping[PricingKey, Outcome],
    final: Mapping[PricingKey, Decimal],
    better: PricingKey,
    worse: PricingKey,
) -> None:
    rule = "a better grade never pays less than a worse one"
    if better in edited and better not in broken:
        broken[better] = (
            f"grade order: {better.grade} at {final[better]} would pay less than "
            f"{worse.grade} at {final[worse]} ({rule})"
        )
    if worse in edited and worse not in broken:
        broken[worse] = (
            f"grade order: {worse.grade} at {final[worse]} would pay more than "
            f"{better.grade} at {final[better]} ({rule})"
        )
