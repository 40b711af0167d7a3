"""Demo data: orders per second for generation + bulk load, on SQLite and PostgreSQL.

For each database, ``sheets_sync.demo.generate`` of N orders (default
1,000,000) into an empty database: SQLite into a temporary file, PostgreSQL
into a scratch database this script creates and drops. Prints generation
seconds (NumPy/pandas, in memory), load seconds (executemany / COPY, one
transaction, ANALYZE on PostgreSQL), total, and orders per second.

Baseline, same run, same frames: the obvious way to load DataFrames,
``pandas.DataFrame.to_sql(if_exists="append", chunksize=10_000)`` per table
into the same empty schema (money converted from cents to euros first, which
is part of the baseline's cost). Each variant runs ``--repeat`` times on a
fresh database; the medians are compared.

Run:  .venv/bin/python -P bench/demo_data.py [--orders 1000000] [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from benchlib import scratch_postgres
from rich.console import Console
from rich.table import Table

from sheets_sync import db_init
from sheets_sync.db import make_engine
from sheets_sync.demo import MONEY_COLUMNS, DemoSpec, DemoSummary, build_frames, generate

PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def run_once(url: str, spec: DemoSpec) -> DemoSummary:
    engine = make_engine(url)
    try:
        return generate(engine, spec)
    finally:
        engine.dispose()


def run_baseline(url: str, spec: DemoSpec) -> tuple[float, float]:
    """Generation seconds, then ``to_sql`` load seconds, into a fresh schema."""
    engine = make_engine(url)
    try:
        db_init.init_db(engine)
        started = time.perf_counter()
        frames = build_frames(spec)
        generated = time.perf_counter()
        with engine.begin() as conn:
            for table, frame in frames.items():
                frame = frame.copy()
                for column in MONEY_COLUMNS.get(table, ()):
                    frame[column] = frame[column] / 100
                frame.to_sql(table, conn, if_exists="append", index=False, chunksize=10_000)
        return generated - started, time.perf_counter() - generated
    finally:
        engine.dispose()


def median_runs(
    make_url_cm: Callable[[], AbstractContextManager[str]],
    run: Callable[[str], tuple[float, float]],
    repeat: int,
) -> tuple[float, float]:
    """Median generation and load seconds over ``repeat`` fresh databases."""
    generate_s, load_s = [], []
    for _ in range(repeat):
        with make_url_cm() as url:
            g, load = run(url)
        generate_s.append(g)
        load_s.append(load)
    return statistics.median(generate_s), statistics.median(load_s)


def ours(spec: DemoSpec) -> Callable[[str], tuple[float, float]]:
    def run(url: str) -> tuple[float, float]:
        summary: DemoSummary = run_once(url, spec)
        return summary.generate_seconds, summary.load_seconds

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    spec = DemoSpec(orders=args.orders, seed=42, end_date=dt.date(2025, 6, 30), days=120)
    table = Table(
        title=f"sheets-sync demo-data: {spec.orders:,} orders over {spec.days} days "
        f"(median of {args.repeat})"
    )
    for column in (
        "database",
        "variant",
        "generate s",
        "load s",
        "total s",
        "orders/s",
        "vs baseline",
    ):
        table.add_column(column, justify="left" if column in ("database", "variant") else "right")
    databases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
        ("SQLite", sqlite_url),
        ("PostgreSQL", lambda: scratch_postgres(args.pg_admin_url)),
    ]
    for kind, make_url_cm in databases:
        base = median_runs(make_url_cm, lambda url: run_baseline(url, spec), args.repeat)
        mine = median_runs(make_url_cm, ours(spec), args.repeat)
        for variant, (g, load) in (("pandas to_sql (baseline)", base), ("demo-data", mine)):
            total = g + load
            table.add_row(
                kind, variant, f"{g:.1f}", f"{load:.1f}", f"{total:.1f}",
                f"{spec.orders / total:,.0f}", f"{sum(base) / total:.2f}×",
            )  # fmt: skip
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
