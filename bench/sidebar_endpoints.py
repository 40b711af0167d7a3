"""Latency of the sidebar's ``GET /runs`` and ``GET /alerts`` as the tables grow.

The sidebar calls both each time it opens or is refreshed, so they must not
slow down as ``sync_runs`` accumulates a year of runs of many spreadsheets.
The real app (``webhook.create_app``, auth off on loopback, so no token
check is timed) answers through Flask's test client, in process: what is
measured is the route, the query and the JSON, not a network. For each
database (SQLite file; PostgreSQL when reachable) and each size, ``--rows``
runs are spread over 50 registered spreadsheets (queued a few minutes
apart) and 2,000 alerts over 500 sellers in 10 markets; the baseline in the
same run and process is ``GET /healthz`` (no database). Figures: medians of
``--requests`` calls, in ms, and their ratio to the baseline; then the same
on the empty tables, so growth shows as a ratio too.

Run:  .venv/bin/python -P bench/sidebar_endpoints.py [--rows 200000] [--requests 300]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import logging
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchlib import scratch_postgres
from sqlalchemy import create_engine, insert, text

from sheets_sync import schema
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db
from webhook import create_app

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SHEETS = [f"1BenchSidebarSheet{n:010d}" for n in range(50)]
NOW = utcnow()
"""The endpoints list alerts resolved in the 14 days before the wall clock: seed relative to it."""
MARKETS = ["FR", "DE", "ES", "IT", "NL", "BE", "PT", "AT", "PL", "SE"]


def seed(url: str, rows: int) -> None:
    """``rows`` runs over the 50 sheets, newest now; 500 sellers; 2,000 alerts of every scope."""
    engine = make_engine(url)
    init_db(engine)
    runs = (
        {"run_id": f"00000000-0000-4000-8000-{i:012d}", "kind": "sync",
         "spreadsheet": f"gsheets:{SHEETS[i % 50]}", "trigger": "cron", "requested_by": "cron",
         "status": "succeeded", "queued_at": NOW - dt.timedelta(minutes=3 * i),
         "tabs": "KPI Daily", "api_calls": 5, "cells_written": 100}
        for i in range(rows)
    )  # fmt: skip
    sellers = [{"seller_id": f"S{i:04d}", "name": f"Seller {i}", "country": MARKETS[i % 10],
                "status": "active", "created_at": NOW} for i in range(500)]  # fmt: skip
    scopes = [("seller", "S{:04d}"), ("country", "{}"), ("category", "cat{}"), ("overall", "all")]
    alerts = [
        {"rule_id": f"r{i}", "scope": scopes[i % 4][0],
         "scope_key": scopes[i % 4][1].format(
             i % 500 if i % 4 == 0 else MARKETS[i % 10] if i % 4 == 1 else i % 10),
         "metric": "csat", "description": "bench", "severity": "warning", "channels": "slack",
         "value": 1.0, "threshold": 2.0, "status": "active" if i % 3 else "resolved",
         "first_seen": NOW - dt.timedelta(days=i % 30), "last_seen": NOW,
         "resolved_at": None if i % 3 else NOW - dt.timedelta(days=i % 30)}
        for i in range(2000 if rows else 0)
    ]  # fmt: skip
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for run in runs:
            batch.append(run)
            if len(batch) == 10_000:
                conn.execute(insert(schema.sync_runs), batch)
                batch = []
        if batch:
            conn.execute(insert(schema.sync_runs), batch)
        conn.execute(insert(schema.sellers), sellers)
        if alerts:
            conn.execute(insert(schema.alerts), alerts)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()


def app_for(url: str, folder: Path) -> Any:
    registry = folder / "sheets-sync.yaml"
    entries = "".join(f"  - id: {s}\n    name: Sheet {n}\n" for n, s in enumerate(SHEETS))
    registry.write_text("spreadsheets:\n" + entries + f"  - id: {SHEETS[0]}x\n    name: FR\n"
                        "    countries: [DE, ES]\n")  # fmt: skip
    settings = Settings.load(
        environ={}, database_url=url, config_file=registry, auth="disabled", bind_host="127.0.0.1"
    )
    return create_app({"SETTINGS": settings})


def median_ms(client: Any, path: str, count: int) -> tuple[float, int]:
    """The median latency in ms, and how many items the answer lists."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)
    listed = sum(len(v) for v in response.get_json().values() if isinstance(v, list))
    return statistics.median(times) * 1000, listed


def measure(url: str, rows: int, count: int) -> dict[str, tuple[float, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        seed(url, rows)
        client = app_for(url, Path(tmp)).test_client()
        paths = {
            "healthz": "/healthz",
            "runs": f"/runs?spreadsheet_id={SHEETS[7]}&limit=10",
            "runs50": f"/runs?spreadsheet_id={SHEETS[7]}&limit=50",
            "alerts": f"/alerts?spreadsheet_id={SHEETS[7]}",
            "alerts_market": f"/alerts?spreadsheet_id={SHEETS[0]}x",
        }
        for path in paths.values():
            median_ms(client, path, 20)  # warm up
        return {name: median_ms(client, path, count) for name, path in paths.items()}


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
    else:
        with scratch_postgres(PG_ADMIN) as url:
            yield url


def reachable() -> bool:
    try:
        with create_engine(PG_ADMIN, connect_args={"connect_timeout": 3}).connect():
            return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the access log would be timed too
    kinds = ["sqlite"] + (["postgresql"] if reachable() else [])
    print("| database | runs in sync_runs | endpoint | items listed | median ms | × /healthz |")
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        for rows in (0, args.rows):
            with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                figures = measure(url, rows, args.requests)
            base = figures["healthz"][0]
            for name, (ms, listed) in figures.items():
                print(f"| {kind} | {rows:,} | {name} | {listed:,} | {ms:.2f} | {ms / base:.1f} |")


if __name__ == "__main__":
    main()
