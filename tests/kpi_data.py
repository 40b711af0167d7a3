"""Small hand-built trade-in data for the KPI tests, and straightforward Python references.

The references walk the same rows one order at a time, the obvious way, so a
KPI query is checked against an independent computation of its definition
(docs/design.md §4), not against numbers copied from its own output.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from helpers import INJECTION, order
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.frame import TabFrame
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.tab_templates import TabTemplate

MEASURES = (
    "orders_created", "offered_amount", "shipped", "received", "inspected",
    "inspected_within_sla", "counter_offers", "counter_offers_accepted",
    "counter_offers_refused", "paid", "paid_amount", "cancelled", "returned",
    "csat_sum", "csat_responses",
)  # fmt: skip
CREATED = dt.datetime(2025, 1, 1)

SELLERS = [
    {"seller_id": "S1", "name": "Recommerce Pro", "country": "FR"},
    {"seller_id": "S2", "name": INJECTION, "country": "DE"},
    {"seller_id": "S3", "name": "Tech Renew", "country": "FR"},
]
PRODUCTS = [
    {"product_id": "P1", "category": "smartphone", "brand": "Apple", "model": "iPhone 13"},
    {"product_id": "P2", "category": "smartphone", "brand": "Samsung", "model": "Galaxy S22"},
    {"product_id": "P3", "category": "laptop", "brand": "Apple", "model": "MacBook Air"},
]
CATEGORY = {p["product_id"]: p["category"] for p in PRODUCTS}


def frame(
    engine: Engine,
    tab: TabTemplate,
    as_of: dt.date | None = None,
    filters: dict[str, tuple[str, ...]] | None = None,
) -> TabFrame:
    """What the sync engine does: build the context, then compute the frame."""
    with engine.connect() as conn:
        return compute_frame(conn, tab, build_context(conn, tab, as_of=as_of, filters=filters))


def records(result: TabFrame) -> list[dict[str, Any]]:
    """The frame's rows as header → value mappings, for readable assertions."""
    return [dict(zip(result.headers, row, strict=True)) for row in result.rows]


def random_orders(count: int, start: dt.date, days: int, seed: int = 7) -> list[dict[str, Any]]:
    """A deterministic mix of lifecycles over ``days`` days, timestamps consistent."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        created = dt.datetime.combine(start, dt.time()) + dt.timedelta(
            days=rng.randrange(days), seconds=rng.randrange(86400)
        )
        base = order(
            f"R{i:04d}", created,
            seller_id=rng.choice(["S1", "S2", "S3"]), product_id=rng.choice(["P1", "P2", "P3"]),
            country=rng.choice(["FR", "DE"]),
            offered_price=Decimal(rng.randrange(1000, 90000)) / 100,
        )  # fmt: skip
        rows.append(_lifecycle(base, rng))
    return rows


def _lifecycle(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    at = row["created_at"]

    def later(hours: float) -> dt.datetime:
        nonlocal at
        at = at + dt.timedelta(seconds=int(rng.uniform(0.2, hours) * 3600))
        return at

    if rng.random() < 0.3:
        return {**row, "status": "cancelled", "cancelled_at": later(120)}
    row.update(status="shipped", shipped_at=later(72))
    if rng.random() < 0.1:
        return row
    row.update(status="received", received_at=later(96))
    row.update(status="validated", inspected_at=later(70), inspected_grade="good")
    if rng.random() < 0.3:
        row["counter_offer_price"] = (row["offered_price"] * Decimal("0.8")).quantize(
            Decimal("0.01")
        )
        status = rng.choice(["accepted", "accepted", "refused", "expired"])
        row.update(counter_offer_status=status, counter_answered_at=later(80))
        if status != "accepted":
            return {**row, "status": "returned", "returned_at": row["counter_answered_at"]}
    paid = row["counter_offer_price"] or row["offered_price"]
    csat = rng.choice([None, None, 1, 3, 4, 5, 5])
    return {**row, "status": "paid", "paid_at": later(140), "paid_price": paid, "csat": csat}


def load(
    engine: Engine,
    orders: Iterable[dict[str, Any]],
    targets: Iterable[dict[str, Any]] = (),
) -> None:
    """Insert the fixed sellers and products, then ``orders`` and ``targets``."""
    sellers = [{**s, "status": "active", "created_at": CREATED} for s in SELLERS]
    products = [{**p, "storage_gb": 128, "release_year": 2021} for p in PRODUCTS]
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), sellers)
        conn.execute(insert(schema.products), products)
        rows = list(orders)
        if rows:
            conn.execute(insert(schema.tradein_orders), rows)
        target_rows = list(targets)
        if target_rows:
            conn.execute(insert(schema.targets), target_rows)


def _in(day: dt.date, start: dt.date | None, end: dt.date) -> bool:
    return (start is None or day >= start) and day <= end


def reference_daily(
    orders: Iterable[dict[str, Any]], start: dt.date | None, end: dt.date
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(day, country, seller_id, category) → measures, one order at a time."""
    table: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))

    def add(ts: dt.datetime | None, o: dict[str, Any], measure: str, amount: Any = 1) -> None:
        if ts is not None and _in(ts.date(), start, end):
            key = (ts.date(), o["country"], o["seller_id"], CATEGORY[o["product_id"]])
            table[key][measure] += amount

    for o in orders:
        add(o["created_at"], o, "orders_created")
        add(o["created_at"], o, "offered_amount", o["offered_price"])
        add(o["shipped_at"], o, "shipped")
        add(o["received_at"], o, "received")
        add(o["inspected_at"], o, "inspected")
        if o["inspected_at"] and o["inspected_at"] - o["received_at"] <= dt.timedelta(hours=48):
            add(o["inspected_at"], o, "inspected_within_sla")
        if o["counter_offer_price"] is not None:
            add(o["inspected_at"], o, "counter_offers")
        if o["counter_offer_status"] == "accepted":
            add(o["counter_answered_at"], o, "counter_offers_accepted")
        if o["counter_offer_status"] in ("refused", "expired"):
            add(o["counter_answered_at"], o, "counter_offers_refused")
        add(o["paid_at"], o, "paid")
        add(o["paid_at"], o, "paid_amount", o["paid_price"] or 0)
        if o["csat"] is not None:
            add(o["paid_at"], o, "csat_sum", o["csat"])
            add(o["paid_at"], o, "csat_responses")
        add(o["cancelled_at"], o, "cancelled")
        add(o["returned_at"], o, "returned")
    return dict(table)


