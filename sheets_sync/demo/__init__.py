"""Realistic, deterministic demo data for the Trade-In data model (docs/design.md §3).

``build_frames(spec)`` generates every table as DataFrames (no database);
``generate(engine, spec)`` also bulk-loads them, in one transaction, then builds
the daily facts and the win model's counts the first sync would otherwise build
(:mod:`sheets_sync.demo.ready`).

Contract for callers and tests (the exact rules):

* **Prices.** ``price_grid`` holds today's (the end date's) prices,
  ``updated_by`` = ``demo-data``. Their past is in ``price_changes`` (source
  ``import``, ``changed_by`` ``demo-data``, reason ``demo history``), one row
  per listing and day whose price moved, stamped at that day's midnight,
  chronological; each row's ``old_price`` is the previous row's ``new_price``
  of the listing, its last ``new_price`` is the grid price, and the grid
  ``version`` is 1 + the listing's changes (see :mod:`sheets_sync.demo.history`).
  An order was offered its seller's price **in force on its day** for the
  declared grade in that market: the ``old_price`` of the listing's first
  change after that day, else the grid price. Who wins: :mod:`sheets_sync.demo.market`.
* **Counter-offers** are strictly below the offer (see
  :func:`sheets_sync.demo.orders.counter_cents`); ``paid_price`` is the
  counter-offer price when one was accepted, else the offered price.
* **Statuses and the timestamps they imply** (a timestamp is set iff the
  order reached that step before the cut-off, midnight after the end date):

  ===================  ==========================================================
  ``created``          created_at only
  ``cancelled``        created_at, cancelled_at (never shipped: cancelled/expired)
  ``shipped``          + shipped_at
  ``received``         + received_at
  ``suspended``        + inspected_at, inspected_grade, suspended_reason
  ``counter_offered``  + inspected_at, inspected_grade, counter_offer_price
  ``validated``        + inspected_at, inspected_grade [+ counter accepted:
                       counter_offer_*, counter_answered_at]; not paid yet
  ``paid``             validated + paid_at, paid_price [csat on ~35%]
  ``returned``         counter-offer refused or expired: counter_offer_*,
                       counter_answered_at = returned_at
  ===================  ==========================================================
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from sheets_sync import db, db_init
from sheets_sync.demo.frames import MONEY_COLUMNS, build_frames
from sheets_sync.demo.load import (
    ProgressCallback,
    analyze,
    empty_tables,
    load_frames,
    refuse_existing,
    tuned_for_load,
)
from sheets_sync.demo.ready import prepare_first_sync
from sheets_sync.demo.spec import DemoSpec, yesterday_utc
from sheets_sync.facts import bulk_load

__all__ = [
    "MONEY_COLUMNS",
    "DemoSpec",
    "DemoSummary",
    "ProgressCallback",
    "build_frames",
    "generate",
    "yesterday_utc",
]


@dataclass(frozen=True)
class DemoSummary:
    """What was loaded, where, and how long each phase took."""

    database: str
    counts: dict[str, int] = field(default_factory=dict)
    generate_seconds: float = 0.0
    load_seconds: float = 0.0
    prepare_seconds: float = 0.0
    """The daily facts built and the win model's window counted (:mod:`.ready`)."""

    @property
    def seconds(self) -> float:
        return self.generate_seconds + self.load_seconds + self.prepare_seconds


def _no_progress(stage: str, done: int, total: int) -> None:
    """Default progress sink: tests and libraries want silence."""


def generate(
    engine: Engine,
    spec: DemoSpec,
    replace: bool = False,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Create the schema if needed, then load a fresh demo dataset in one transaction.

    Refuses (``DatabaseError``) when the data tables already hold rows, unless
    ``replace``: then they are emptied in the same transaction as the load, so
    a failure leaves the previous data intact.
    """
    report = progress or _no_progress
    db_init.init_db(engine)
    if not replace:
        with engine.connect() as conn:
            refuse_existing(conn)
    started = time.perf_counter()
    report("generate", 0, 1)
    frames = build_frames(spec)
    report("generate", 1, 1)
    generated = time.perf_counter()
    with engine.connect() as conn:
        with tuned_for_load(conn), conn.begin(), bulk_load(conn):
            if replace:
                empty_tables(conn)
            else:
                refuse_existing(conn)
            counts = load_frames(conn, frames, report)
        analyze(conn, list(counts))
    loaded = time.perf_counter()
    return DemoSummary(
        database=db.describe(engine),
        counts=counts,
        generate_seconds=generated - started,
        load_seconds=loaded - generated,
        prepare_seconds=prepare_first_sync(engine, report),
    )
