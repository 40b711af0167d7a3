"""Benchmark: the next day's facts refresh (only what changed) vs a full rebuild.

    .venv/bin/python -P bench/facts.py [--orders 1000000] [--databases sqlite,postgresql]

Per database: the demo dataset (365 days, seed 42) is loaded, then "today" is
taken back out — every order event on the data's last day cleared, the orders
created that day deleted — and the facts are rebuilt: the state after
yesterday's sync. Then the day happens, the way the application writes it: its
orders are written back (each changed order deleted and re-inserted, so the
triggers log an old and a new image as for an update). Timed, in that order:

1. the writes themselves (trigger logging included);
2. the next sync's database work: ``facts.refresh`` (incremental: the logged
   changes as deltas), then every order-reading tab computed from the facts
   (KPI Daily, Weekly, Monthly, Seller Scorecard, Quality);
3. a full rebuild of the facts from every order, then the same tabs;

and ``facts.check`` confirms the incremental facts equal the full ones. Timed
too, after the refresh: what a sync adds to say the facts are right — the quick
check (daily totals per measure over the last 28 days against the orders,
:mod:`sheets_sync.facts.quick`) and the ``unknown``-category count
(:mod:`sheets_sync.facts.unknown`) — against the next-day DB time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from sheets_sync import facts  # noqa: E402
from sheets_sync.db import make_engine  # noqa: E402
from sheets_sync.demo import DemoSpec, generate  # noqa: E402
from sheets_sync.facts.quick import differences_in, window  # noqa: E402
from sheets_sync.facts.unknown import unknown_products  # noqa: E402
from sheets_sync.kpis.registry import query_columns  # noqa: E402
from sheets_sync.kpis.runner import build_context, compute_frame  # noqa: E402
from sheets_sync.tab_templates import load_template  # noqa: E402
from sheets_sync.vocabulary.orders import ORDER_EVENTS  # noqa: E402

sys.path.append(str(BENCH))
from benchlib import scratch_postgres  # noqa: E402

ROOT = BENCH.parent
END_DATE = dt.date(2026, 10, 31)
FACT_TABS = ("kpi_daily", "kpi_weekly", "kpi_monthly", "seller_scorecard", "quality")
PG_ADMIN = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def take_today_out(engine: Engine) -> int:
    """Keep the last day's orders aside, then remove that day from the orders."""
    last = f"'{END_DATE.isoformat()}'"
    touched = " OR ".join(f"{e} >= {last}" for e in ORDER_EVENTS)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_today"))
        conn.execute(
            text(f"CREATE TABLE bench_today AS SELECT * FROM tradein_orders WHERE {touched}")
        )
        conn.execute(text(f"DELETE FROM tradein_orders WHERE created_at >= {last}"))
        for event in ORDER_EVENTS[1:]:
            conn.execute(text(f"UPDATE tradein_orders SET {event} = NULL WHERE {event} >= {last}"))
        count = conn.execute(text("SELECT count(*) FROM bench_today")).scalar_one()
    facts.rebuild(engine)
    return int(count)


def write_today(engine: Engine) -> None:
    """The day's writes: each of its orders replaced by its state at the end of the day."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tradein_orders WHERE order_id IN "
                          "(SELECT order_id FROM bench_today)"))  # fmt: skip
        conn.execute(text("INSERT INTO tradein_orders SELECT * FROM bench_today"))


def compute_tabs(engine: Engine) -> int:
    templates = [load_template(ROOT / "templates" / "tabs" / f"{name}.yaml", query_columns())
                 for name in FACT_TABS]  # fmt: skip
    rows = 0
    with engine.connect() as conn:
        for template in templates:
            rows += len(compute_frame(conn, template, build_context(conn, template)).rows)
    return rows


def said_by_a_sync(engine: Engine) -> tuple[float, float]:
    """Seconds of the quick check and of the unknown-category count, as a sync runs them."""
    with engine.connect() as conn:
        differences, quick_s = _timed(differences_in, conn, *window(END_DATE))
        _, unknown_s = _timed(unknown_products, conn, END_DATE)
    if differences:
        raise SystemExit(f"the quick check found drift on fresh facts: {differences[:3]}")
    return quick_s, unknown_s


def run(db: str, url: str, orders: int) -> dict[str, Any]:
    engine = make_engine(url)
    spec = DemoSpec(orders=orders, days=365, end_date=END_DATE, seed=42)
    (_, load_s) = _timed(generate, engine, spec)
    today = take_today_out(engine)
    (_, write_s) = _timed(write_today, engine)
    refreshed, refresh_s = _timed(facts.refresh, engine)
    _, tabs_after_refresh_s = _timed(compute_tabs, engine)
    quick_s, unknown_s = said_by_a_sync(engine)
    reports = facts.check(engine)
    if not all(r.equal for r in reports):
        raise SystemExit(f"{db}: incremental facts differ from a full build: {reports}")
    _, rebuild_s = _timed(facts.rebuild, engine)
    rows, tabs_after_rebuild_s = _timed(compute_tabs, engine)
    engine.dispose()
    figures = {"db": db, "orders": orders, "load_s": load_s, "today_orders": today,
               "changes": refreshed.changes, "mode": refreshed.mode, "write_s": write_s,
               "refresh_s": refresh_s, "tabs_s": tabs_after_refresh_s, "rebuild_s": rebuild_s,
               "tabs_after_rebuild_s": tabs_after_rebuild_s, "rows": rows,
               "quick_s": quick_s, "unknown_s": unknown_s}  # fmt: skip
    print(f"  {db}: {figures}", flush=True)
    return figures


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | orders | today's orders (log rows) | writes (triggers on) | "
        "next-day refresh | tabs from facts | next-day DB time | full rebuild | full rebuild + "
        "tabs | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        nightly = r["refresh_s"] + r["tabs_s"]
        full = r["rebuild_s"] + r["tabs_after_rebuild_s"]
        lines.append(
            f"| {r['db']} | {r['orders']:,} | {r['today_orders']:,} ({r['changes']:,}) | "
            f"{r['write_s']:.2f} s | {r['refresh_s']:.2f} s | {r['tabs_s']:.2f} s | "
            f"{nightly:.2f} s | {r['rebuild_s']:.2f} s | {full:.2f} s | {full / nightly:.1f}× |"
        )
    return "\n".join(lines)


def said_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | orders | quick check (28 days) | unknown count | next-day DB time | "
        "quick check / next-day DB time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        nightly = r["refresh_s"] + r["tabs_s"]
        lines.append(
            f"| {r['db']} | {r['orders']:,} | {r['quick_s']:.3f} s | {r['unknown_s']:.4f} s | "
            f"{nightly:.2f} s | {100 * r['quick_s'] / nightly:.1f} % |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    for db in args.databases.split(","):
        print(f"{db}: {args.orders:,} orders", flush=True)
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results.append(run(db, f"sqlite:///{tmp}/facts.db", args.orders))
        else:
            with scratch_postgres(PG_ADMIN) as url:
                results.append(run(db, url, args.orders))
    print(table(results))
    print()
    print(said_table(results))


if __name__ == "__main__":
    main()
