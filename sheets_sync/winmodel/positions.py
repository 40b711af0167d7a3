"""The market's past, rebuilt in SQL: every listing's position on every day its cell had orders.

Prices in force come from ``price_changes`` and ``price_grid``: a listing's
price on a day is the price in force at the end of that day, i.e. the
``old_price`` of its first change on a later day, else its grid price (a
change counts from the day it was made on). Days are counted from the fit
window's first day, so every comparison is between integers.

For each market cell (product × grade × country) and day with orders, each
online listing's rank and gap bucket (:mod:`sheets_sync.winmodel.buckets`)
and how many of the cell's orders it won that day are summed per category ×
country × bucket: ``exposure`` (listing-days weighted by the cell's orders
that day: how many orders a listing in that position competed for) and
``wins``. Their ratio is the share of a cell's trade-ins a listing in that
position wins. Only days with orders matter: a day without orders adds
nothing to either sum.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Date, and_, case, func, literal, null, select, union_all
from sqlalchemy.sql import ColumnElement, Subquery

from sheets_sync.schema import price_changes, price_grid, products, tradein_orders
from sheets_sync.vocabulary.arithmetic import cents, trailing_bounds
from sheets_sync.vocabulary.sqlfuncs import days_between
from sheets_sync.winmodel.buckets import ALONE, MAX_RANK, gap_bucket_sql

FAR = 1_000_000
"""Days: an interval open at one end reaches this far from the window."""
COUNT_COLUMNS = ("category", "country", "rank_bucket", "gap_bucket", "exposure", "wins")


def _day(timestamp: ColumnElement[Any], start: dt.date) -> ColumnElement[Any]:
    """Days from the window's first day to a timestamp's day."""
    return days_between(timestamp, literal(start, Date))


def _intervals(start: dt.date) -> Subquery:
    """Each listing's prices as ``[lo, hi)`` day ranges, relative to ``start``.

    Before each change: its ``old_price`` since the previous change (or since
    ever); after the last change (or always, without any): the grid price.
    Only changes from ``start`` on are read: an earlier one can only tell what
    held before the window, which the first change inside it already says.
    """
    c, g = price_changes.c, price_grid.c
    key = (c.seller_id, c.product_id, c.grade, c.country)
    previous = func.lag(c.changed_at).over(partition_by=key, order_by=(c.changed_at, c.change_id))
    first = dt.datetime.combine(start, dt.time())
    before = select(
        *key, cents(c.old_price).label("cents"), previous.label("since"),
        c.changed_at.label("until"),
    ).where(c.changed_at >= first)  # fmt: skip
    last = (
        select(*key, func.max(c.changed_at).label("at"))
        .where(c.changed_at >= first)
        .group_by(*key)
        .subquery("last_change")
    )
    joined = and_(
        last.c.seller_id == g.seller_id, last.c.product_id == g.product_id,
        last.c.grade == g.grade, last.c.country == g.country,
    )  # fmt: skip
    now = select(
        g.seller_id, g.product_id, g.grade, g.country, cents(g.price).label("cents"),
        last.c.at.label("since"), null().label("until"),
    ).select_from(price_grid.outerjoin(last, joined))  # fmt: skip
    spans = union_all(before, now).subquery("spans")
    s = spans.c
    lo = func.coalesce(_day(s.since, start), -FAR)
    hi = func.coalesce(_day(s.until, start), FAR)
    return (
        select(s.seller_id, s.product_id, s.grade, s.country, s.cents, lo.label("lo"),
               hi.label("hi"))
        .where(s.cents > 0)
        .subquery("intervals")
    )  # fmt: skip


def _orders(start: dt.date, end: dt.date, by_seller: bool) -> Subquery:
    """Orders per cell × day (and per seller when ``by_seller``) of ``[start, end]``."""
    o = tradein_orders.c
    low, high = trailing_bounds(end, (end - start).days + 1)
    day = _day(o.created_at, start).label("day")
    keys = [o.product_id, o.declared_grade.label("grade"), o.country, day]
    keys = [o.seller_id, *keys] if by_seller else keys
    return (
        select(*keys, func.count().label("orders"))
        .where(o.created_at >= low, o.created_at < high)
        .group_by(*keys)
        .subquery("wins" if by_seller else "cell_days")
    )


def _ranked(start: dt.date, end: dt.date) -> Subquery:
    """Every online listing of every cell-day with orders, and its place in the cell's list.

    One window (the cell-day's listings, best price first) gives the dense
    rank, the best price and the neighbours' prices: one sort, not three.
    """
    days, spans = _orders(start, end, by_seller=False), _intervals(start)
    d, i = days.c, spans.c
    cell_day = (d.product_id, d.grade, d.country, d.day)
    on = and_(
        i.product_id == d.product_id, i.grade == d.grade, i.country == d.country,
        i.lo <= d.day, d.day < i.hi,
    )  # fmt: skip
    w: dict[str, Any] = {"partition_by": cell_day, "order_by": i.cents.desc()}
    return (
        select(
            i.seller_id, *cell_day, d.orders, i.cents,
            func.dense_rank().over(**w).label("rank"),
            func.first_value(i.cents).over(**w).label("best"),
            func.lag(i.cents).over(**w).label("above"),
            func.lead(i.cents).over(**w).label("below"),
        )
        .select_from(days.join(spans, on))
        .subquery("ranked")
    )  # fmt: skip


def _positioned(ranked: Subquery) -> Subquery:
    """Adds the bucket pair: the best *other* price is the best, except for a leader alone
    at the top, whose best other is the next price down (NULL when it is alone in the cell)."""
    r = ranked.c
    tied_above = func.coalesce(r.above, -1) == r.cents
    other = case((and_(r.rank == 1, ~tied_above), r.below), else_=r.best)
    alone = and_(r.above.is_(None), r.below.is_(None))
    return select(
        r.seller_id,
        r.product_id,
        r.grade,
        r.country,
        r.day,
        r.orders,
        case((alone, ALONE), (r.rank >= MAX_RANK, MAX_RANK), else_=r.rank).label("rank_bucket"),
        gap_bucket_sql(r.cents, other).label("gap_bucket"),
    ).subquery("positioned")


def position_counts(
    conn: Connection, start: dt.date, end: dt.date, by_day: bool = False
) -> pd.DataFrame:
    """Exposure and wins per category × country × rank bucket × gap bucket, days start..end
    (and per ``day`` when ``by_day``: what :mod:`.counts` stores)."""
    p = _positioned(_ranked(start, end)).c
    w = _orders(start, end, by_seller=True).c
    keys = [products.c.category, p.country, p.rank_bucket, p.gap_bucket]
    keys = [p.day, *keys] if by_day else keys
    won = and_(
        w.seller_id == p.seller_id, w.product_id == p.product_id, w.grade == p.grade,
        w.country == p.country, w.day == p.day,
    )  # fmt: skip
    positioned = p.seller_id.table
    query = (
        select(*keys, func.sum(p.orders).label("exposure"),
               func.sum(func.coalesce(w.orders, 0)).label("wins"))
        .select_from(positioned.outerjoin(w.seller_id.table, won)
                     .join(products, products.c.product_id == p.product_id))
        .group_by(*keys)
    )  # fmt: skip
    columns = ["day", *COUNT_COLUMNS] if by_day else list(COUNT_COLUMNS)
    counts = pd.DataFrame(conn.execute(query).all(), columns=columns).astype(
        {"rank_bucket": int, "gap_bucket": int, "exposure": float, "wins": float}
    )
    if by_day:
        counts["day"] = [start + dt.timedelta(days=int(d)) for d in counts["day"]]
    return counts


def cell_demand(conn: Connection, as_of: dt.date, days: int) -> pd.DataFrame:
    """Orders per market cell (product × declared grade × country, with the product's
    category) in the ``days`` days to ``as_of``."""
    o = tradein_orders.c
    low, high = trailing_bounds(as_of, days)
    keys = (o.product_id, o.declared_grade.label("grade"), o.country, products.c.category)
    query = (
        select(*keys, func.count().label("orders"))
        .join_from(tradein_orders, products, products.c.product_id == o.product_id)
        .where(o.created_at >= low, o.created_at < high)
        .group_by(*keys)
    )
    rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["product_id", "grade", "country", "category", "orders"])
