"""What the figures at the typed price cost: a sync with 5,000 pending `New price` cells, and a
preview's expected effect, on a full-size demo Pricing tab against the emulator.

Demo data (``--orders``, seed 42), the whole Pricing tab synced to
``sheets-sync emulator`` in its own process (the first sync fits the win model
and fills its count cache). Then, ``--rounds`` times: the **baseline**, a
re-sync of the tab with no pending edit (the frame carries the step, nothing
calls it); ``--edits`` `New price` cells typed (bench/pricing.py's edits:
whole groups +1 %); a re-sync that fills `Expected at new price 28d` and
`Cost change at new price 28d` on those rows (its Sheets requests counted);
then a preview of the same edits, its phases as the summary records them
(``expected_effect``: the model fitted again and the effect of the edits);
the edits are cleared by a real push between rounds. Also timed alone: the
step's preparation (``kpis.impact.market_grid``, warm count cache: what a
Pricing sync pays for these columns when no other column has made the grid)
and one call of the step with all the edits. Medians of the rounds.

Run:  .venv/bin/python -P bench/typed_price.py [--orders 60000] [--edits 5000] [--rounds 3]
      [--databases sqlite postgresql]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import statistics
import tempfile
import time
from typing import Any

from benchlib import counters, figure, start_emulator
from pricing import END, database, type_edits

from sheets_emulator.client import emulator_client
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import generate
from sheets_sync.demo.spec import DemoSpec
from sheets_sync.frame import PendingEdit
from sheets_sync.guards import as_of_day
from sheets_sync.jobs.run import sync_now
from sheets_sync.kpis.impact import market_grid
from sheets_sync.kpis.query import QueryContext
from sheets_sync.kpis.typed_price import prepare
from sheets_sync.pricing.push import push_pricing
from sheets_sync.sync import load_all_templates


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def bench(kind: str, url: str, orders: int, edits: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, tmp) as db_url:
        engine = make_engine(db_url)
        generate(engine, DemoSpec(orders=orders, days=120, end_date=END, seed=42))
        client = emulator_client(url)
        sheet_id = client.create("Trade-In Ops").id
        settings = Settings.load(environ={}, database_url=db_url, sheets_api_url=url)
        target = f"gsheets:{sheet_id}"
        sync_now(engine, settings, target, tabs=["Pricing"])  # fills the count cache

        def sync() -> None:
            sync_now(engine, settings, target, tabs=["Pricing"])

        runs = []
        for _ in range(rounds):
            baseline, _ = timed(sync)
            typed = type_edits(client, sheet_id, edits)
            before = counters(url)
            with_edits, _ = timed(sync)
            requests = counters(url)["requests"] - before["requests"]
            preview = push_pricing(engine, settings, target, "bench@example.com", dry_run=True)
            assert preview.effect is not None and preview.effect.missing is None, preview.effect
            runs.append({
                "edits": typed, "sync, none pending (baseline) s": baseline,
                "sync, edits pending s": with_edits, "sync requests": requests,
                **{f"preview {k} s": v for k, v in preview.phases.items()},
                **alone(engine, settings, preview.effect.edits),
            })  # fmt: skip
            push_pricing(engine, settings, target, "bench@example.com")  # clears them
        engine.dispose()
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {"database": kind, **medians}


def alone(engine: Any, settings: Settings, effects: list[Any]) -> dict[str, float]:
    """The step's preparation and one call with every edit, timed on their own."""
    template = load_all_templates(settings)["Pricing"]
    with engine.begin() as conn:
        ctx = QueryContext(as_of_day(conn, None), params=template.params)
        grid_s, _ = timed(lambda: market_grid(conn, ctx))
        ctx = QueryContext(ctx.as_of, params=template.params)  # a fresh sync: grid made again
        prepare_s, compute = timed(lambda: prepare(conn, ctx))
    asked = [
        PendingEdit(dict(zip(("seller_id", "product_id", "grade", "country"), e.key, strict=True)),
                    {"new_price": "100.00"})
        for e in effects
    ]  # fmt: skip
    call_s, _ = timed(lambda: compute(asked))
    return {"market_grid alone s": grid_s, "prepare s": prepare_s, "one call s": call_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--edits", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    proc, url = start_emulator()
    try:
        results = [bench(k, url, args.orders, args.edits, args.rounds) for k in args.databases]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for result in results:
        print("  ".join(f"{k}={figure(v)}" for k, v in result.items()))


if __name__ == "__main__":
    main()
