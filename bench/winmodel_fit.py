"""What fitting the win model costs a sync: ``winmodel.fit`` against the Pricing tab's own query.

For SQLite (a temporary file) and PostgreSQL (a scratch database): the
full-size demo (``--orders``, seed 42, 120 days to 2025-06-30), then
``--repeat`` times each, in the same run: the baseline — the ``Pricing`` tab's
query as a sync runs it (every listing with its best price, rank and
suggestion) — and ``winmodel.fit`` as of the end date (56 days of positions
rebuilt in SQL, the counts, the smoothing, the demand). Medians.
Goal: the fit adds under a second to a full-size sync.

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
from sqlalchemy.engine import Engine

from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.kpis import pricing
from sheets_sync.kpis.query import QueryContext
from sheets_sync.winmodel import fit

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


def _median(work: Callable[[Engine], None], engine: Engine, repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        work(engine)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def measure(url: str, orders: int, repeat: int) -> tuple[float, float]:
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=END, days=120))
    try:
        return _median(_pricing_query, engine, repeat), _median(_fit, engine, repeat)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| database | Pricing query (baseline) s | winmodel.fit s | fit / baseline |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        base, model = measure(f"sqlite:///{folder}/tradein.db", args.orders, args.repeat)
        print(f"| SQLite | {base:.2f} | {model:.2f} | {model / base:.2f}× |", flush=True)
    with scratch_postgres(PG_ADMIN_URL) as url:
        base, model = measure(url, args.orders, args.repeat)
        print(f"| PostgreSQL | {base:.2f} | {model:.2f} | {model / base:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
