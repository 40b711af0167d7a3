"""What a sync says when orders count under ``unknown``: how many, which products, what to check.

The order feed often lands before the catalogue feed: those orders count under
the category ``unknown`` (:data:`.measures.UNKNOWN_CATEGORY`) until their product
arrives, and the next sync moves them by itself (:mod:`.triggers`). Until then
the per-category figures are short and the team should hear why: a sync that
computed a tab from the facts says how many orders, which products, and what
to check.

Cheap by construction: the count reads the facts' ``unknown`` cells through the
partial index ``ix_facts_unknown`` (created with the triggers), a handful of
rows; only when there are some are the orders asked for sample product ids,
over the days those cells span (``ix_orders_created_at``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from sheets_sync.facts.measures import UNKNOWN_CATEGORY
from sheets_sync.schema import kpi_daily_facts, products, tradein_orders

SAMPLE_PRODUCTS = 5


@dataclass(frozen=True)
class UnknownProducts:
    """Orders created up to a day whose product is not in ``products``."""

    orders: int
    first_day: dt.date
    samples: list[tuple[str, int]]
    """A few product ids with their order counts, most orders first."""


def _is_unknown() -> ColumnElement[bool]:
    """Spelled as a literal, so both databases match it to ``ix_facts_unknown``'s predicate
    (a bound parameter cannot be proven equal to it when the statement is planned)."""
    return kpi_daily_facts.c.category == literal_column(f"'{UNKNOWN_CATEGORY}'")


def unknown_products(conn: Connection, as_of: dt.date) -> UnknownProducts | None:
    """The orders created up to ``as_of`` counted under ``unknown`` (None: there are none)."""
    f = kpi_daily_facts.c
    counted = select(func.sum(f.orders_created), func.min(f.day)).where(
        _is_unknown(), f.day <= as_of, f.orders_created > 0
    )
    orders, first = conn.execute(counted).one()
    if not orders:
        return None
    first_day = first if isinstance(first, dt.date) else dt.date.fromisoformat(first)
    return UnknownProducts(int(orders), first_day, _samples(conn, first_day, as_of))


def _samples(conn: Connection, first: dt.date, last: dt.date) -> list[tuple[str, int]]:
    o = tradein_orders.c
    missing = ~exists().where(products.c.product_id == o.product_id)
    count: Any = func.count()
    query = (
        select(o.product_id, count)
        .where(
            missing,
            o.created_at >= dt.datetime.combine(first, dt.time()),
            o.created_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
        )
        .group_by(o.product_id)
        .order_by(count.desc(), o.product_id)
        .limit(SAMPLE_PRODUCTS)
    )
    return [(str(product), int(n)) for product, n in conn.execute(query)]


def unknown_warning(found: UnknownProducts, as_of: dt.date) -> str:
    """The sync's sentence: how many, since when, which products, what to check."""
    named = ", ".join(f"{product} ({n:,} order(s))" for product, n in found.samples)
    return (
        f"{found.orders:,} order(s) created from {found.first_day.isoformat()} to "
        f"{as_of.isoformat()} have a product_id that is not in the catalogue (table products), "
        f"e.g. {named}: the KPI tabs count them under category {UNKNOWN_CATEGORY!r}. Check "
        "that the catalogue feed has loaded these products; once they are in products, the "
        "next sync moves the orders to their category by itself (no rebuild needed)"
    )
