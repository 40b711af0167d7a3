"""A pricing push of 5,000 edits in a full-size demo Pricing tab, against the emulator.

For SQLite and PostgreSQL: demo data (``--orders``, seed 42), the whole
Pricing tab synced to ``sheets-sync emulator`` running in its own process,
then, ``--rounds`` times, 5,000 `New price` cells typed (whole seller ×
product × market groups, every grade raised by 1 %, so grade order holds and
no reason is needed), the baseline — the same edits previewed (``dry_run``:
the read and the judgement, no write-back) — and one ``push_pricing`` timed
end to end (read: the tags' search and the managed columns by metadata id;
validate + apply; write back: the columns read again by key, then one
write), with the phases the summary records and the Sheets requests, bytes
and cells the emulator counted for the push alone. Medians of the rounds.
Goal: < 5 s end to end, ≤ 4 Sheets requests.

Run:  .venv/bin/python -P bench/pricing.py [--orders 60000] [--edits 5000] [--rounds 3]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path and bench/sheets_sync.py
# would shadow the ``sheets_sync`` package: drop the folder before importing.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from benchlib import counters, figure, scratch_postgres, start_emulator
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sheets_emulator.client import emulator_client
from sheets_sync import schema
from sheets_sync.backends.gsheets.cells import column_letter, quote_title
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing.push import push_pricing

END = dt.date(2025, 6, 30)
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def database(kind: str, tmp: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bench.db"
        return
    with scratch_postgres(PG_ADMIN_URL) as url:
        yield url


def type_edits(client: Any, sheet_id: str, count: int) -> int:
    """Raise every grade of whole groups by 1 % until ``count`` cells; returns cells typed."""
    spreadsheet = client.open_by_key(sheet_id)
    table = spreadsheet.worksheet("Pricing").get_all_values(value_render_option="UNFORMATTED_VALUE")
    header = table[0]
    key = [header.index(h) for h in ("Seller ID", "Product ID", "Country")]
    price, new = header.index("Current price"), header.index("New price")
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for number, row in enumerate(table[1:], start=2):
        groups[tuple(row[i] for i in key)].append(number)
    data, typed = [], 0
    for rows in groups.values():
        prices = [Decimal(str(table[r - 1][price] or 0)) for r in rows]
        if typed + len(rows) > count or min(prices) <= 0:
            continue
        for r, p in zip(rows, prices, strict=True):
            raised = (p * Decimal("1.01")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            cell = f"{quote_title('Pricing')}!{column_letter(new)}{r}"
            data.append({"range": cell, "values": [[float(raised)]]})
        typed += len(rows)
    spreadsheet.values_batch_update({"valueInputOption": "RAW", "data": data})
    return typed


def listings(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.price_grid)).scalar_one())


def bench(kind: str, url: str, orders: int, edits: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, tmp) as db_url:
        engine = make_engine(db_url)
        generate(engine, DemoSpec(orders=orders, days=120, end_date=END, seed=42))
        client = emulator_client(url)
        sheet_id = client.create("Trade-In Ops").id
        settings = Settings.load(environ={}, database_url=db_url, sheets_api_url=url)
        sync_now(engine, settings, f"gsheets:{sheet_id}", tabs=["Pricing"])
        runs = [one_round(engine, settings, client, sheet_id, url, edits) for _ in range(rounds)]
        rows = listings(engine)
        engine.dispose()
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "edits"}
    return {"database": kind, "tab rows": rows, "edits": runs[0]["edits"], **medians}


def one_round(
    engine: Engine, settings: Settings, client: Any, sheet_id: str, url: str, edits: int
) -> dict[str, Any]:
    """Type the edits, preview them (the baseline), push them; the figures of both."""
    destination, user = f"gsheets:{sheet_id}", "bench@example.com"
    typed = type_edits(client, sheet_id, edits)
    started = time.perf_counter()
    push_pricing(engine, settings, destination, user, dry_run=True)
    preview = time.perf_counter() - started
    before, started = counters(url), time.perf_counter()
    summary = push_pricing(engine, settings, destination, user)
    seconds, after = time.perf_counter() - started, counters(url)
    assert (summary.applied, summary.rejected, summary.conflicts) == (typed, 0, 0), summary
    return {
        "edits": typed, "preview s": preview,
        **{f"{k} s": v for k, v in summary.phases.items()}, "total s": seconds,
        "total / preview": seconds / preview, "requests": after["requests"] - before["requests"],
        "bytes sent": after["bytes_in"] - before["bytes_in"],
        "cells written": after["cells_written"] - before["cells_written"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--edits", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    proc, url = start_emulator()
    try:
        results = [
            bench(kind, url, args.orders, args.edits, args.rounds)
            for kind in ("sqlite", "postgresql")
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for result in results:
        print("  ".join(f"{k}={figure(v)}" for k, v in result.items()))


if __name__ == "__main__":
    main()
