"""The values a pricing push passes between its steps (docs/design.md §7).

A push reads :class:`SheetRow` s from the tab, loads each listing's
:class:`Listing` (its row in ``price_grid`` and its latest ``price_changes``
entry) and turns every edited row into one :class:`Outcome`: what the push did
with it and what its `Status` cell says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from sheets_sync.vocabulary.prices import short

if TYPE_CHECKING:
    from sheets_sync.config.parts import PricingSettings


class PricingKey(NamedTuple):
    """A listing: a ``price_grid`` primary key, read by name rather than by position.

    Still a tuple (hashing, equality, unpacking, SQL ``IN`` lists): a row's key
    cells and a database row's key compare equal field by field.
    """

    seller: str
    product: str
    grade: str
    country: str


KEY_HEADERS = ("Seller ID", "Product ID", "Grade", "Country")
"""The Pricing tab's columns holding a row's :class:`PricingKey`, in key order."""

Group = tuple[str, str, str]
"""``(seller_id, product_id, country)``: the grades whose order a push keeps."""


def group_of(key: PricingKey) -> Group:
    return (key.seller, key.product, key.country)


def money(value: Decimal | None) -> str:
    """``125`` → ``125.00``: prices as the sheet shows them (validated to cents already)."""
    return "—" if value is None else f"{value:.2f}"


def describe_key(key: PricingKey) -> str:
    return f"{key.seller} × {key.product} × {key.grade} × {key.country}"


@dataclass(frozen=True)
class SheetRow:
    """One row of the Pricing tab with a non-blank `New price`, as the cells hold it.

    ``row`` is the 1-based sheet row when the push read it (the write-back looks
    for the row holding ``key`` again just before writing); ``key`` is the key
    cells as text, ``""`` for an empty one. ``current_price`` is the row's
    `Current price` cell: the row must still show its listing (§7, step 4).
    """

    row: int
    key: PricingKey
    new_price: Any
    reason: Any = None
    version: Any = None
    current_price: Any = None


@dataclass(frozen=True)
class LastChange:
    """The latest ``price_changes`` entry of a listing (who, when, from what to what)."""

    old_price: Decimal | None
    new_price: Decimal
    changed_by: str
    changed_at: dt.datetime
    request_id: str | None
    reason: str | None = None


@dataclass(frozen=True)
class Listing:
    """A ``price_grid`` row as the push found it."""

    key: PricingKey
    price: Decimal
    version: int
    updated_at: dt.datetime
    updated_by: str
    last_change: LastChange | None = None


@dataclass(frozen=True)
class Rules:
    """The guardrails of docs/design.md §7 (settings ``price_ceiling``, ``price_max_change``)."""

    ceiling: Decimal = Decimal("5000")
    max_change: Decimal = Decimal("0.30")

    @classmethod
    def from_settings(cls, pricing: PricingSettings) -> Rules:
        return cls(*pricing.price_guardrails)


class Kind(StrEnum):
    APPLIED = "applied"
    """Written by this push, or by an earlier attempt of it whose write-back was lost."""
    REJECTED = "rejected"
    CONFLICT = "conflict"
    UNCHANGED = "unchanged"
    """The new price is the current price: nothing to write, `New price` is cleared."""


@dataclass
class Outcome:
    """What the push does with one edited row; ``status`` is its `Status` cell."""

    row: SheetRow
    kind: Kind
    detail: str = ""
    price: Decimal | None = None
    old_price: Decimal | None = None
    version: int | None = None
    """The listing's version after the push (applied / unchanged)."""
    reason: str | None = None
    by: str | None = None
    at: dt.datetime | None = None
    earlier: bool = False
    """Applied by an earlier attempt (a retry after a lost write-back): nothing written now."""
    row_now: int | None = None
    """The sheet row the outcome was written to (``None``: not written back yet, or never:
    see ``written_back``)."""
    written_back: bool | None = None
    """After the write-back: whether a row still held this key (False: moved or deleted)."""
    newer_edit: Any = None
    """A `New price` typed on the row after the push read it: left there, waiting."""

    @property
    def key(self) -> PricingKey:
        return self.row.key

    @property
    def to_write(self) -> bool:
        """This push changes the database for this row."""
        return self.kind is Kind.APPLIED and not self.earlier

    def status(self) -> str:
        """The `Status` text written back (RAW), true of the row as the write-back found it."""
        status = self._status()
        if self.newer_edit is None:
            return status
        if self.kind in (Kind.APPLIED, Kind.UNCHANGED):
            return (
                f"{status}; New price was changed to {short(self.newer_edit)} since this push "
                "read it: push again to apply it"
            )
        return (
            f"{status} (New price was changed to {short(self.newer_edit)} since this push read "
            "it: push again to check it)"
        )

    def _status(self) -> str:
        if self.kind is Kind.APPLIED:
            when = self.at.strftime("%Y-%m-%d %H:%M UTC") if self.at else ""
            return f"✔ applied {when} by {self.by}: {money(self.old_price)} → {money(self.price)}"
        if self.kind is Kind.UNCHANGED:
            return f"✔ unchanged: the price is already {money(self.price)}"
        if self.kind is Kind.CONFLICT:
            return f"⚠ conflict: {self.detail}"
        return f"✖ rejected: {self.detail}"
