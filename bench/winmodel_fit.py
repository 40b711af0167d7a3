"""What fitting the win model costs a sync: ``winmodel.fit`` against the Pricing tab's own query.

For SQLite (a temporary file) and PostgreSQL (a scratch database): the
full-size demo (``--orders``, seed 42, 120 days to 2025-06-30), then, in the
same run: the baseline — the ``Pricing`` tab's query as a sync runs it (every
listing with its best price, rank and suggestion), median of ``--repeat``;
the **cold build** — the 56 days' counts built from nothing (a first sync, or
``rebuild``: every position of the window in one pass); the **new day** — the
window counted to the day before, then ``winmodel.fit`` as of the end date
(the day's pass, the read of 56 days of counts, the smoothing, the demand),
what a daily sync pays, median of ``--repeat``; the **warm fit** —
``winmodel.fit`` with every day counted (a second sync the same day), median
of ``--repeat``. Goal: the fit adds under a second to a full-size sync.

``--mode tab`` measures what a sync pays for the ``Pricing`` tab's impact
columns (docs/design.md §7) instead: the tab computed as a sync computes it
(``compute_frame``: SQL, after-step, typing) with the shipped template, against
the same template without the impact columns (the after-step skipped: the
Pricing query alone), in the same run, each round alternating — the alone
tab; the **new day** (counts held to the day before, a fresh sync scratch: the
fit with its day's pass, the market's grid, the expected orders at the
current and suggested prices, typed); the **warm** tab (every day held).
Medians of ``--repeat`` rounds, after one untimed cold build; each figure is
wall-clock seconds and, in brackets, this process's CPU seconds (on SQLite
all of the work; on PostgreSQL the client's part only).

Run:  .venv/bin/python -P bench/winmodel_fit.py [--orders 60000] [--repeat 3] [--mode fit|tab]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from benchlib import scratch_postgres
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.kpis import pricing
from sheets_sync.kpis.query import QueryContext
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.schema import winmodel_days
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.tab_templates.loader import load_template
from sheets_sync.winmodel import FIT_DAYS, counts, fit

END = dt.date(2025, 6, 30)
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pricing_query(engine: Engine) -> None:
    ctx = QueryContext(as_of=END, params=dict(pricing.DEFAULTS))
    with engine.connect() as conn:
        conn.execute(pricing.build(ctx)).all()


def _fit(engine: Engine) -> None:
    with engine.connect() as conn:
        fit(conn, END)


def _cold(engine: Engine) -> None:
    counts.rebuild(engine, *counts.window(END, FIT_DAYS))


def _median(
    work: Callable[[Engine], None], engine: Engine, repeat: int, untimed: Callable[[Engine], None]
) -> float:
    seconds = []
    for _ in range(repeat):
        untimed(engine)
        start = time.perf_counter()
        work(engine)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _yesterday(engine: Engine) -> None:
    """Counts held to the day before the end date: the state a daily sync finds."""
    with engine.begin() as conn:
        conn.execute(delete(winmodel_days).where(winmodel_days.c.day == END))


def _nothing(engine: Engine) -> None:
    return None


def measure(url: str, orders: int, repeat: int) -> tuple[float, ...]:
    """(baseline, cold build, new day, warm fit) in seconds."""
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=END, days=120))
    try:
        base = _median(_pricing_query, engine, repeat, _nothing)
        cold = _median(_cold, engine, 1, _nothing)
        new_day = _median(_fit, engine, repeat, _yesterday)
        warm = _median(_fit, engine, repeat, _nothing)
        return base, cold, new_day, warm
    finally:
        engine.dispose()


def _pricing_templates() -> tuple[TabTemplate, TabTemplate]:
    """The shipped Pricing template, and the same without the impact columns."""
    from sheets_sync.kpis.registry import query_columns

    path = Path(__file__).resolve().parent.parent / "templates" / "tabs" / "pricing.yaml"
    full = load_template(path, query_columns())
    impact = set(pricing.QUERY.after.columns if pricing.QUERY.after else ())
    alone = tuple(c for c in full.columns if c.source not in impact)
    return full, dataclasses.replace(full, columns=alone)


def _tab(template: TabTemplate) -> Callable[[Engine], None]:
    def compute(engine: Engine) -> None:
        with engine.connect() as conn:  # a fresh scratch: one sync
            compute_frame(conn, template, build_context(conn, template, as_of=END))

    return compute


def _timed(work: Callable[[Engine], None], engine: Engine) -> tuple[float, float]:
    """(wall, CPU of this process) seconds: on SQLite the CPU is the whole work's, and
    far steadier than the wall clock on a loaded machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(engine)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_tab(url: str, orders: int, repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) medians of the Pricing alone, the tab at a new day, the tab warm;
    the three alternate in each round."""
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=END, days=120))
    full, alone = _pricing_templates()
    try:
        _cold(engine)
        rounds = []
        for _ in range(repeat):
            first = _timed(_tab(alone), engine)
            _yesterday(engine)
            rounds.append((first, _timed(_tab(full), engine), _timed(_tab(full), engine)))
        return [
            (statistics.median(r[i][0] for r in rounds), statistics.median(r[i][1] for r in rounds))
            for i in range(3)
        ]
    finally:
        engine.dispose()


def _tab_row(name: str, figures: list[tuple[float, float]]) -> str:
    (alone, alone_cpu), (new, new_cpu), (warm, warm_cpu) = figures
    return (
        f"| {name} | {alone:.2f} ({alone_cpu:.2f}) | {new:.2f} ({new_cpu:.2f}) "
        f"| {new - alone:+.2f} ({new_cpu - alone_cpu:+.2f}) | {warm:.2f} ({warm_cpu:.2f}) "
        f"| {warm - alone:+.2f} ({warm_cpu - alone_cpu:+.2f}) |"
    )


def _row(name: str, figures: tuple[float, ...]) -> str:
    base, cold, new_day, warm = figures
    return (
        f"| {name} | {base:.2f} | {cold:.2f} | {new_day:.2f} | {warm:.2f} | {new_day / base:.2f}× |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", choices=("fit", "tab"), default="fit")
    args = parser.parse_args()
    if args.mode == "tab":
        main_tab(args.orders, args.repeat)
        return
    print("| database | Pricing query (baseline) s | cold build s | new day: fit s "
          "| warm fit s | new day / baseline |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(f"sqlite:///{folder}/tradein.db", args.orders, args.repeat)
        print(_row("SQLite", figures), flush=True)
    with scratch_postgres(PG_ADMIN_URL) as url:
        print(_row("PostgreSQL", measure(url, args.orders, args.repeat)), flush=True)


def main_tab(orders: int, repeat: int) -> None:
    print("| database | Pricing alone s (CPU) | new day: with impact s (CPU) | added s (CPU) "
          "| warm: with impact s (CPU) | added s (CPU) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        print(_tab_row("SQLite", measure_tab(f"sqlite:///{folder}/t.db", orders, repeat)),
              flush=True)  # fmt: skip
    with scratch_postgres(PG_ADMIN_URL) as url:
        print(_tab_row("PostgreSQL", measure_tab(url, orders, repeat)), flush=True)


if __name__ == "__main__":
    main()
