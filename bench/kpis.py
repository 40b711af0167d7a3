"""Benchmark: every KPI tab pushed down to SQL vs "raw tables into pandas, then groupby".

    .venv/bin/python bench/kpis.py [--orders 1000000] [--repeat 3] [--tabs pricing,all]
                                   [--databases sqlite,postgresql] [--keep] [--write-results]
                                   [--no-cold]

Generates the demo dataset (``sheets_sync.demo``) into a SQLite file and a
scratch PostgreSQL database, then, per database and per scope (each tab alone,
then ``all`` of them), runs each variant in its own subprocess ``--repeat`` times:

* ``pushdown``: the runner's ``compute_frame`` for the tab templates (the
  database aggregates; Python only types the result rows);
* ``pandas``: ``SELECT *`` of the raw tables the tabs need into pandas (each
  read once per run), then groupby / merge / rank (:mod:`kpis_baseline`);
* ``cold`` (``all`` only, unless ``--no-cold``): the pushdown right after an
  empty bulk load, untimed, before each run — the first sync after a bulk load
  that left the building to it: it builds the daily facts in full and
  recounts the win model's window before its tabs;
* ``after load`` (likewise): the same load followed by the loader's
  preparation (``demo.ready``, as ``demo-data`` runs it; its seconds reported
  apart) — the first sync after ``demo-data``.
  Both are compared with the same pandas median as the warm pushdown.

Tabs: KPI Daily, KPI Weekly, KPI Monthly, Seller Scorecard, Quality, Pricing,
Onboarding and the Dashboard's headline figures (``dashboard``: its 18 rows;
its charts only redraw other tabs). Sync Status reads ``sync_runs`` only and is left out. Wall time is
the median of the runs; peak memory is the subprocess's peak RSS (``VmHWM`` of
/proc/self/status) and that peak minus its RSS right after imports. Every tab
of both variants must be equal row for row, or the script exits naming the
first differing row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# bench/ holds scripts, not packages: keep it from shadowing the library (bench/sheets_sync.py).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import pandas  # noqa: E402, F401  (both variants pay the same imports)
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from sheets_sync import facts  # noqa: E402
from sheets_sync.db import make_engine  # noqa: E402
from sheets_sync.db_init import init_db  # noqa: E402
from sheets_sync.demo import DemoSpec, generate  # noqa: E402
from sheets_sync.demo.load import _indexes_rebuilt  # noqa: E402
from sheets_sync.demo.ready import prepare_first_sync  # noqa: E402
from sheets_sync.kpis.registry import query_columns  # noqa: E402
from sheets_sync.kpis.runner import build_context, compute_frame, default_as_of  # noqa: E402
from sheets_sync.schema import tradein_orders  # noqa: E402
from sheets_sync.tab_templates import TabTemplate, load_template  # noqa: E402

sys.path.append(str(BENCH))
import kpis_baseline  # noqa: E402
from kpis_report import ALL, RESULTS, section, table, write_section  # noqa: E402

ROOT = BENCH.parent
TABS = (
    "kpi_daily", "kpi_weekly", "kpi_monthly", "seller_scorecard", "quality", "pricing",
    "onboarding", "dashboard",
)  # fmt: skip
END_DATE = dt.date(2026, 10, 31)
PG_ADMIN = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_DB = os.environ.get("SHEETS_SYNC_BENCH_PG_DB", "sheets_sync_bench_kpis")
REBUILDS: dict[str, float] = {}
"""Database → seconds of the full facts build, measured once per run."""


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc (``VmRSS`` now, ``VmHWM`` its peak).

    ``getrusage``'s ``ru_maxrss`` would not do: Linux carries the parent's peak
    over ``fork`` + ``exec``, so every worker would report at least the parent's RSS.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (this benchmark needs Linux)")


def templates(names: tuple[str, ...]) -> list[TabTemplate]:
    return [
        load_template(ROOT / "templates" / "tabs" / f"{name}.yaml", query_columns())
        for name in names
    ]


def pushdown(url: str, as_of: dt.date, tabs: list[TabTemplate]) -> dict[str, list[Any]]:
    """The tabs as the sync engine computes them: the database aggregates, Python types rows."""
    engine = make_engine(url)
    frames = {}
    with engine.connect() as conn:
        for template in tabs:
            frame = compute_frame(conn, template, build_context(conn, template, as_of=as_of))
            frames[template.title] = kpis_baseline.blank_model_columns(list(frame.rows), template)
    engine.dispose()
    return frames


def baseline(url: str, as_of: dt.date, tabs: list[TabTemplate]) -> dict[str, list[Any]]:
    """The same tabs the pandas way; each raw table is read once per run, on first use."""
    engine = make_engine(url)
    frames = {}
    with engine.connect() as conn:
        tables = kpis_baseline.Tables(conn)
        for template in tabs:
            ctx = build_context(conn, template, as_of=as_of)  # the template's params and window
            params = {**ctx.params, "window_days": ctx.window_days}
            frames[template.title] = kpis_baseline.compute(tables, template, as_of, params)
    engine.dispose()
    return frames


def after_bulk_load(url: str) -> float:
    """Before a cold run (untimed): the state a bulk load leaves (an empty one: the
    triggers dropped and re-created, the facts marked unbuilt, the win model's days
    stale), so the next sync builds the facts in full and recounts the model's window."""
    engine = make_engine(url)
    with engine.begin() as conn, facts.bulk_load(conn):
        pass
    engine.dispose()
    return 0.0


