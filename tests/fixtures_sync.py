"""The small sync dataset and its fixtures, shared by the engine's tests.

``loaded`` is an ``engine`` (both database kinds) holding two sellers — one
named like a formula — two products, a price grid and a few orders around
``LAST_DAY``; ``settings`` points a run at it with the repository's templates.
A module that needs other data defines its own ``loaded``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import INJECTION, TEMPLATES, order
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.config import Settings

LAST_DAY = dt.date(2025, 6, 30)


def at(days_before_last: int, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(LAST_DAY - dt.timedelta(days=days_before_last), dt.time(hour))


ORDERS = [
    order("O1", at(3)),
    order("O2", at(2), status="shipped", shipped_at=at(1)),
    order("O3", at(2, 9), seller_id="S2", status="cancelled", cancelled_at=at(1, 9)),
    order("O4", at(5), seller_id="S2", status="paid", shipped_at=at(4), received_at=at(3),
          inspected_at=at(2), inspected_grade="good", paid_at=at(0),
          paid_price=Decimal("120.00"), csat=5),
    order("O5", at(200)),  # outside every window
]  # fmt: skip


def load_small_dataset(engine: Engine) -> None:
    """Two sellers (one named like a formula), two products, a price grid, a few orders."""
    created = dt.datetime(2024, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers),
            [
                {"seller_id": "S1", "name": "Recommerce Pro", "country": "FR",
                 "status": "active", "created_at": created, "onboarded_at": created},
                {"seller_id": "S2", "name": INJECTION, "country": "DE",
                 "status": "onboarding", "created_at": created, "onboarded_at": None},
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.products),
            [
                {"product_id": p, "category": "smartphone", "brand": "Apple", "model": p,
                 "storage_gb": 128, "release_year": 2022}
                for p in ("P1", "P2")
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.price_grid),
            [
                {"seller_id": s, "product_id": p, "grade": g, "country": "FR",
                 "price": Decimal(price), "currency": "EUR", "version": 1,
                 "updated_at": created, "updated_by": "test"}
                for s, p, g, price in [
                    ("S1", "P1", "good", "120.00"), ("S1", "P1", "cracked", "50.00"),
                    ("S2", "P1", "good", "118.00"), ("S2", "P2", "good", "300.00"),
                ]
            ],
        )  # fmt: skip
        conn.execute(insert(schema.tradein_orders), ORDERS)
        conn.execute(
            insert(schema.seller_onboarding),
            [{"seller_id": "S2", "step": "contract_signed", "completed_at": created}],
        )


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.load(environ={}, database_url=db_url, templates_dir=TEMPLATES)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load_small_dataset(engine)
    return engine
