"""Checks that stop a sync before it can damage the team's spreadsheet.

They run on what the engine computed, before any write, so a refusal leaves
the destination exactly as it was:

- the as-of day is never in the future: one order with a wrong clock must not
  move every rolling window past the data and empty the tabs;
- a keyed tab's data has unique keys, or notes would land on the wrong row;
- a sync that would remove most of a keyed tab's rows (an empty or half-loaded
  database) stops unless the user says the shrink is expected; a tab of a row
  or two is left alone (see :data:`MIN_GUARDED_ROWS`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Connection

from sheets_sync.clock import as_date
from sheets_sync.db import bad_timestamp_error
from sheets_sync.errors import ConfigError, DataError, ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.schema import tradein_orders
from sheets_sync.vocabulary.orders import ORDER_EVENTS

DEFAULT_MAX_SHRINK_SHARE = 0.5
MIN_GUARDED_ROWS = 3
"""A keyed tab holding fewer rows may lose them all without ``--allow-shrink``.

On a tab that small, emptying it is ordinary business (the Onboarding tab's
last stalled seller finishing), not the sign of a half-loaded database; the
team's cells on the rows that leave still go to ``Archived notes``.
"""


@dataclass(frozen=True)
class AsOf:
    """The day every tab is computed as of, and the orders with events after it.

    ``orders_after`` counts orders with an event after the as-of day up to
    today (UTC), ``orders_future`` those with an event dated after today: the
    first is what a past ``--as-of`` leaves out, the second only a wrong clock
    in the source system explains.
    """

    day: dt.date
    orders_after: int = 0
    orders_future: int = 0
    today: dt.date | None = None

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.orders_after:
            out.append(
                f"{self.orders_after:,} order(s) have events after {self.day.isoformat()} "
                "(the as-of day); those events are not counted in any tab (the orders' "
                "earlier events are), a sync as of a later day counts them"
            )
        if self.orders_future:
            today = self.today.isoformat() if self.today else "today"
            out.append(
                f"{self.orders_future:,} order(s) have events dated after today ({today}, "
                "UTC); those events are not counted: check the source system's clock"
            )
        return out


def latest_complete_day(now: dt.datetime | None = None) -> dt.date:
    """Yesterday in UTC: today's figures are still moving."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.date() - dt.timedelta(days=1)


def resolve_as_of(
    conn: Connection, requested: dt.date | None, now: dt.datetime | None = None
) -> AsOf:
    """:func:`as_of_day`, with the orders that have events after it counted.

    Events dated after the day are left out of every tab and counted, so a run
    can say what it did not count: later days a past ``--as-of`` skips, and
    future dates that point at the source system's clock.
    """
    day = as_of_day(conn, requested, now)
    today = latest_complete_day(now) + dt.timedelta(days=1)
    after, future = _orders_after(conn, day, today)
    return AsOf(day, after, future, today)


def as_of_day(
    conn: Connection, requested: dt.date | None, now: dt.datetime | None = None
) -> dt.date:
    """The requested day, else the data's last day; never later than yesterday (UTC).

    Callers that only need the day (the runner's default, alert evaluation)
    skip the count of later orders, a scan of every order.
    """
    latest = latest_complete_day(now)
    if requested is not None and requested > latest:
        raise ConfigError(
            f"as-of {requested.isoformat()} is not a complete day yet (UTC); the latest "
            f"is {latest.isoformat()}: pass --as-of {latest.isoformat()} or leave it out"
        )
    return requested if requested is not None else _last_event_day(conn, latest) or latest


def _last_event_day(conn: Connection, latest: dt.date) -> dt.date | None:
    """The last day up to ``latest`` with an order event; later (mis-dated) events don't count.

    The plain maxima come first: they are cheap (indexed) and reading them is
    what surfaces text stored in a timestamp column, as one clear error.
    """
    cutoff = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time())
    columns = [tradein_orders.c[c] for c in ORDER_EVENTS]
    days = _event_maxima(conn, [func.max(c) for c in columns])
    if days and max(days) > latest:
        days = _event_maxima(conn, [func.max(case((c < cutoff, c))) for c in columns])
    return max(days) if days else None


def _event_maxima(conn: Connection, maxima: list[Any]) -> list[dt.date]:
    try:
        values = conn.execute(select(*maxima)).one()
    except ValueError as err:  # SQLite keeps text in a DATETIME column; reading it fails
        raise bad_timestamp_error(conn, tradein_orders, ORDER_EVENTS, err) from err
    return [as_date(value) for value in values if value is not None]


def _orders_after(conn: Connection, day: dt.date, today: dt.date) -> tuple[int, int]:
    """Orders with an event after ``day`` up to ``today``, and with one after ``today``.

    One scan of the orders for both counts; an order with events in both spans
    is in both.
    """
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    events = [tradein_orders.c[c] for c in ORDER_EVENTS]
    later = or_(*((c >= cutoff) & (c < tomorrow) for c in events))
    future = or_(*(c >= tomorrow for c in events))
    counts = select(func.count(case((later, 1))), func.count(case((future, 1))))
    after, ahead = conn.execute(counts).one()
    return int(after), int(ahead)


def check_unique_keys(frames: Sequence[TabFrame]) -> None:
    """Raise ``DataError`` naming the first keyed tab whose data repeats a key."""
    for frame in frames:
        if not frame.template.key:
            continue
        counts = Counter(frame.key_of(row) for row in frame.rows)
        repeated = [(key, n) for key, n in counts.items() if n > 1]
        if repeated:
            raise DataError(_duplicate_message(frame, repeated))


def _duplicate_message(frame: TabFrame, repeated: list[tuple[tuple[object, ...], int]]) -> str:
    key, times = repeated[0]
    names = list(frame.template.key)
    shown = ", ".join(f"{name}={value!r}" for name, value in zip(names, key, strict=True))
    return (
        f"tab {frame.title!r}: {len(repeated):,} key(s) appear more than once in the data "
        f"(key {names}); e.g. {shown} appears {times} times. Nothing was written: make "
        "the query return one row per key, or change `key:` in its template"
    )


def check_shrink(
    title: str, current_rows: int, kept_rows: int, max_share: float, allow: bool
) -> None:
    """Refuse to remove more than ``max_share`` of a keyed tab's rows (or all of them).

    Tabs under :data:`MIN_GUARDED_ROWS` rows are not checked: one or two rows
    leaving is not a sign of a broken database.
    """
    removed = current_rows - kept_rows
    if allow or current_rows < MIN_GUARDED_ROWS or removed <= 0:
        return
    if kept_rows > 0 and removed <= current_rows * max_share:
        return
    raise ShrinkError(
        f"tab {title!r}: this sync would remove {removed:,} of its {current_rows:,} rows "
        f"(more than {max_share:.0%}); nothing was written. If the database is complete "
        "and the shrink is expected, run again with --allow-shrink"
    )