def loader_prepared(url: str) -> float:
    """Before a run after a load that prepared the first sync (``demo.ready``, as
    ``demo-data`` now does): its seconds, reported apart (the loader's, not the sync's)."""
    after_bulk_load(url)
    engine = make_engine(url)
    seconds = prepare_first_sync(engine, lambda *_: None)
    engine.dispose()
    return seconds


VARIANTS = {"pushdown": pushdown, "pandas": baseline}
COLD, LOADED = "cold", "after load"
PREPARE = {COLD: after_bulk_load, LOADED: loader_prepared}
"""Untimed set-up before each run of a variant; what it took (the loader's share)."""


def worker(variant: str, url: str, as_of: dt.date, scope: str, repeat: int, out: Path) -> None:
    """Run one variant on ``scope`` (a tab or all of them) ``repeat`` times in this fresh process."""
    base_rss = _status_kb("VmRSS")
    tabs = templates(TABS if scope == ALL else (scope,))
    times, cpu, prepared, result = [], [], [], {}
    for _ in range(repeat):
        prepared.append(PREPARE.get(variant, lambda _url: 0.0)(url))
        started, cpu_started = time.perf_counter(), time.process_time()
        result = (pushdown if variant in PREPARE else VARIANTS[variant])(url, as_of, tabs)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    peak = _status_kb("VmHWM")
    out.write_bytes(
        pickle.dumps(
            {
                "times": times,
                "cpu": cpu,
                "prepared": prepared,
                "peak_kb": peak,
                "base_kb": base_rss,
                "tabs": result,
            }
        )
    )


def run_variant(variant: str, url: str, as_of: dt.date, scope: str, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.pickle"
        command = [sys.executable, __file__, "--worker", variant, "--url", url, "--scope", scope,
                   "--as-of", as_of.isoformat(), "--repeat", str(repeat), "--out", str(out)]  # fmt: skip
        subprocess.run(command, check=True)
        return pickle.loads(out.read_bytes())


def prepare_sqlite(path: Path, orders: int) -> str:
    url = f"sqlite:///{path}"
    if not _has_orders(url, orders):
        path.unlink(missing_ok=True)
        _generate(url, orders)
    return url


def prepare_postgresql(orders: int) -> str:
    url = make_url(PG_ADMIN).set(database=PG_DB).render_as_string(hide_password=False)
    if not _has_orders(url, orders):
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
        _generate(url, orders)
    return url


def drop_postgresql() -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    admin.dispose()


def _has_orders(url: str, orders: int) -> bool:
    """Reuse a dataset left by an earlier run (``--keep``) when it has the right size."""
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(tradein_orders)).scalar()
        engine.dispose()
    except Exception:
        return False
    return count == orders


