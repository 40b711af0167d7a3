"""How fast is the Sheets API emulator, and what does its memory follow?

Starts ``sheets-sync emulator`` as a separate process (as a user would run
it), then measures over real HTTP with real gspread:
  1. a 1,000,000-cell ``values:batchUpdate`` (50,000 rows × 20 columns,
     mixed numbers and text, RAW), end to end and as counted by the emulator;
  2. reading it back (``values.get`` of the whole tab, UNFORMATTED_VALUE) —
     the baseline for 3;
  3. the same read once the ten numeric columns carry a number format
     (``repeatCell``, as our Google backend writes them), under FORMULA (what
     the backend reads) and FORMATTED_VALUE (gspread's default);
  4. the emulator's resident memory: idle, after growing an empty grid to
     ~10,000,000 cells (should stay flat), and after storing the 1M cells;
  5. one ``updateCells`` of 200,000 cells (values and a bold format each),
     the request whose body the discovery validation walks deepest.

Run:  .venv/bin/python -P bench/emulator_speed.py [--lenient]   (-P: bench/sheets_sync.py would
shadow the package; --lenient: the emulator without discovery validation, the baseline of it)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import os
import time
from typing import Any

import requests
from benchlib import start_emulator

from sheets_emulator.client import emulator_client

ROWS, COLS = 50_000, 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    proc, url = start_emulator(*(a for a in sys.argv[1:] if a == "--lenient"))
    try:
        run(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(url: str, pid: int) -> None:
    client = emulator_client(url)
    client.set_timeout(300)
    sh = client.create("Bench")
    idle = rss_mb(pid)
    big = sh.add_worksheet("Empty grid", rows=380_000, cols=26)  # 9,880,000 empty cells
    after_empty_grid = rss_mb(pid)
    sh.del_worksheet(big)
    ws = sh.add_worksheet("Data", rows=ROWS, cols=COLS)
    values = [
        [(r * COLS + c) * 0.5 if c % 2 else f"s{r}-{c}" for c in range(COLS)] for r in range(ROWS)
    ]
    t0 = time.perf_counter()
    answer = ws.spreadsheet.values_batch_update(
        {"valueInputOption": "RAW", "data": [{"range": "Data!A1", "values": values}]}
    )
    write_s = time.perf_counter() - t0
    after_write = rss_mb(pid)
    t0 = time.perf_counter()
    got = ws.get("A1:T50000", value_render_option="UNFORMATTED_VALUE")
    read_s = time.perf_counter() - t0
    formatted_s = read_formatted(ws)
    cells_s = update_cells(ws)
    counters = requests.get(url + "/_emulator/counters", timeout=10).json()
    assert answer["totalUpdatedCells"] == ROWS * COLS and len(got) == ROWS
    print(f"cells written            {answer['totalUpdatedCells']:,}")
    print(f"request body             {counters['bytes_in'] / 1e6:.1f} MB")
    print(f"values:batchUpdate       {write_s:.2f} s end to end (HTTP + JSON + apply)")
    print(f"values.get (1M cells)    {read_s:.2f} s end to end (baseline: no formats)")
    for option, seconds in formatted_s.items():
        print(
            f"  formatted cols, {option:<17} {seconds:.2f} s ({seconds / read_s:.1f}× the baseline)"
        )
    print(f"updateCells (200k cells) {cells_s:.2f} s end to end (values + bold, one request)")
    print(f"emulator RSS idle        {idle:.0f} MB")
    print(f"  + empty 9.88M-cell tab {after_empty_grid - idle:+.1f} MB")
    print(f"  + 1M stored cells      {after_write - idle:+.0f} MB")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")


def read_formatted(ws: Any) -> dict[str, float]:
    """Format every numeric column, then time whole-tab reads under two render options."""
    fmt = {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}}
    ws.spreadsheet.batch_update(
        {
            "requests": [
                {
                    "repeatCell": {
                        "range": {"sheetId": ws.id, "startColumnIndex": c, "endColumnIndex": c + 1},
                        "cell": {"userEnteredFormat": fmt},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
                for c in range(1, COLS, 2)
            ]
        }
    )
    out = {}
    for option in ("FORMULA", "FORMATTED_VALUE"):
        t0 = time.perf_counter()
        got = ws.get("A1:T50000", value_render_option=option)
        out[option] = time.perf_counter() - t0
        assert len(got) == ROWS
    return out


def update_cells(ws: Any, rows: int = 10_000) -> float:
    """One ``updateCells`` of ``rows`` × 20 cells, each a value and a format."""
    cell = {
        "userEnteredValue": {"numberValue": 1.5},
        "userEnteredFormat": {"textFormat": {"bold": True}},
    }
    body = {"requests": [{"updateCells": {
        "start": {"sheetId": ws.id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": [cell] * COLS} for _ in range(rows)],
        "fields": "userEnteredValue,userEnteredFormat.textFormat.bold",
    }}]}  # fmt: skip
    t0 = time.perf_counter()
    ws.spreadsheet.batch_update(body)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
