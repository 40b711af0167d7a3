"""What the `Pricing opportunities` tab adds to a full-size sync, against the `Pricing` tab.

For SQLite (a temporary file) and PostgreSQL (a scratch database): the
full-size demo (``--orders``, seed 42, 120 days to 2025-06-30), the win
model's counts built once (untimed: a first sync's cost, see
``bench/winmodel_fit.py``), then in the same run, each a median of
``--repeat``, computed as a sync computes a tab (``build_context`` +
``compute_frame``, the shipped templates with the settings' guardrails):

- **Pricing**: the `Pricing` tab (the baseline);
- **alone**: the opportunities tab in a sync where no other tab has fitted the
  model — the fit (warm counts), the market's grid, the SQL and the step;
- **model shared**: the same with the model and the grid already in the
  sync's scratch space (what it adds once another tab has fitted them);
- **new day**: alone, the counts held to the day before (a daily sync).

Then ``--syncs`` full syncs of every tab into a workbook: the whole sync's
seconds and the tab's share of it (its compute time from the run's report).

Run:  .venv/bin/python -P bench/opportunities.py [--orders 60000] [--repeat 3] [--syncs 2]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchlib import scratch_postgres
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.jobs.run import sync_now
from sheets_sync.kpis.impact import market_grid
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.schema import winmodel_days
from sheets_sync.sync import load_all_templates
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.winmodel import fit

END = dt.date(2025, 6, 30)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TITLE = "Pricing opportunities"
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _tab(engine: Engine, template: TabTemplate, shared: dict[Any, Any]) -> int:
    with engine.begin() as conn:
        context = build_context(conn, template, as_of=END, shared=shared)
        return len(compute_frame(conn, template, context).rows)


def _timed(work: Callable[[], Any], repeat: int, before: Callable[[], Any] = lambda: None) -> float:
    seconds = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _modelled(engine: Engine, template: TabTemplate) -> dict[Any, Any]:
    """A scratch space holding the model and the grid, as another tab would leave it."""
    shared: dict[Any, Any] = {}
    with engine.begin() as conn:
        market_grid(conn, build_context(conn, template, as_of=END, shared=shared))
    return shared


def _yesterday(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(winmodel_days).where(winmodel_days.c.day == END))


def computes(engine: Engine, templates: dict[str, TabTemplate], repeat: int) -> list[float]:
    pricing, opportunities = templates["Pricing"], templates[TITLE]
    with engine.begin() as conn:
        fit(conn, END)  # the counts built once (a first sync's cost, not measured here)
    shared: dict[Any, Any] = {}
    return [
        _timed(lambda: _tab(engine, pricing, {}), repeat),
        _timed(lambda: _tab(engine, opportunities, {}), repeat),
        _timed(lambda: _tab(engine, opportunities, dict(shared)), repeat,
               lambda: shared.update(_modelled(engine, opportunities))),
        _timed(lambda: _tab(engine, opportunities, {}), repeat, lambda: _yesterday(engine)),
    ]  # fmt: skip


def syncs(engine: Engine, settings: Settings, count: int) -> list[tuple[float, float]]:
    """(whole sync s, the tab's compute s) per full sync into a fresh workbook."""
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(count):
            result = sync_now(engine, settings, f"xlsx:{folder}/book{i}.xlsx", as_of=END)
            tab = next(t for t in result.tabs if t.title == TITLE)
            figures.append((result.seconds, tab.compute_seconds))
    return figures


def measure(url: str, orders: int, repeat: int, count: int) -> str:
    engine = make_engine(url)
    generate(engine, DemoSpec(orders=orders, seed=42, end_date=END, days=120))
    settings = Settings.load(environ={}, database_url=url, templates_dir=TEMPLATES)
    templates = load_all_templates(settings)
    try:
        pricing, alone, shared, new_day = computes(engine, templates, repeat)
        rows = _tab(engine, templates[TITLE], {})
        full = syncs(engine, settings, count)
    finally:
        engine.dispose()
    whole = statistics.median(s for s, _ in full)
    tab = statistics.median(t for _, t in full)
    return (
        f"{pricing:.2f} | {alone:.2f} | {shared:.2f} | {new_day:.2f} | {alone / pricing:.2f}× | "
        f"{rows} | {whole:.1f} | {tab:.2f} ({tab / whole:.0%}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--syncs", type=int, default=2)
    args = parser.parse_args()
    print("| database | Pricing s | alone s | model shared s | new day s | alone / Pricing "
          "| rows | full sync s | the tab in it s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        line = measure(f"sqlite:///{folder}/tradein.db", args.orders, args.repeat, args.syncs)
        print(f"| SQLite | {line}", flush=True)
    with scratch_postgres(PG_ADMIN_URL) as url:
        print(f"| PostgreSQL | {measure(url, args.orders, args.repeat, args.syncs)}", flush=True)


if __name__ == "__main__":
    main()
