"""Sync to the Sheets API emulator: our Google backend vs gspread-dataframe, same data.

Generates demo data (120,000 orders over 120 days, SQLite), computes every
shipped tab as of the day before the data's last day, then as of the last day
(one more day of orders, every window moved by a day), and writes them to
``sheets-sync emulator`` running in its own process:

  ours      GoogleSheetsBackend.write_tabs(frames)   (real gspread HTTP client)
  baseline  gspread_dataframe.set_with_dataframe(ws, df, resize=True) per tab
            (after add_worksheet for the first sync); no pivots, formats,
            protection or named ranges, so it does strictly less work.

For (a) the first full sync and (b) the next-day sync it prints HTTP
requests, bytes sent and cells written (as counted by the emulator) and wall
time; for (b) also the cells that truly changed (by key, read back from the
sheet). Then plan building for one 1,000,000-cell tab (50,000 rows × 20
columns), first sync and next day: CPU seconds and peak memory (tracemalloc),
next to the floor any writer pays: serialising those cells to JSON once.

Run:  .venv/bin/python bench/sheets_sync.py [--orders 120000]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name
# would shadow the ``sheets_sync`` package: drop the folder before importing.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from benchlib import counters, start_emulator
from gspread_dataframe import set_with_dataframe

from sheets_emulator.client import emulator_client
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.cells import quote_title, same_cell, to_cell, to_row
from sheets_sync.backends.gsheets.plan import build_plan
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.frame import TabFrame
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.sync import load_all_templates
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, TabTemplate

END = dt.date(2025, 6, 30)


def measured(url: str, action: Callable[[], None]) -> dict[str, float]:
    before, started = counters(url), time.perf_counter()
    action()
    seconds, after = time.perf_counter() - started, counters(url)
    return {
        "requests": after["requests"] - before["requests"],
        "bytes": after["bytes_in"] - before["bytes_in"],
        "cells": after["cells_written"] - before["cells_written"],
        "seconds": seconds,
    }


def compute_frames(engine: Any, settings: Settings, day: dt.date) -> list[TabFrame]:
    frames = []
    with engine.connect() as conn:
        for template in load_all_templates(settings).values():
            frames.append(compute_frame(conn, template, build_context(conn, template, as_of=day)))
    return frames


def dataframe(frame: TabFrame) -> pd.DataFrame:
    """What a gspread-dataframe user would hand over: the same rows, Decimals as floats."""
    rows = [[float(v) if isinstance(v, Decimal) else v for v in row] for row in frame.rows]
    return pd.DataFrame(rows, columns=frame.headers)


def baseline_sync(client: Any, sheet_id: str, frames: Sequence[TabFrame], first: bool) -> None:
    sheet = client.open_by_key(sheet_id)
    for frame in frames:
        ws = (
            sheet.add_worksheet(frame.title, rows=len(frame.rows) + 1, cols=frame.width)
            if first
            else sheet.worksheet(frame.title)
        )
        set_with_dataframe(ws, dataframe(frame), resize=True)


def read_tabs(client: Any, sheet_id: str, frames: Sequence[TabFrame]) -> dict[str, list[list[Any]]]:
    sheet = client.open_by_key(sheet_id)
    ranges = [quote_title(f.title) for f in frames]
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
    answer = sheet.values_batch_get(ranges, params=params)
    return {
        f.title: r.get("values", []) for f, r in zip(frames, answer["valueRanges"], strict=True)
    }


def truly_changed(before: list[list[Any]], after: list[list[Any]], key: Sequence[int]) -> int:
    """Cells that differ for the same row identity (key, or position without one)."""

    def ident(i: int, row: list[Any]) -> Any:
        return tuple(row[k] if k < len(row) else "" for k in key) if key else i

    old = {ident(i, r): r for i, r in enumerate(before[1:])}
    count = 0
    for i, row in enumerate(after[1:]):
        was = old.get(ident(i, row))
        if was is None:
            count += sum(1 for c in row if c != "")
            continue
        width = max(len(row), len(was))
        count += sum(
            not same_cell((was + [""] * width)[c], (row + [""] * width)[c]) for c in range(width)
        )
    return count


def sync_figures(url: str, engine: Any, settings: Settings) -> dict[str, dict[str, float]]:
    print("… frames", file=sys.stderr, flush=True)
    day1, day2 = (
        compute_frames(engine, settings, END - dt.timedelta(days=1)),
        compute_frames(engine, settings, END),
    )
    client = emulator_client(url)
    ours, base = client.create("ours").id, client.create("baseline").id
    backend = GoogleSheetsBackend(settings.sheets, ours)
    out = {"ours (a) first": measured(url, lambda: backend.write_tabs(day1))}
    started = time.perf_counter()
    before = read_tabs(client, ours, day2)
    read_seconds = time.perf_counter() - started
    out["ours (b) next day"] = measured(url, lambda: backend.write_tabs(day2))
    after = read_tabs(client, ours, day2)
    changed = sum(
        truly_changed(before[f.title], after[f.title], f.template.key_indexes) for f in day2
    )
    out["baseline (a) first"] = measured(url, lambda: baseline_sync(client, base, day1, first=True))
    out["baseline (b) next day"] = measured(
        url, lambda: baseline_sync(client, base, day2, first=False)
    )
    out["truly changed (b)"] = {"cells": changed}
    out["one batchGet of every managed cell"] = {"seconds": read_seconds}
    out["rows"] = {"day1": sum(len(f.rows) for f in day1), "cells": sum(f.cell_count for f in day1)}
    return out


def big_template() -> TabTemplate:
    columns = [
        ColumnSpec("Date", "d", ColumnType.DATE),
        ColumnSpec("Country", "c"),
        ColumnSpec("Seller ID", "s"),
        ColumnSpec("Category", "k"),
    ]
    columns += [
        ColumnSpec(f"M{i}", f"m{i}", ColumnType.MONEY if i % 4 == 0 else ColumnType.INTEGER)
        for i in range(16)
    ]
    return TabTemplate(
        title="Big", columns=tuple(columns), key=("Date", "Country", "Seller ID", "Category")
    )


def big_rows(last: dt.date, rows: int = 50_000, per_day: int = 560) -> list[tuple[Any, ...]]:
    """A rolling window: each (day, slot) row's values depend on the day and slot only."""
    days = -(-rows // per_day)
    out = []
    for n in range(rows):
        day = last - dt.timedelta(days=days - 1 - n // per_day)
        slot, seed = n % per_day, day.toordinal() * 1000 + n % per_day
        measures = tuple(
            Decimal(seed % 997) / 4 if i % 4 == 0 else (seed * 7 + i) % 50 for i in range(16)
        )
        out.append(
            (
                day,
                ("FR", "DE", "ES", "IT")[slot % 4],
                f"S{slot % 140:03d}",
                ("phone", "tablet", "laptop", "console")[slot // 140],
                *measures,
            )
        )
    return out


def plan_figures() -> dict[str, dict[str, float]]:
    template = big_template()
    today, tomorrow = big_rows(END - dt.timedelta(days=1)), big_rows(END)
    frame_today, frame_tomorrow = TabFrame(template, today), TabFrame(template, tomorrow)
    sheet = SheetState(1, "Big", len(today) + 1, len(template.columns))
    values = [list(template.headers)] + [to_row(r) for r in today]
    existing = BookState({"Big": sheet}, [], {"Big": values})
    cases = {
        "plan: first sync, 1,000,000 cells": (BookState(), frame_today),
        "plan: next day, 1,000,000 cells": (existing, frame_tomorrow),
    }
    out = {}
    for name, (state, frame) in cases.items():
        cpu = time.process_time()
        plan = build_plan(state, [frame], 2_000_000)
        cpu = time.process_time() - cpu
        tracemalloc.start()
        build_plan(state, [frame], 2_000_000)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = {
            "cpu_seconds": cpu,
            "peak_mb": peak / 1e6,
            "cells": plan.cells_written,
            "bodies": len(plan.value_bodies),
        }

    def floor() -> None:
        json.dumps([[to_cell(v) for v in row] for row in today], separators=(",", ":"))

    cpu = time.process_time()
    floor()
    cpu = time.process_time() - cpu
    tracemalloc.start()
    floor()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["floor: cells → JSON once"] = {"cpu_seconds": cpu, "peak_mb": peak / 1e6}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=120_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(db_url)
        print("… demo data", file=sys.stderr, flush=True)
        generate(engine, DemoSpec(orders=args.orders, days=120, end_date=END, seed=42))
        proc, url = start_emulator()
        try:
            settings = Settings.load(environ={}, database_url=db_url, sheets_api_url=url)
            figures = sync_figures(url, engine, settings)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    figures.update(plan_figures())
    print(f"demo data: {args.orders:,} orders over 120 days, up to {END}")
    for name, row in figures.items():
        print(f"{name:38s} " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()))


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


if __name__ == "__main__":
    main()
