"""The win model (docs/design.md §7, "Pricing impact"): what a price is worth in orders.

Fitted from the market's own history — the prices in force each day
(``price_changes`` + ``price_grid``) and who won each order — as the share of a
market cell's trade-ins a listing wins against its rank and its gap to the
best other offer, per category × country, shrunk towards the overall curve
where data is thin. :func:`fit` reads the database; :func:`expected_orders`
and :func:`expected_at_price` answer "how many orders per 28 days at this
position / at this price".
"""

from __future__ import annotations

from sheets_sync.winmodel.fit import DEMAND_DAYS, FIT_DAYS, WinModel, fit
from sheets_sync.winmodel.predict import (
    Market,
    Position,
    expected_at_price,
    expected_orders,
    position,
    position_of,
    share,
)

__all__ = [
    "DEMAND_DAYS",
    "FIT_DAYS",
    "Market",
    "Position",
    "WinModel",
    "expected_at_price",
    "expected_orders",
    "fit",
    "position",
    "position_of",
    "share",
]
