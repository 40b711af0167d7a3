"""Demo data: orders per second for generation + bulk load, on SQLite and PostgreSQL.

For each database, one ``sheets_sync.demo.generate`` of N orders (default
1,000,000) into an empty database: SQLite into a temporary file, PostgreSQL
into a scratch database this script creates and drops. Prints generation
seconds (NumPy/pandas, in memory), load seconds (executemany / COPY, one
transaction, ANALYZE on PostgreSQL), total, and orders per second.

Run:  .venv/bin/python bench/demo_data.py [--orders 1000000] [--pg-admin-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sheets_sync.db import make_engine
from sheets_sync.demo import DemoSpec, DemoSummary, generate

PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def postgres_url(admin_url: str) -> Iterator[str]:
    """A scratch database, dropped afterwards even when the run fails."""
    name = f"sheets_sync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_once(url: str, spec: DemoSpec) -> DemoSummary:
    engine = make_engine(url)
    try:
        return generate(engine, spec)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    spec = DemoSpec(orders=args.orders, seed=42, end_date=dt.date(2025, 6, 30), days=120)
    table = Table(title=f"sheets-sync demo-data: {spec.orders:,} orders over {spec.days} days")
    for column in ("database", "generate s", "load s", "total s", "orders/s", "rows loaded"):
        table.add_column(column, justify="left" if column == "database" else "right")
    for kind, make_url_cm in (
        ("SQLite", sqlite_url),
        ("PostgreSQL", lambda: postgres_url(args.pg_admin_url)),
    ):
        with make_url_cm() as url:
            summary = run_once(url, spec)
        table.add_row(
            kind,
            f"{summary.generate_seconds:.1f}",
            f"{summary.load_seconds:.1f}",
            f"{summary.seconds:.1f}",
            f"{spec.orders / summary.seconds:,.0f}",
            f"{sum(summary.counts.values()):,}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
