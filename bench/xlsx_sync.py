"""Workbook sync: the xlsx backend vs pandas ``to_excel`` on the same frames.

Builds a demo database (N orders, default 60,000 — the ``sheets-sync demo``
size), computes every built-in tab's frame once, then in the same run times:

* ``XlsxBackend.write_tabs`` into a new file (typed, formatted, protected,
  pivots computed), then again over that file (a re-sync of every tab: the
  previous versions read for team columns and pending edits, every managed
  sheet rewritten), then only the 50-cell Onboarding tab into that workbook
  (the other sheets are copied as stored);
* the baseline, pandas ``DataFrame.to_excel`` per tab with the openpyxl engine
  (values only: no formats, no protection, no pivots, no re-sync).

Each write runs in a forked process holding the frames already: wall and
CPU seconds, and its peak RSS above what it started with (the frames are
shared, so this is what the write itself costs). Also the size of the
largest frame's rows in memory, for scale.

Run:  .venv/bin/python -P bench/xlsx_sync.py [--orders 60000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import DemoSpec, generate
from sheets_sync.frame import TabFrame
from sheets_sync.kpis.runner import build_context, compute_frame, default_as_of
from sheets_sync.sync import load_all_templates


def frames_for(url: str, orders: int) -> list[TabFrame]:
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=dt.date(2025, 6, 30)))
    templates = load_all_templates(Settings.load(database_url=url))
    with engine.connect() as conn:
        day = default_as_of(conn)
        frames = [
            compute_frame(conn, t, build_context(conn, t, as_of=day)) for t in templates.values()
        ]
    engine.dispose()
    return frames


def pandas_baseline(frames: Sequence[TabFrame], path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for frame in frames:
            pd.DataFrame(list(frame.rows), columns=frame.headers).to_excel(
                writer, sheet_name=frame.title, index=False
            )


@dataclass
class Measure:
    wall: float
    cpu: float
    extra_mb: float


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(action: Callable[[], object], out: Any) -> None:
    start_rss, start_cpu, start = _rss_mb(), time.process_time(), time.perf_counter()
    action()
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send(Measure(wall, cpu, max(0.0, peak - start_rss)))


def measured(action: Callable[[], object]) -> Measure:
    """Run ``action`` in a forked child (it shares the frames) and measure it there."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(action, send))
    child.start()
    result = receive.recv()
    child.join()
    if child.exitcode:
        raise SystemExit(f"a write failed (exit code {child.exitcode})")
    return result  # type: ignore[no-any-return]


def rows_mb(frame: TabFrame) -> float:
    """The frame's rows in memory: row tuples and their values (shared small ints aside)."""
    size = sys.getsizeof(frame.rows)
    for row in frame.rows:
        size += sys.getsizeof(row) + sum(sys.getsizeof(v) for v in row)
    return size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=60_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = frames_for(f"sqlite:///{folder / 'bench.db'}", args.orders)
        cells = sum(f.cell_count for f in frames)
        small = [f for f in frames if f.title == "Onboarding"]
        ours, base = folder / "ours.xlsx", folder / "pandas.xlsx"
        runs: list[tuple[str, Measure, Path]] = []
        for name, action, path in [
            ("pandas to_excel (baseline)", lambda: pandas_baseline(frames, base), base),
            ("XlsxBackend first write", lambda: XlsxBackend(ours).write_tabs(frames), ours),
            ("XlsxBackend re-sync, all tabs", lambda: XlsxBackend(ours).write_tabs(frames), ours),
            ("XlsxBackend re-sync, Onboarding", lambda: XlsxBackend(ours).write_tabs(small), ours),
        ]:
            runs.append((name, measured(action), path))
        largest = max(frames, key=lambda f: f.cell_count)
        table = Table(title=f"{args.orders:,} orders, {len(frames)} tabs, {cells:,} cells")
        for name in ("writer", "wall s", "CPU s", "vs baseline (CPU)", "extra RSS MB", "file MB"):
            table.add_column(name, justify="left" if name == "writer" else "right")
        for name, m, path in runs:
            ratio = m.cpu / runs[0][1].cpu
            size = path.stat().st_size / 1e6
            table.add_row(
                name,
                f"{m.wall:.2f}",
                f"{m.cpu:.2f}",
                f"{ratio:.2f}×",
                f"{m.extra_mb:.0f}",
                f"{size:.1f}",
            )
        Console().print(table)
        print(
            f"largest tab: {largest.title}, {largest.cell_count:,} cells, rows {rows_mb(largest):.0f} MB"
        )


if __name__ == "__main__":
    main()
