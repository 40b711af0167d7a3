"""What fitting the win model costs a sync: ``winmodel.fit`` against the Pricing tab's own query.

For SQLite (a temporary file) and PostgreSQL (a scratch database): the
full-size demo (``--orders``, seed 42, 120 days to 2025-06-30), then, in the
same run: the baseline — the ``Pricing`` tab's query as a sync runs it (every
listing with its best price, rank and suggestion), median of ``--repeat``;
the **cold build** — the 56 days' counts built from nothing (a first sync, or
``rebuild``: every position of the window in one pass); the **new day** — the
window counted to the day before, then ``winmodel.fit`` as of the end date
(the day's pass, the read of 56 days of counts, the smoothing, the demand),
what a daily sync pays, median of ``--repeat``; the **warm fit** —
``winmodel.fit`` with every day counted (a second sync the same day), median
of ``--repeat``. Goal: the fit adds under a second to a full-size sync.

Run:  .venv/bin/python -P bench/winmodel_fit.py [--orders 60000] [--repeat 3]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from benchlib import scratch_postgres
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.kpis import pricing
from sheets_sync.kpis.query import QueryContext
from sheets_sync.schema import winmodel_days
from sheets_sync.winmodel import FIT_DAYS, counts, fit

END = dt.date(2025, 6, 30)
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pricing_query(engine: Engine) -> None:
    ctx = QueryContext(as_of=END, params=dict(pricing.DEFAULTS))
    with engine.connect() as conn:
        conn.execute(pricing.build(ctx)).all()


def _fit(engine: Engine) -> None:
    with engine.connect() as conn:
        fit(conn, END)


def _cold(engine: Engine) -> None:
    counts.rebuild(engine, *counts.window(END, FIT_DAYS))


def _median(
    work: Callable[[Engine], None], engine: Engine, repeat: int, untimed: Callable[[Engine], None]
) -> float:
    seconds = []
    for _ in range(repeat):
        untimed(engine)
        start = time.perf_counter()
        work(engine)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _yesterday(engine: Engine) -> None:
    """Counts held to the day before the end date: the state a daily sync finds."""
    with engine.begin() as conn:
        conn.execute(delete(winmodel_days).where(winmodel_days.c.day == END))


def _nothing(engine: Engine) -> None:
    return None


def measure(url: str, orders: int, repeat: int) -> tuple[float, ...]:
    """(baseline, cold build, new day, warm fit) in seconds."""
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=END, days=120))
    try:
        base = _median(_pricing_query, engine, repeat, _nothing)
        cold = _median(_cold, engine, 1, _nothing)
        new_day = _median(_fit, engine, repeat, _yesterday)
        warm = _median(_fit, engine, repeat, _nothing)
        return base, cold, new_day, warm
    finally:
        engine.dispose()


def _row(name: str, figures: tuple[float, ...]) -> str:
    base, cold, new_day, warm = figures
    return (
        f"| {name} | {base:.2f} | {cold:.2f} | {new_day:.2f} | {warm:.2f} | {new_day / base:.2f}× |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| database | Pricing query (baseline) s | cold build s | new day: fit s "
          "| warm fit s | new day / baseline |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(f"sqlite:///{folder}/tradein.db", args.orders, args.repeat)
        print(_row("SQLite", figures), flush=True)
    with scratch_postgres(PG_ADMIN_URL) as url:
        print(_row("PostgreSQL", measure(url, args.orders, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