def expected_daily_rows(
    orders: Iterable[dict[str, Any]], start: dt.date | None, end: dt.date
) -> list[tuple[Any, ...]]:
    """Rows of the `KPI Daily` tab, in header order and key order."""
    names = {s["seller_id"]: s["name"] for s in SELLERS}
    rows = []
    for (day, country, seller, category), m in sorted(reference_daily(orders, start, end).items()):
        labels = (day, day.strftime("%G-W%V"), day.strftime("%Y-%m"))
        dims = (country, seller, names[seller], category)
        rows.append((*labels, *dims, *(m[k] for k in MEASURES)))
    return rows


def ratio(numerator: Any, denominator: Any) -> float | None:
    return None if not denominator else round(float(numerator) / float(denominator), 6)


def cents(numerator: Any, denominator: Any) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def reference_periods(
    orders: list[dict[str, Any]],
    start: dt.date,
    end: dt.date,
    period_of: Any,
    targets: Iterable[dict[str, Any]] = (),
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(period start, country, category) → summed measures, cohort and targets."""
    names = (*MEASURES, "created_shipped")
    table: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for (day, country, _seller, category), measures in reference_daily(orders, start, end).items():
        for name in MEASURES:
            table[(period_of(day), country, category)][name] += measures[name]
    for o in orders:
        day = o["created_at"].date()
        if _in(day, start, end) and o["shipped_at"] and o["shipped_at"].date() <= end:
            table[(period_of(day), o["country"], CATEGORY[o["product_id"]])]["created_shipped"] += 1
    for t in targets:
        if _in(t["month"], start, end):
            table[(t["month"], t["country"], t["category"])].update(
                orders_target=t["orders_target"], paid_amount_target=t["paid_amount_target"]
            )
    return dict(table)


def rates(m: dict[str, Any]) -> tuple[Any, ...]:
    """Ship rate, counter-offer rate, acceptance, SLA rate, average paid price, CSAT."""
    answered = m["counter_offers_accepted"] + m["counter_offers_refused"]
    return (
        ratio(m["created_shipped"], m["orders_created"]),
        ratio(m["counter_offers"], m["inspected"]),
        ratio(m["counter_offers_accepted"], answered),
        ratio(m["inspected_within_sla"], m["inspected"]),
        cents(m["paid_amount"], m["paid"]),
        cents(m["csat_sum"], m["csat_responses"]),
    )


def expected_period_rows(
    table: dict[tuple[Any, ...], dict[str, Any]], label: Any, with_targets: bool = False
) -> list[tuple[Any, ...]]:
    """Rows of `KPI Weekly` / `KPI Monthly` in header order and key order."""
    rows = []
    for (start, country, category), m in sorted(
        table.items(), key=lambda i: (label(i[0][0]), i[0])
    ):
        row = (label(start), start, country, category, *(m[k] for k in MEASURES))
        row += (m["created_shipped"], *rates(m))
        if with_targets:
            orders_target, amount_target = m.get("orders_target"), m.get("paid_amount_target")
            row += (orders_target, ratio(m["orders_created"], orders_target))
            row += (amount_target, ratio(m["paid_amount"], amount_target))
        rows.append(row)
    return rows
