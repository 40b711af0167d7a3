"""Workbook sync: the xlsx backend vs pandas ``to_excel`` on the same frames.

Builds a demo database (N orders, default 60,000 — the ``sheets-sync demo``
size), computes every built-in tab's frame once, then in the same run times:

* ``XlsxBackend.write_tabs`` into a new file (typed, formatted, protected,
  pivots computed), then again over that file (a re-sync: load, replace the
  managed tabs keeping team columns, save);
* the baseline, pandas ``DataFrame.to_excel`` per tab with the openpyxl engine
  (values only: no formats, no protection, no pivots, no re-sync).

Prints seconds, cells and file size for each.

Run:  .venv/bin/python -P bench/xlsx_sync.py [--orders 60000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=60_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = frames_for(f"sqlite:///{folder / 'bench.db'}", args.orders)
        cells = sum(f.cell_count for f in frames)
        ours, base = folder / "ours.xlsx", folder / "pandas.xlsx"
        runs: list[tuple[str, float, float]] = []
        for name, action, path in [
            ("pandas to_excel (baseline)", lambda: pandas_baseline(frames, base), base),
            ("XlsxBackend first write", lambda: XlsxBackend(ours).write_tabs(frames), ours),
            ("XlsxBackend re-sync", lambda: XlsxBackend(ours).write_tabs(frames), ours),
        ]:
            runs.append((name, timed(action), path.stat().st_size / 1e6))
        table = Table(title=f"{args.orders:,} orders, {len(frames)} tabs, {cells:,} cells")
        for name in ("writer", "seconds", "vs baseline", "file MB"):
            table.add_column(name, justify="left" if name == "writer" else "right")
        for name, seconds, size in runs:
            ratio = seconds / runs[0][1]
            table.add_row(name, f"{seconds:.1f}", f"{ratio:.2f}×", f"{size:.1f}")
        Console().print(table)


if __name__ == "__main__":
    main()
