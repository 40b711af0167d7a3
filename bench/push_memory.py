"""A pricing push's and a preview's memory above their process's rest, and what stays.

A push runs in a gunicorn worker that lives on (webhook/pricing_api.py). This
bench loads ``--orders`` demo orders into a SQLite file (kept for the next
run), syncs a spreadsheet's Pricing tab in the emulator, then ``--rounds``
times types 1 % raises into ``New price`` and runs a preview and a push in this
process. Before each, the heap is trimmed and the kernel's peak reset
(``/proc/self/clear_refs``), so each line says: the RSS at rest, the peak
(``VmHWM``) above it, what stays resident after it (freed, kept by glibc), and
what stays after ``give_back_freed`` (``malloc_trim``), the webhook's step
after every push.

Run:  .venv/bin/python -P bench/push_memory.py [--orders 1000000] [--rounds 3]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))

import argparse
import datetime as dt
import gc
import os
import subprocess
import tempfile

from benchlib import start_emulator, tool
from pricing import type_edits

from sheets_emulator.client import emulator_client
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import DemoSpec, generate
from sheets_sync.jobs.memory import give_back_freed
from sheets_sync.pricing.push import push_pricing


def mb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def measured(call: object) -> str:
    gc.collect()
    give_back_freed()
    rest = mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    call()  # type: ignore[operator]
    peak = mb("VmHWM")
    gc.collect()
    kept = mb("VmRSS")
    give_back_freed()
    return (
        f"rest {rest} MB, peak +{peak - rest}, kept +{kept - rest}, trimmed +{mb('VmRSS') - rest}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "push-memory")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / f"orders-{args.orders}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        generate(make_engine(url), DemoSpec(orders=args.orders, end_date=dt.date(2025, 6, 30)))
    emulator, sheets_url = start_emulator()
    try:
        engine, client = make_engine(url), emulator_client(sheets_url)
        sheet = client.create("Trade-In Ops").id
        env = dict(os.environ, SHEETS_SYNC_DATABASE_URL=url, SHEETS_SYNC_SHEETS_API_URL=sheets_url)
        subprocess.run([tool("sheets-sync"), "sync", "--to", f"gsheets:{sheet}", "--tabs",
                        "Pricing"], env=env, check=True, capture_output=True)  # fmt: skip
        settings = Settings.load(environ={}, database_url=url, sheets_api_url=sheets_url)
        for n in range(args.rounds):
            type_edits(client, sheet, 20)
            for dry_run in (True, False):
                line = measured(lambda d=dry_run: push_pricing(
                    engine, settings, f"gsheets:{sheet}", "bench@example.com", dry_run=d))  # fmt: skip
                print(f"{'preview' if dry_run else 'push'} {n + 1}: {line}", flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


if __name__ == "__main__":
    main()
