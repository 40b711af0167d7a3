"""An order's events, its answers and the inspection SLA: what the figures are about.

One definition each, so "inspected within the SLA" or "a refused counter-offer"
means exactly the same thing on every tab, in the daily facts, in the as-of
guard and in the alert rules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql import ColumnElement

from sheets_sync.vocabulary.sqlfuncs import seconds_between

ORDER_EVENTS: tuple[str, ...] = (
    "created_at", "shipped_at", "received_at", "inspected_at", "counter_answered_at",
    "paid_at", "cancelled_at", "returned_at",
)  # fmt: skip
"""The order's event timestamps, in lifecycle order: each measure is dated by one of them."""

SLA_SECONDS = 48 * 3600
"""The inspection SLA: an order is inspected within it when ``inspected_at - received_at ≤ 48 h``."""

REFUSED_STATUSES = ("refused", "expired")
"""Counter-offer answers that count as refusals (no answer in time is a refusal)."""
ANSWERED_STATUSES = ("accepted", *REFUSED_STATUSES)


def within_inspection_sla(
    inspected_at: ColumnElement[Any], received_at: ColumnElement[Any]
) -> ColumnElement[Any]:
    """True when the inspection came at most 48 h after reception, exactly 48 h included.

    Whole seconds are compared, so 48 h + 1 s is late. NULL (never true) when
    either timestamp is missing, so ``count_if`` counts such an order as not within.
    """
    return seconds_between(inspected_at, received_at) <= SLA_SECONDS