REPLICATE = [1]
"""``--replicate K``: the demo data generated at 1/K of ``--orders``, then copied K-1 times."""


def _generate(url: str, orders: int) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, DemoSpec(orders=orders // REPLICATE[0], days=365, end_date=END_DATE, seed=42))
    if REPLICATE[0] > 1:
        _replicate(engine, REPLICATE[0])
    print(f"  generated {orders:,} orders in {time.perf_counter() - started:.1f} s", flush=True)
    engine.dispose()


def _replicate(engine: Any, copies: int) -> None:
    """PostgreSQL: K-1 copies of every order, ids suffixed, each event k minutes later.

    Ten times the orders over the same year, for a 10,000,000-order run whose
    generation fits this machine's memory (the generator holds every order in
    pandas); the fact table grows little (same days and cells), the orders 10×.
    """
    shifted = {c.name for c in tradein_orders.columns if c.name.endswith("_at")}
    columns = [
        "o.order_id || '-r' || k" if c.name == "order_id"
        else f"o.{c.name} + make_interval(mins => k)" if c.name in shifted
        else f"o.{c.name}"
        for c in tradein_orders.columns
    ]  # fmt: skip
    sql = (f"INSERT INTO tradein_orders SELECT {', '.join(columns)} FROM tradein_orders o "
           f"CROSS JOIN generate_series(1, {copies - 1}) AS k")  # fmt: skip
    with engine.begin() as conn, facts.bulk_load(conn), _indexes_rebuilt(conn, tradein_orders):
        conn.execute(text(sql))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE tradein_orders"))


def compare(
    db: str,
    url: str,
    repeat: int,
    scopes: list[str],
    variants: tuple[str, ...] = tuple(VARIANTS),
    cold: bool = True,
) -> list[dict[str, Any]]:
    """Both variants on one database, per tab and for all tabs; fails loudly when numbers differ.

    ``variants`` may be the pushdown alone, where the baseline cannot run (its
    ``SELECT *`` of 10,000,000 orders would not fit in this machine's memory).
    With ``cold``, all tabs are also run cold and after a prepared load.
    """
    engine = make_engine(url)
    with engine.connect() as conn:
        as_of = default_as_of(conn)
    init_db(engine)  # a dataset kept by an older run gets the facts tables and triggers
    rebuilt = facts.rebuild(engine)  # the one-off full build, timed; tabs then read fresh facts
    REBUILDS[db] = rebuilt.seconds
    print(f"  {db}: facts rebuilt in full in {rebuilt.seconds:.2f} s", flush=True)
    engine.dispose()
    summaries = []
    for scope in scopes:
        results = {v: run_variant(v, url, as_of, scope, repeat) for v in variants}
        for variant in PREPARE if cold and scope == ALL else ():
            results[variant] = run_variant(variant, url, as_of, scope, repeat)
            _check_equal(db, results[variant]["tabs"], results["pushdown"]["tabs"], variant)
            print(f"  {db} {scope} {variant}: {statistics.median(results[variant]['times']):.2f} s"
                  f"; the loader's share {statistics.median(results[variant]['prepared']):.2f} s",
                  flush=True)  # fmt: skip
        if "pandas" not in results:
            rows = sum(len(r) for r in results["pushdown"]["tabs"].values())
            summaries.append(_summary(db, scope, results, rows))
            print(f"  {db} {scope}: {rows:,} rows; pushdown "
                  f"{summaries[-1]['pushdown']['median_s']:.2f} s (no baseline)", flush=True)  # fmt: skip
            continue
        rows = _check_equal(db, results["pushdown"]["tabs"], results["pandas"]["tabs"])
        summaries.append(_summary(db, scope, results, rows))
        push, base = (summaries[-1][v]["median_s"] for v in ("pushdown", "pandas"))
        print(f"  {db} {scope}: numbers equal ({rows:,} rows); pushdown {push:.2f} s, "
              f"pandas {base:.2f} s", flush=True)  # fmt: skip
    return summaries


def _check_equal(
    db: str, pushed: dict[str, list[Any]], other_: dict[str, list[Any]], other_name: str = "pandas"
) -> int:
    """The row count when every tab's rows are equal, else exit naming the first difference."""
    for title, rows in pushed.items():
        other = other_[title]
        if rows != other:
            diff = next(((a, b) for a, b in zip(rows, other, strict=False) if a != b), ())
            raise SystemExit(
                f"{db} {title}: pushdown and {other_name} differ ({len(rows)} vs {len(other)} "
                f"rows); first: {diff}"
            )
    return sum(len(rows) for rows in pushed.values())


def _summary(db: str, scope: str, results: dict[str, dict[str, Any]], rows: int) -> dict[str, Any]:
    figures = {
        v: {"median_s": statistics.median(r["times"]), "times": r["times"],
            "cpu_s": statistics.median(r["cpu"]),
            "prepared_s": statistics.median(r.get("prepared") or [0.0]),
            "peak_mb": r["peak_kb"] / 1024, "delta_mb": (r["peak_kb"] - r["base_kb"]) / 1024}
        for v, r in results.items()
    }  # fmt: skip
    return {"db": db, "scope": scope, "rows": rows, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--tabs", default=",".join([*TABS, ALL]), help=f"any of {', '.join([*TABS, ALL])}"
    )
    parser.add_argument(
        "--sqlite-path",
        type=Path,
        default=Path(tempfile.gettempdir()) / "sheets_sync_bench_kpis.db",
    )
    parser.add_argument("--keep", action="store_true", help="keep the datasets for the next run")
    parser.add_argument(
        "--replicate", type=int, default=1,
        help="PostgreSQL: generate --orders/K demo orders, then copy them K-1 times",
    )  # fmt: skip
    parser.add_argument(
        "--no-baseline", action="store_true", help="run the pushdown only (e.g. 10,000,000 orders)"
    )
    parser.add_argument(
        "--no-cold", action="store_true", help="skip the all-tabs run with the facts built first"
    )
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scope", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        as_of = dt.date.fromisoformat(args.as_of)
        worker(args.worker, args.url, as_of, args.scope, args.repeat, args.out)
        return
    REPLICATE[0] = args.replicate
    scopes = args.tabs.split(",")
    if unknown := set(scopes) - {*TABS, ALL}:
        parser.error(f"--tabs: unknown {sorted(unknown)}; use any of {', '.join([*TABS, ALL])}")
    command = " ".join(["python bench/kpis.py", *sys.argv[1:]])
    summaries = []
    for db in args.databases.split(","):
        print(f"{db}: preparing {args.orders:,} orders", flush=True)
        url = (
            prepare_sqlite(args.sqlite_path, args.orders)
            if db == "sqlite"
            else prepare_postgresql(args.orders)
        )
        variants = ("pushdown",) if args.no_baseline else tuple(VARIANTS)
        summaries += compare(db, url, args.repeat, scopes, variants, cold=not args.no_cold)
        if not args.keep:
            args.sqlite_path.unlink(missing_ok=True) if db == "sqlite" else drop_postgresql()
    print(table(summaries))
    if args.write_results:
        write_section(section(summaries, args, command.strip(), REBUILDS))
        print(f"wrote the KPIs section of {RESULTS}")


if __name__ == "__main__":
    main()
