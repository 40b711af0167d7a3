"""The win model's stored counts equal a rebuild from the positions, whatever is written.

A small market (four sellers, two products, ten days) takes seeded random
sequences of writes — orders created on any day of the window (late ones too,
on days already counted), moved to another seller or day, deleted, their
status changed; prices pushed on a day in the past or today, as the push
writes them (the grid's new price and the change's old one) — with fits in
between. After every fit, the counts held per day are exactly what one pass
over the positions computes for the window now (the slow path, kept as the
reference), and the fitted model equals the model fitted from that pass; on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from helpers import order
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.facts.triggers import create_triggers, drop_triggers
from sheets_sync.winmodel import counts, fit
from sheets_sync.winmodel.fit import smooth
from sheets_sync.winmodel.positions import position_counts

FIRST = dt.date(2025, 6, 1)
AS_OF = dt.date(2025, 6, 10)
DAYS = (AS_OF - FIRST).days + 1
SELLERS = ("S0", "S1", "S2", "S3")
PRODUCTS = {"P1": "smartphone", "P2": "tablet"}
Listing = tuple[str, str]


def _at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(FIRST + dt.timedelta(days=day), dt.time(hour))


def _load(engine: Engine, rng: random.Random) -> dict[Listing, int]:
    """Products, sellers and a grid listing per seller × product; the prices (cents)."""
    prices = {(s, p): rng.randrange(9_000, 11_000, 50) for s in SELLERS for p in PRODUCTS}
    with engine.begin() as conn:
        conn.execute(
            insert(schema.products),
            [
                {"product_id": p, "category": c, "brand": "Acme", "model": p, "release_year": 2022}
                for p, c in PRODUCTS.items()
            ],
        )
        conn.execute(
            insert(schema.sellers),
            [
                {
                    "seller_id": s,
                    "name": s,
                    "country": "FR",
                    "status": "active",
                    "created_at": dt.datetime(2025, 1, 1),
                }
                for s in SELLERS
            ],
        )
        conn.execute(
            insert(schema.price_grid),
            [
                {
                    "seller_id": s,
                    "product_id": p,
                    "grade": "good",
                    "country": "FR",
                    "price": Decimal(c) / 100,
                    "currency": "EUR",
                    "version": 1,
                    "updated_at": dt.datetime(2025, 5, 1),
                    "updated_by": "test",
                }
                for (s, p), c in prices.items()
            ],
        )
    return prices


def _push(
    engine: Engine, prices: dict[Listing, int], last: dict[Listing, int], rng: random.Random
) -> None:
    """A price pushed on a day from the listing's last change on (past or today), as the
    push writes it: the grid's price, and the change with the old price."""
    listing = rng.choice(sorted(prices))
    day = rng.randrange(last.get(listing, 0), DAYS)
    seller, product = listing
    new = rng.randrange(9_000, 11_000, 50)
    key = {"seller_id": seller, "product_id": product, "grade": "good", "country": "FR"}
    g = schema.price_grid.c
    with engine.begin() as conn:
        conn.execute(
            update(schema.price_grid)
            .where(g.seller_id == seller, g.product_id == product)
            .values(price=Decimal(new) / 100, updated_at=_at(day, 12))
        )
        conn.execute(insert(schema.price_changes).values(
            **key, old_price=Decimal(prices[listing]) / 100, new_price=Decimal(new) / 100,
            changed_by="test", changed_at=_at(day, 12), source="import"))  # fmt: skip
    prices[listing], last[listing] = new, day


def _write_order(engine: Engine, rng: random.Random, made: list[str]) -> None:
    """Create an order on any day of the window, or move, delete or progress one."""
    o = schema.tradein_orders.c
    kind = rng.choice(("create", "create", "create", "move", "delete", "status"))
    with engine.begin() as conn:
        if kind == "create" or not made:
            key = f"O{rng.randrange(10**9)}"
            conn.execute(
                insert(schema.tradein_orders).values(
                    order(
                        key,
                        _at(rng.randrange(DAYS), rng.randrange(24)),
                        seller_id=rng.choice(SELLERS),
                        product_id=rng.choice(sorted(PRODUCTS)),
                    )
                )
            )
            made.append(key)
            return
        key = rng.choice(made)
        changes: dict[str, Any] = {
            "move": {"seller_id": rng.choice(SELLERS), "created_at": _at(rng.randrange(DAYS))},
            "status": {"status": "shipped"},
        }.get(kind, {})
        if kind == "delete":
            conn.execute(delete(schema.tradein_orders).where(o.order_id == key))
            made.remove(key)
        else:
            conn.execute(update(schema.tradein_orders).where(o.order_id == key).values(changes))


