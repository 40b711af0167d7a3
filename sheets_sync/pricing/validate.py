"""Deciding each edited row's fate before anything is written (docs/design.md §7, steps 2–4).

Per row, in this order: the listing exists and is edited once; `New price`
parses (:mod:`.parse`); `Version` is the database's (else a conflict, unless
this very edit was already applied by an earlier attempt whose write-back was
lost: then it is reported applied, and nothing is written twice); the price is
≥ 0, has at most 2 decimals, is at most the ceiling; 0 (offline) and a change
beyond ±``max_change`` (relisting an offline listing included) need a reason.
Then grade order is checked on the state after all surviving edits, per
seller × product × country (offline grades do not count, as in the tab's
suggestions): an edit that would make a better grade pay less than a worse one
is rejected, and the check repeats until no edit breaks it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sheets_sync.pricing.model import (
    Group,
    Key,
    Kind,
    Listing,
    Outcome,
    Rules,
    SheetRow,
    describe_key,
    group_of,
)
from sheets_sync.pricing.parse import PriceRejected, parse_price
from sheets_sync.schema import GRADE_RANK

CENT = Decimal("0.01")
REFRESH = "run `sheets-sync sync` (or Refresh) to see it, then edit again"


def assess(
    rows: Sequence[SheetRow], listings: Mapping[Key, Listing], rules: Rules, user: str
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


def _repeated(rows: Sequence[SheetRow]) -> dict[Key, str]:
    seen: dict[Key, list[int]] = defaultdict(list)
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
    if not all(row.key):
        return _reject(
            row,
            "this row has no Seller ID, Product ID, Grade or Country: type new prices "
            "only on listing rows (run a sync to restore them)",
        )
    if listing is None:
        return _reject(
            row, f"{describe_key(row.key)} is not in the database; run a sync to refresh the tab"
        )
    try:
        price = parse_price(row.new_price)
    except PriceRejected as rejected:
        return _reject(row, str(rejected))
    version = parse_version(row.version)
    if version is None:
        return _reject(row, f"Version {row.version!r} is not a version number; {REFRESH}")
    reason = clean_reason(row.reason)
    if version != listing.version:
        return _version_mismatch(row, listing, price, version, reason, user)
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
    """The row's `Version` (a number cell, or its text); None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def clean_reason(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def check_price(price: Decimal, current: Decimal, reason: str | None, rules: Rules) -> str | None:
    """The first guardrail ``price`` breaks, as the `Status` detail; None when it passes."""
    if price < 0:
        return f"{price} is negative; type a price of 0 or more (0 takes the listing offline)"
    if price != price.quantize(CENT):
        return f"{price} has more than 2 decimals; round it to cents, e.g. {price.quantize(CENT)}"
    if price > rules.ceiling:
        return f"{price} is above the ceiling of {rules.ceiling}; type a lower price"
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


def _check_grade_order(outcomes: list[Outcome], listings: Mapping[Key, Listing]) -> None:
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
    final: Mapping[Key, Decimal], groups: Iterable[Group], edited: Mapping[Key, Outcome]
) -> dict[Key, str]:
    """Edited keys in a pair of active grades where the better one pays less."""
    by_group: dict[Group, list[Key]] = defaultdict(list)
    wanted = set(groups)
    for key in final:
        if group_of(key) in wanted and final[key] > 0:
            by_group[group_of(key)].append(key)
    broken: dict[Key, str] = {}
    for keys in by_group.values():
        ranked = sorted(keys, key=lambda k: GRADE_RANK.get(k[2], 99))
        for i, better in enumerate(ranked):
            for worse in ranked[i + 1 :]:
                if final[better] < final[worse]:
                    _blame(broken, edited, final, better, worse)
    return broken


def _blame(
    broken: dict[Key, str],
    edited: Mapping[Key, Outcome],
    final: Mapping[Key, Decimal],
    better: Key,
    worse: Key,
) -> None:
    rule = "a better grade never pays less than a worse one"
    if better in edited and better not in broken:
        broken[better] = (
            f"grade order: {better[2]} at {final[better]} would pay less than "
            f"{worse[2]} at {final[worse]} ({rule})"
        )
    if worse in edited and worse not in broken:
        broken[worse] = (
            f"grade order: {worse[2]} at {final[worse]} would pay more than "
            f"{better[2]} at {final[better]} ({rule})"
        )
