"""Peak memory of one sync in a process of its own, as a sync child runs it on an instance.

Generates the full-size demo (``--orders``, default 1,000,000, over 365 days,
the dataset of ``bench/kpis.py``) into a SQLite file and a scratch PostgreSQL
database, builds the facts once (the syncs then take the warm path, as every
sync but the first after a bulk load does), starts ``sheets-sync emulator`` in
its own process, and runs each scenario in a fresh Python process — what a
sync child of ``SHEETS_SYNC_JOB_PROCESSES`` is: ``sync_now`` of the tabs to a
destination, nothing else in the process. Each reports its resident size after
the imports a sync needs, its peak (``VmHWM`` of /proc/self/status: the
kernel's high-water mark, so no sampling misses a spike), and its resident size
once the sync is over.

Scenarios, per database: every tab to a new spreadsheet (as of the day before
the data's last day), then the next day's sync of the same spreadsheet (which
first reads every managed cell back to diff against it); Pricing alone (the
widest tab: one row per ``price_grid`` row, 1.06 M cells) the same two ways;
KPI Daily alone to a new spreadsheet; every tab to a new ``xlsx`` workbook.
``--baseline-tree PATH`` runs every scenario again, in the same run, with
another checkout's ``sheets_sync`` first on ``PYTHONPATH`` (e.g. ``git archive
main`` unpacked), each on spreadsheets of its own: the before and after.

``--trace`` also runs the all-tabs first sync and the next day's under
``tracemalloc`` and prints the lines holding the most memory at the traced peak (a thread snapshots the
heap each time it grows past its last high by 5 %), to find what to stream.

Run:  .venv/bin/python -P bench/sync_memory.py [--orders 1000000]
        [--databases sqlite,postgresql] [--data DIR] [--trace] [--only NAME;…]
        [--baseline-tree PATH]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))  # benchlib, after the package

import argparse
import datetime as dt
import gc
import itertools
import json
import os
import subprocess
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

END = dt.date(2026, 10, 31)
PG_ADMIN = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_DB = "sheets_sync_bench_memory"


@dataclass(frozen=True)
class Scenario:
    name: str
    tabs: str  # comma list; "" = every tab
    sheet: str  # spreadsheet (or workbook) key: scenarios sharing one write the same
    as_of: dt.date
    xlsx: bool = False


SCENARIOS = (
    Scenario("all tabs, first sync", "", "all", END - dt.timedelta(days=1)),
    Scenario("all tabs, next day", "", "all", END),
    Scenario("Pricing, first sync", "Pricing", "pricing", END - dt.timedelta(days=1)),
    Scenario("Pricing, next day", "Pricing", "pricing", END),
    Scenario("KPI Daily, first sync", "KPI Daily", "daily", END - dt.timedelta(days=1)),
    Scenario("all tabs, xlsx first", "", "book", END - dt.timedelta(days=1), xlsx=True),
)


def status_kb(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc (kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


# -- the child: one sync, measured ------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from sheets_sync.config import Settings
    from sheets_sync.db import make_engine
    from sheets_sync.jobs.run import sync_now

    if args.destination.startswith("gsheets:"):
        import sheets_sync.backends.gsheets.backend
    else:
        import sheets_sync.backends.xlsx.backend
    import sheets_sync.kpis.runner  # noqa: F401

    settings = Settings.load(
        environ={}, database_url=args.db_url, sheets_api_url=args.sheets_url or None
    )
    engine = make_engine(args.db_url)
    base = status_kb("VmRSS")
    tracer = _PeakTracer() if args.trace else None
    started, cpu = time.perf_counter(), time.process_time()
    tabs = [t for t in args.tabs.split(",") if t] or None
    result = sync_now(engine, settings, args.destination, tabs, trigger="cli",
                      as_of=dt.date.fromisoformat(args.as_of))  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = status_kb("VmHWM")
    gc.collect()
    out = {
        "base_mb": base / 1024, "peak_mb": peak / 1024, "after_mb": status_kb("VmRSS") / 1024,
        "seconds": seconds, "cpu": cpu, "cells": result.cells_written,
        "requests": result.api_calls, "rows": result.rows_written,
    }  # fmt: skip
    if tracer is not None:
        out["top"] = tracer.stop()
    Path(args.out).write_text(json.dumps(out))


class _PeakTracer:
    """tracemalloc with a snapshot taken whenever the traced heap passes its last high by 5 %."""

    def __init__(self) -> None:
        tracemalloc.start(8)
        self.best = 0
        self.snapshot: tracemalloc.Snapshot | None = None
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.running:
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best * 1.05:
                self.best = current
                self.snapshot = tracemalloc.take_snapshot()
            time.sleep(0.05)

    def stop(self) -> list[str]:
        self.running = False
        self.thread.join()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert self.snapshot is not None
        lines = [f"traced peak {peak / 1e6:.0f} MB; at the snapshot {self.best / 1e6:.0f} MB:"]
        for stat in self.snapshot.statistics("lineno")[:14]:
            frame = stat.traceback[0]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            lines.append(f"  {stat.size / 1e6:8.1f} MB  {stat.count:>9,} blocks  {where}")
        return lines


# -- the parent: data, emulator, scenarios -----------------------------------------------


def prepare(db: str, orders: int, data: Path) -> str:
    from sqlalchemy import create_engine, func, select, text
    from sqlalchemy.engine import make_url

    from sheets_sync import facts
    from sheets_sync.db import make_engine
    from sheets_sync.demo import DemoSpec, generate
    from sheets_sync.schema import tradein_orders

    if db == "sqlite":
        url = f"sqlite:///{data / f'memory-{orders}.db'}"
    else:
        url = make_url(PG_ADMIN).set(database=PG_DB).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            have = conn.execute(select(func.count()).select_from(tradein_orders)).scalar()
    except Exception:
        have = None
    if have != orders:
        if db == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
            admin.dispose()
        engine = make_engine(url)
        print(f"… {db}: generating {orders:,} orders", file=sys.stderr, flush=True)
        generate(engine, DemoSpec(orders=orders, days=365, end_date=END, seed=42))
    built = facts.rebuild(engine)
    print(f"… {db}: facts built in {built.seconds:.1f} s", file=sys.stderr, flush=True)
    engine.dispose()
    return url


def run_scenario(
    scenario: Scenario,
    db_url: str,
    sheets_url: str,
    destination: str,
    trace: bool,
    tree: Path | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [
            sys.executable, "-P", __file__, "--child", "--db-url", db_url,
            "--sheets-url", sheets_url, "--to", destination, "--tabs", scenario.tabs,
            "--as-of", scenario.as_of.isoformat(), "--out", str(out),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(tree)) if tree else None
        subprocess.run(command + (["--trace"] if trace else []), check=True, env=env)
        return dict(json.loads(out.read_text()))


def run_all(args: argparse.Namespace, data: Path) -> list[tuple[str, Scenario, dict[str, Any]]]:
    from benchlib import start_emulator

    from sheets_emulator.client import emulator_client

    rows = []
    wanted = [s for s in SCENARIOS if not args.only or s.name in args.only.split(";")]
    for db in args.databases.split(","):
        url = prepare(db, args.orders, data)
        proc, sheets_url = start_emulator()
        try:
            client = emulator_client(sheets_url)
            sheets: dict[str, str] = {}
            trees = {"this tree": None, "baseline": args.baseline_tree}
            for (label, tree), scenario in itertools.product(trees.items(), wanted):
                if label == "baseline" and tree is None:
                    continue
                if scenario.xlsx:
                    destination = f"xlsx:{data / f'{db}-{label}-{scenario.sheet}.xlsx'}"
                else:
                    sheet = f"{label} {scenario.sheet}"
                    key = sheets.setdefault(sheet, client.create(sheet).id)
                    destination = f"gsheets:{key}"
                figures = run_scenario(scenario, url, sheets_url, destination, False, tree)
                rows.append((f"{db}, {label}" if tree else db, scenario, figures))
                print(f"  {rows[-1][0]:10s} {scenario.name:24s} peak {figures['peak_mb']:6.0f} MB "
                      f"(base {figures['base_mb']:.0f}, after {figures['after_mb']:.0f}); "
                      f"{figures['seconds']:.1f} s, {figures['cells']:,} cells, "
                      f"{figures['requests']} requests", flush=True)  # fmt: skip
            if args.trace:
                key = client.create("traced").id
                for scenario in SCENARIOS[:2]:  # the first sync, then the next day's
                    traced = run_scenario(scenario, url, sheets_url, f"gsheets:{key}", True)
                    print(f"  {db}: {scenario.name} under tracemalloc (this tree)")
                    print("\n".join(traced["top"]), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def table(rows: list[tuple[str, Scenario, dict[str, Any]]]) -> str:
    out = [
        "| database | scenario | peak RSS | after imports | peak above imports | after the sync "
        "| wall | cells written | requests |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for db, scenario, f in rows:
        out.append(
            f"| {db} | {scenario.name} | {f['peak_mb']:.0f} MB | {f['base_mb']:.0f} MB | "
            f"{f['peak_mb'] - f['base_mb']:.0f} MB | {f['after_mb']:.0f} MB | "
            f"{f['seconds']:.1f} s | {f['cells']:,} | {f['requests']} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--data", type=Path, help="keep the datasets here for the next run")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--only", default="", help="scenario names, separated by ;")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout, run beside this one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--db-url", "--sheets-url", "--to", "--tabs", "--as-of", "--out"):
        parser.add_argument(name, default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.destination = args.to
        child(args)
        return
    load = os.getloadavg()
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        rows = run_all(args, args.data)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run_all(args, Path(tmp))
    print(f"\n{args.orders:,} orders; load average at start {load[0]:.1f}, "
          f"at end {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print(table(rows))


if __name__ == "__main__":
    main()