def _held(engine: Engine) -> set[tuple[Any, ...]]:
    c = schema.winmodel_counts.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                c.day, c.category, c.country, c.rank_bucket, c.gap_bucket, c.exposure, c.wins
            ).where(c.day >= FIRST, c.day <= AS_OF)
        )
        return {tuple(row) for row in rows}


def _rebuilt(engine: Engine) -> set[tuple[Any, ...]]:
    """The slow path: every position of the window rebuilt in one pass."""
    with engine.connect() as conn:
        frame = position_counts(conn, FIRST, AS_OF, by_day=True)
    return {(r.day, r.category, r.country, r.rank_bucket, r.gap_bucket, int(r.exposure),
             int(r.wins)) for r in frame.itertuples()}  # fmt: skip


def _assert_model_equals_the_slow_fit(engine: Engine) -> None:
    with engine.connect() as conn:
        model = fit(conn, AS_OF, days=DAYS)
        overall, curves = smooth(position_counts(conn, FIRST, AS_OF))
    np.testing.assert_allclose(model.overall, overall)
    assert sorted(model.curves) == sorted(curves)
    for key, curve in curves.items():
        np.testing.assert_allclose(model.curves[key], curve)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counts_follow_late_orders_and_past_prices_like_a_rebuild(
    engine: Engine, seed: int
) -> None:
    rng = random.Random(seed)
    prices, last, made = _load(engine, rng), {}, []  # type: dict[Listing, int], list[str]
    for step in range(60):
        if rng.random() < 0.2:
            _push(engine, prices, last, rng)
        else:
            _write_order(engine, rng, made)
        if step % 12 == 11:
            with engine.connect() as conn:
                fit(conn, AS_OF, days=DAYS)
            assert _held(engine) == _rebuilt(engine), f"after step {step}"
    _assert_model_equals_the_slow_fit(engine)
    assert _held(engine) == _rebuilt(engine)
    counts.rebuild(engine, FIRST, AS_OF)
    assert _held(engine) == _rebuilt(engine)


def _fill(engine: Engine) -> None:
    rng = random.Random(7)
    _load(engine, rng)
    made: list[str] = []
    for _ in range(20):
        _write_order(engine, rng, made)
    counts.refresh(engine, FIRST, AS_OF)


def test_only_the_day_a_late_order_lands_on_is_recounted(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders).values(order("LATE", _at(3), seller_id="S2")))
    assert counts.refresh(engine, FIRST, AS_OF).days == (FIRST + dt.timedelta(days=3),)
    assert _held(engine) == _rebuilt(engine)


def test_an_order_moved_or_deleted_recounts_the_days_it_left(engine: Engine) -> None:
    _fill(engine)
    o = schema.tradein_orders.c
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders).values(order("MOVED", _at(2), seller_id="S1")))
        conn.execute(insert(schema.tradein_orders).values(order("GONE", _at(5), seller_id="S0")))
    counts.refresh(engine, FIRST, AS_OF)
    with engine.begin() as conn:
        conn.execute(update(schema.tradein_orders).where(o.order_id == "MOVED")
                     .values(created_at=_at(7)))  # fmt: skip
        conn.execute(delete(schema.tradein_orders).where(o.order_id == "GONE"))
    days = counts.refresh(engine, FIRST, AS_OF).days
    assert days == tuple(FIRST + dt.timedelta(days=n) for n in (2, 5, 7))
    assert _held(engine) == _rebuilt(engine)


def test_an_order_progressing_recounts_nothing(engine: Engine) -> None:
    """Orders change status every day; that is not what the model reads."""
    _fill(engine)
    o = schema.tradein_orders.c
    with engine.begin() as conn:
        conn.execute(update(schema.tradein_orders).values(status="shipped",
                                                          shipped_at=_at(9)))  # fmt: skip
        assert conn.execute(select(o.order_id)).first() is not None
    assert counts.refresh(engine, FIRST, AS_OF).days == ()


def test_a_push_today_recounts_today_only(engine: Engine) -> None:
    _fill(engine)
    prices: dict[Listing, int] = {}
    with engine.connect() as conn:
        g = schema.price_grid.c
        for s, p, price in conn.execute(select(g.seller_id, g.product_id, g.price)):
            prices[(s, p)] = int(price * 100)
    _push(engine, prices, dict.fromkeys(prices, DAYS - 1), random.Random(3))
    assert counts.refresh(engine, FIRST, AS_OF).days == (AS_OF,)
    assert _held(engine) == _rebuilt(engine)


def test_writes_while_the_triggers_are_off_recount_every_day(engine: Engine) -> None:
    """A bulk load drops the triggers: what it writes escapes them, so nothing held is trusted."""
    _fill(engine)
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(insert(schema.tradein_orders).values(order("BULK", _at(2), seller_id="S3")))
        create_triggers(conn)
    assert len(counts.refresh(engine, FIRST, AS_OF).days) == DAYS
    assert _held(engine) == _rebuilt(engine)
