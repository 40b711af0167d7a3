"""``sheets-sync demo`` from scratch, and a one-tab re-sync into the demo workbook.

Each variant runs in an empty directory as its own process (the way a user
runs it), one after the other: wall seconds, CPU seconds (user + system of
that process: on a shared machine wall time also counts waiting for a core)
and peak RSS (``wait4``'s ``ru_maxrss``). Then ``sheets-sync sync --to
xlsx:tradein-ops.xlsx --tabs Onboarding`` into the workbook the demo wrote
(50 cells; the other 1.5 M stay as they are).

``--baseline-tree PATH`` runs the same commands with another checkout's
``sheets_sync`` first on ``PYTHONPATH`` (e.g. a worktree of ``main`` before
this change) in the same run, and then compares what both wrote: every
sheet's cell values (``Sync Status`` run id and time, and the alert times,
excepted) and every data table row for row.

Run:  .venv/bin/python -P bench/demo_timing.py [--baseline-tree /path/to/main] [--repeat 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from sheets_sync import schema

DEMO = ["demo"]
RESYNC = ["sync", "--database-url", "sqlite:///tradein.db", "--to", "xlsx:tradein-ops.xlsx"]
RESYNC += ["--tabs", "Onboarding"]
VOLATILE = {"Sync Status", "Alerts"}  # run ids and times differ by construction


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float


def run(tree: Path | None, folder: Path, args: list[str]) -> Run:
    """One ``sheets-sync`` command in ``folder``; ``tree`` puts another checkout first."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    code = "import sys; from sheets_sync.cli import main; sys.argv = ['sheets-sync', *sys.argv[1:]]; main()"
    command = [sys.executable, "-c", code]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command + args, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(
            f"{' '.join(args)} failed in {folder}: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(path, read_only=True)
    try:
        return {
            ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets
        }
    finally:
        wb.close()


def tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        out = {
            t.name: sorted(conn.execute(text(f"SELECT * FROM {t.name}")).all(), key=repr)
            for t in schema.DATA_TABLES
        }
    engine.dispose()
    return out


def compare(base: Path, ours: Path) -> list[str]:
    """What differs between two demo folders (workbook values, data tables)."""
    problems: list[str] = []
    a, b = cells(base / "tradein-ops.xlsx"), cells(ours / "tradein-ops.xlsx")
    if list(a) != list(b):
        problems.append(f"sheets {list(a)} != {list(b)}")
    for title in a:
        if title in VOLATILE:
            same = len(a[title]) == len(b.get(title, []))
        else:
            same = a[title] == b.get(title)
        if not same:
            problems.append(f"sheet {title!r} differs")
    if tables(base / "tradein.db") != tables(ours / "tradein.db"):
        problems.append("data tables differ")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    variants: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline_tree is not None:
        variants.insert(0, ("baseline tree", args.baseline_tree.resolve()))
    table = Table(title=f"sheets-sync demo, {dt.date.today()}, median of {args.repeat}")
    for name in ("variant", "command", "wall s", "CPU s", "peak MB"):
        table.add_column(name, justify="left" if name in ("variant", "command") else "right")
    folders: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree in variants:
            for label, command in (("demo", DEMO), ("re-sync Onboarding", RESYNC)):
                runs = []
                for i in range(args.repeat):
                    folder = Path(tmp) / f"{name.replace(' ', '-')}-{i}"
                    folder.mkdir(exist_ok=True)
                    if command is RESYNC and not (folder / "tradein-ops.xlsx").exists():
                        run(tree, folder, DEMO)
                    runs.append(run(tree, folder, command))
                    folders[name] = folder
                table.add_row(
                    name,
                    label,
                    f"{statistics.median(r.wall for r in runs):.1f}",
                    f"{statistics.median(r.cpu for r in runs):.1f}",
                    f"{statistics.median(r.peak_mb for r in runs):.0f}",
                )
        Console().print(table)
        if args.baseline_tree is not None:
            problems = compare(folders["baseline tree"], folders["this tree"])
            print(
                "outputs: identical" if not problems else "outputs differ: " + "; ".join(problems)
            )


if __name__ == "__main__":
    main()
