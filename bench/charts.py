"""What charts cost a Google sync: the same tabs with six charts vs without, same run.

A weekly tab (13 ISO weeks × 7 markets × 5 categories = 455 rows, keyed) and
a board tab that declares six charts over it (stacked columns per market,
lines per market for smartphones, a combo, bars, a pie). Each variant is
written to ``sheets-sync emulator`` (its own process) three times:

  first     a new spreadsheet
  same      the same data again (nothing changed)
  next      a week later: the oldest week leaves, a new one arrives

and the emulator's counters give, per write, the HTTP requests, the bytes
the client sent, and the structural requests by kind. The baseline is the
variant without charts (``charts: ()``) in the same run, so the figures say
what the charts add. Wall time is printed but the machine is shared: read
the byte and request counts.

Run:  .venv/bin/python -P bench/charts.py
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import dataclasses
import time
from typing import Any

from benchlib import counters, start_emulator

from sheets_emulator.client import emulator_client
from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import (
    Aggregate,
    Axis,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnSpec,
    ColumnType,
    EqualsFilter,
    LastPeriods,
    PeriodUnit,
    SeriesSpec,
    SeriesType,
    TabTemplate,
)

MARKETS = ("AT", "BE", "DE", "ES", "FR", "IT", "NL")
CATEGORIES = ("console", "laptop", "smartphone", "smartwatch", "tablet")
WEEKLY = TabTemplate(
    "Weekly",
    (
        ColumnSpec("Week", "week"),
        ColumnSpec("Country", "country"),
        ColumnSpec("Category", "category"),
        ColumnSpec("Orders", "orders", ColumnType.INTEGER),
        ColumnSpec("Paid", "paid", ColumnType.MONEY),
        ColumnSpec("SLA rate", "sla_rate", ColumnType.PERCENT),
    ),
    key=("Week", "Country", "Category"),
)
LAST_13 = ChartFilter(LastPeriods("Week", 13, PeriodUnit.WEEKS))
SMARTPHONES = ChartFilter(LAST_13.last, (EqualsFilter("Category", ("smartphone",)),))


def _chart(title: str, kind: ChartType, row: int, **fields: Any) -> ChartSpec:
    fields.setdefault("series", (SeriesSpec("Orders"),))
    fields.setdefault("aggregate", Aggregate.SUM)
    fields.setdefault("filter", LAST_13)
    return ChartSpec(title, kind, x=fields.pop("x", "Week"), position=ChartPosition(row, 9),
                     source="Weekly", **fields)  # fmt: skip


CHARTS = (
    _chart("Orders by market", ChartType.STACKED_COLUMN, 0, split_by="Country"),
    _chart("Paid by market", ChartType.STACKED_COLUMN, 18, split_by="Country",
           series=(SeriesSpec("Paid"),)),
    _chart("SLA, smartphones", ChartType.LINE, 36, split_by="Country", filter=SMARTPHONES,
           series=(SeriesSpec("SLA rate"),), aggregate=Aggregate.NONE),
    _chart("Orders and paid", ChartType.COMBO, 54,
           series=(SeriesSpec("Orders"), SeriesSpec("Paid", Axis.RIGHT, SeriesType.LINE))),
    _chart("Orders by category", ChartType.BAR, 72, x="Category"),
    _chart("Share by market", ChartType.PIE, 90, x="Country", filter=ChartFilter()),
)  # fmt: skip
BOARD = TabTemplate(
    "Board", (ColumnSpec("Figure", "figure"), ColumnSpec("Value", "value", ColumnType.INTEGER))
)


def weekly(first: int) -> TabFrame:
    rows = [
        (f"2026-W{w:02d}", m, c, 10 + (w * 7 + i * 3 + j) % 40, 1000.0 + w * i + j, 0.8 + j / 100)
        for w in range(first, first + 13)
        for i, m in enumerate(MARKETS)
        for j, c in enumerate(CATEGORIES)
    ]
    return TabFrame(WEEKLY, rows)


def run(url: str, board: TabTemplate) -> list[tuple[str, dict[str, Any], float]]:
    sheet = emulator_client(url).create(f"bench {board.title} {len(board.charts)}")
    settings = Settings.load(environ={}, sheets_api_url=url)
    out = []
    for name, first in (("first", 1), ("same", 1), ("next", 2)):
        frames = [weekly(first), TabFrame(board, [("Orders", 1)])]
        before = counters(url)
        started = time.perf_counter()
        GoogleSheetsBackend(settings.sheets, sheet.id).write_tabs(frames, WriteOptions())
        seconds = time.perf_counter() - started
        after = counters(url)
        out.append((name, _delta(before, after), seconds))
    return out


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    kinds = {
        k: n - before["batch_requests"].get(k, 0)
        for k, n in after["batch_requests"].items()
        if n - before["batch_requests"].get(k, 0)
    }
    return {
        "requests": after["requests"] - before["requests"],
        "bytes": after["bytes_in"] - before["bytes_in"],
        "chart kinds": {
            k: n for k, n in kinds.items() if "Chart" in k or "Embedded" in k or k == "updateCells"
        },
    }


def main() -> None:
    proc, url = start_emulator()
    try:
        results = {
            "without charts": run(url, BOARD),
            "with 6 charts": run(url, dataclasses.replace(BOARD, charts=CHARTS)),
        }
    finally:
        proc.terminate()
    print("| variant | write | requests | bytes sent | chart requests | wall s |")
    print("|---|---|---|---|---|---|")
    for variant, rows in results.items():
        for name, delta, seconds in rows:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(delta["chart kinds"].items())) or "—"
            print(f"| {variant} | {name} | {delta['requests']} | {delta['bytes']:,} | "
                  f"{kinds} | {seconds:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
