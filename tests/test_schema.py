"""The schema of docs/design.md §3 exists with its contract names, idempotently, on both DBs."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import ORDER_COLUMNS
from sqlalchemy import insert, inspect, select

from sheets_sync import db, db_init, schema

CONTRACT_COLUMNS = {
    "sellers": ["seller_id", "name", "country", "status", "created_at", "onboarded_at"],
    "products": ["product_id", "category", "brand", "model", "storage_gb", "release_year"],
    "price_grid": [
        "seller_id",
        "product_id",
        "grade",
        "country",
        "price",
        "currency",
        "version",
        "updated_at",
        "updated_by",
    ],
    "price_changes": [
        "change_id",
        "seller_id",
        "product_id",
        "grade",
        "country",
        "old_price",
        "new_price",
        "changed_by",
        "changed_at",
        "source",
        "request_id",
        "reason",
    ],
    "tradein_orders": list(ORDER_COLUMNS),
    "seller_onboarding": ["seller_id", "step", "completed_at"],
    "targets": ["month", "country", "category", "orders_target", "paid_amount_target"],
}


@pytest.mark.parametrize("table", sorted(CONTRACT_COLUMNS))
def test_contract_columns_exist(engine, table):
    columns = {c["name"] for c in inspect(engine).get_columns(table)}
    assert set(CONTRACT_COLUMNS[table]) <= columns


def test_init_db_twice_keeps_data(engine):
    now = dt.datetime(2026, 1, 1, 12)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers).values(
                seller_id="S1", name="Acme", country="FR", status="active", created_at=now
            )
        )
    db_init.init_db(engine)
    db_init.init_db(engine)
    with engine.connect() as conn:
        assert conn.execute(select(schema.sellers.c.name)).scalars().all() == ["Acme"]


def test_money_is_exact_decimal(engine):
    from decimal import Decimal

    now = dt.datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers).values(
                seller_id="S1", name="A", country="FR", status="active", created_at=now
            )
        )
        conn.execute(
            insert(schema.products).values(
                product_id="P1",
                category="smartphone",
                brand="Apple",
                model="iPhone 13",
                storage_gb=128,
                release_year=2021,
            )
        )
        conn.execute(
            insert(schema.price_grid).values(
                seller_id="S1",
                product_id="P1",
                grade="good",
                country="FR",
                price=Decimal("123.45"),
                currency="EUR",
                version=1,
                updated_at=now,
                updated_by="test",
            )
        )
    with engine.connect() as conn:
        price = conn.execute(select(schema.price_grid.c.price)).scalar_one()
    assert price == Decimal("123.45")
    assert isinstance(price, Decimal)


def test_require_schema_names_missing_tables(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(db.DatabaseError, match="sheets-sync init-db"):
        db.require_schema(engine)


def test_require_schema_does_not_create_a_missing_sqlite_file(tmp_path):
    path = tmp_path / "nowhere.db"
    with pytest.raises(db.DatabaseError, match="does not exist; run `sheets-sync demo`"):
        db.require_schema(db.make_engine(f"sqlite:///{path}"))
    assert not path.exists()


def test_init_db_adds_the_lock_table_to_an_older_database(engine):
    """A database initialised before ``sync_locks`` existed gets it from `init-db`, data kept."""
    schema.sync_locks.drop(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers).values(
                seller_id="S1",
                name="Acme",
                country="FR",
                status="active",
                created_at=dt.datetime(2026, 1, 1),
            )
        )
    with pytest.raises(db.DatabaseError, match=r"no table.*sync_locks.*sheets-sync init-db"):
        db.require_schema(engine)
    db_init.init_db(engine)
    db.require_schema(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("sync_locks")}
    assert {"destination", "owner", "run_id", "host", "pid", "acquired_at", "expires_at"} <= columns
    with engine.connect() as conn:
        assert conn.execute(select(schema.sellers.c.name)).scalars().all() == ["Acme"]
