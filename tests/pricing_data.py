"""The pricing tests' listings and helpers: a small grid on top of the small sync dataset.

After :func:`load_pricing` the ``price_grid`` holds (all FR, EUR, version 1,
updated by ``loader``):

- S1 × P1: flawless 150.00, good 120.00, cracked 50.00
- S1 × P2: good 0.00 (offline)
- S2 × P1: good 118.00; S2 × P2: good 300.00
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fixtures_sync import load_small_dataset
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.pricing.model import PricingKey, SheetRow

USER = "ana@example.com"
UPDATED_AT = dt.datetime(2024, 1, 1)


def load_pricing(engine: Engine) -> None:
    load_small_dataset(engine)
    with engine.begin() as conn:
        conn.execute(update(schema.price_grid).values(updated_by="loader"))
        conn.execute(
            insert(schema.price_grid),
            [
                {"seller_id": s, "product_id": p, "grade": g, "country": "FR",
                 "price": Decimal(price), "currency": "EUR", "version": 1,
                 "updated_at": UPDATED_AT, "updated_by": "loader"}
                for s, p, g, price in [("S1", "P1", "flawless", "150.00"),
                                       ("S1", "P2", "good", "0.00")]
            ],
        )  # fmt: skip


def key(seller: str = "S1", product: str = "P1", grade: str = "good") -> PricingKey:
    return PricingKey(seller, product, grade, "FR")


LOADED = {
    ("S1", "P1", "flawless"): 150, ("S1", "P1", "good"): 120, ("S1", "P1", "cracked"): 50,
    ("S1", "P2", "good"): 0, ("S2", "P1", "good"): 118, ("S2", "P2", "good"): 300,
}  # fmt: skip
"""Each listing's price as loaded (version 1): what a freshly synced row shows."""


def edit(
    k: PricingKey,
    price: Any,
    reason: Any = None,
    version: Any = 1,
    row: int = 2,
    current: Any = None,
) -> SheetRow:
    """An edited row; ``current`` (its `Current price`) defaults to the loaded price."""
    if current is None:
        current = LOADED.get(k[:3])
    return SheetRow(row=row, key=k, new_price=price, reason=reason, version=version,
                    current_price=current)  # fmt: skip


def grid(engine: Engine) -> dict[PricingKey, tuple[Decimal, int, str]]:
    """Every listing's (price, version, updated_by)."""
    g = schema.price_grid.c
    with engine.connect() as conn:
        rows = conn.execute(select(g.seller_id, g.product_id, g.grade, g.country, g.price,
                                   g.version, g.updated_by)).all()  # fmt: skip
    return {PricingKey(*r[:4]): (Decimal(r[4]), r[5], r[6]) for r in rows}


def changes(engine: Engine) -> list[dict[str, Any]]:
    """The audit trail, oldest first."""
    c = schema.price_changes.c
    with engine.connect() as conn:
        rows = conn.execute(select(schema.price_changes).order_by(c.change_id)).all()
    return [dict(r._mapping) for r in rows]
