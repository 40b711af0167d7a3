"""`KPI Daily` (docs/design.md §4): the pivot-ready fact table, read from the daily facts.

Every measure is dated by its own event (an order created on Monday, received
on Wednesday and paid on Friday counts on three days). The grain of the tab is
the grain of ``kpi_daily_facts`` (day × country × seller × category), which the
database maintains from the orders (sheets_sync/facts/), so the tab is a plain
range read of the facts in its window, joined to the sellers' names: no
aggregation of raw orders at sync time. A row exists when one of its event
counts is non-zero.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.sql import ColumnElement

from sheets_sync.kpis.query import BuiltinQuery, DerivedColumn, QueryContext
from sheets_sync.kpis.rollup import any_event, day_window, fact_filters, facts, money
from sheets_sync.schema import sellers
from sheets_sync.vocabulary.sqlfuncs import iso_week_label, month_label

MEASURES: tuple[str, ...] = (
    "orders_created",
    "offered_amount",
    "shipped",
    "received",
    "inspected",
    "inspected_within_sla",
    "counter_offers",
    "counter_offers_accepted",
    "counter_offers_refused",
    "paid",
    "paid_amount",
    "cancelled",
    "returned",
    "csat_sum",
    "csat_responses",
)
"""The additive measures of §4, in header order."""

CENTS = {"offered_amount": "offered_cents", "paid_amount": "paid_cents"}
"""The money measures and the facts column (whole cents) each is read from."""


def measure_sources(columns: Any) -> dict[str, ColumnElement[Any]]:
    """Each tab measure from facts ``columns`` (money from its cents; the rest as is)."""
    return {m: columns[CENTS[m]] if m in CENTS else columns[m] for m in MEASURES}


def build_kpi_daily(context: QueryContext) -> Select[Any]:
    """KPI Daily over the context's window, one row per day × country × seller × category."""
    f = facts.c
    sources = measure_sources(f)
    values = [(money(sources[m]) if m in CENTS else sources[m]).label(m) for m in MEASURES]
    where = [*day_window(facts, context.window_start, context.as_of),
             *fact_filters(facts, context.filters), any_event(f)]  # fmt: skip
    return (
        select(f.day.label("date"), f.country, f.seller_id, sellers.c.name.label("seller"),
               f.category, *values)
        .select_from(facts.outerjoin(sellers, sellers.c.seller_id == f.seller_id))
        .where(and_(*where))
        .order_by(f.day, f.country, f.seller_id, f.category)
    )  # fmt: skip


DAILY_COLUMNS: tuple[str, ...] = (
    "date", "week", "month", "country", "seller_id", "seller", "category", *MEASURES,
)  # fmt: skip

KPI_DAILY = BuiltinQuery(
    name="kpi_daily",
    build=build_kpi_daily,
    columns=DAILY_COLUMNS,
    default_window_days=90,
    derived={
        "week": DerivedColumn("date", iso_week_label),
        "month": DerivedColumn("date", month_label),
    },
    reads_facts=True,
)
