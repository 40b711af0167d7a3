"""Many syncs at once against Google's per-account quota: the shared governor vs backoff alone.

``sheets-sync emulator`` in its own process enforces Google's default quota
(60 reads and 60 writes per window per user) over a window shortened to
``--window`` seconds, so a minute of traffic takes seconds. ``--workers``
processes each sync ``--syncs`` times a spreadsheet of their own (a few tabs
of the demo data, real gspread over HTTP, real ``sync_now`` recording runs),
all as the same account, twice in the same run:

  baseline  SHEETS_SYNC_QUOTA_*_PER_MINUTE=0: no governor, the 429 backoff alone
  governed  the defaults' margin (54 of 60), shared through the database

and prints, for each: wall time to the last sync done, Sheets requests sent
(attempts, retries included), 429s answered, the requests sent per window on
average by kind against the quota, and the seconds the runs waited for quota
(``sync_runs.quota_wait_seconds``, ``sheets_sync.quota.usage``).

Run:  .venv/bin/python -P bench/quota.py [--workers 6 --syncs 4 --window 6]
      [--database-url postgresql+psycopg://…]  (default: a scratch SQLite file)
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import multiprocessing
import subprocess
import tempfile
import time
from typing import Any

import requests
from benchlib import counters, start_emulator, tool
from sqlalchemy import func, select

from sheets_emulator.client import emulator_client
from sheets_emulator.kinds import READ_KINDS
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.jobs.run import sync_now
from sheets_sync.quota import usage
from sheets_sync.schema import sheets_quota, sync_runs

TABS = ["Onboarding", "KPI Weekly", "Sync Status"]
GOOGLE_QUOTA = 60


def settings(db_url: str, api_url: str, window: float, governed: bool) -> Settings:
    limit = 54 if governed else 0
    return Settings.load(
        environ={}, database_url=db_url, sheets_api_url=api_url, quota_window_seconds=window,
        quota_reads_per_minute=limit, quota_writes_per_minute=limit, lock_wait_seconds=600,
    )  # fmt: skip


def worker(
    db_url: str, api_url: str, sheet_id: str, syncs: int, window: float, governed: bool
) -> None:
    engine = make_engine(db_url)
    for _ in range(syncs):
        sync_now(engine, settings(db_url, api_url, window, governed), f"gsheets:{sheet_id}", TABS)
    engine.dispose()


def one_mode(db_url: str, api_url: str, sheets: list[str], args: argparse.Namespace,
             governed: bool) -> dict[str, Any]:  # fmt: skip
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sheets_quota.delete())
        conn.execute(sync_runs.delete())
    requests.post(api_url + "/_emulator/counters/reset", json={}, timeout=10)
    requests.post(api_url + "/_emulator/quotas", timeout=10, json={
        "read_per_minute": GOOGLE_QUOTA, "write_per_minute": GOOGLE_QUOTA,
        "window_seconds": args.window})  # fmt: skip
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(sheets)) as pool:
        jobs = [pool.apply_async(worker, (db_url, api_url, sheet, args.syncs, args.window,
                                          governed)) for sheet in sheets]  # fmt: skip
        for job in jobs:
            job.get(timeout=3600)
    wall = time.perf_counter() - started
    seen = counters(api_url)
    sheets_requests = sum(n for k, n in seen["by_kind"].items() if k.startswith("spreadsheets."))
    with engine.connect() as conn:
        waited = conn.execute(select(func.sum(sync_runs.c.quota_wait_seconds))).scalar() or 0.0
        failed = conn.execute(select(func.count()).where(sync_runs.c.status == "failed")).scalar()
    granted = {u.kind: u.granted for u in usage(engine, args.window)}
    engine.dispose()
    sent = {"read": 0, "write": 0}
    for kind, count in seen["by_kind"].items():
        if kind.startswith("spreadsheets."):
            sent["read" if kind in READ_KINDS else "write"] += count
    return {"wall": wall, "requests": sheets_requests, "refused": seen["by_status"].get("429", 0),
            "per_window": {k: round(v / wall * args.window, 1) for k, v in sent.items()},
            "granted": granted, "waited": float(waited), "failed": failed}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--syncs", type=int, default=4)
    parser.add_argument("--window", type=float, default=6.0)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-quota-"))
    db_url = args.database_url or f"sqlite:///{folder / 'tradein.db'}"
    subprocess.run([tool("sheets-sync"), "demo-data", "--orders", str(args.orders), "--replace",
                    "--database-url", db_url], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    proc, api_url = start_emulator()
    try:
        client = emulator_client(api_url)
        sheets = [client.create(f"Team {n}").id for n in range(args.workers)]
        print(
            f"{args.workers} processes × {args.syncs} syncs of {', '.join(TABS)}; quota "
            f"{GOOGLE_QUOTA} reads and {GOOGLE_QUOTA} writes per {args.window:g} s window"
        )
        for name, governed in (("baseline (429 backoff alone)", False), ("governed", True)):
            result = one_mode(db_url, api_url, sheets, args, governed)
            print(
                f"{name:30} wall {result['wall']:6.1f} s  requests {result['requests']:4}  "
                f"429s {result['refused']:4}  sent/window {result['per_window']}  "
                f"waited {result['waited']:6.1f} s  failed runs {result['failed']}"
            )
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
