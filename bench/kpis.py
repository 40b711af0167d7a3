"""Benchmark: every KPI tab pushed down to SQL vs "raw tables into pandas, then groupby".

    .venv/bin/python bench/kpis.py [--orders 1000000] [--repeat 3] [--tabs pricing,all]
                                   [--databases sqlite,postgresql] [--keep] [--write-results]

Generates the demo dataset (``sheets_sync.demo``) into a SQLite file and a
scratch PostgreSQL database, then, per database and per scope (each tab alone,
then ``all`` of them), runs each variant in its own subprocess ``--repeat`` times:

* ``pushdown``: the runner's ``compute_frame`` for the tab templates (the
  database aggregates; Python only types the result rows);
* ``pandas``: ``SELECT *`` of the raw tables the tabs need into pandas (each
  read once per run), then groupby / merge / rank (:mod:`kpis_baseline`).

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
from sheets_sync.kpis.registry import query_columns  # noqa: E402
from sheets_sync.kpis.runner import build_context, compute_frame, default_as_of  # noqa: E402
from sheets_sync.schema import tradein_orders  # noqa: E402
from sheets_sync.tab_templates import TabTemplate, load_template  # noqa: E402

sys.path.append(str(BENCH))
import kpis_baseline  # noqa: E402

ROOT = BENCH.parent
TABS = (
    "kpi_daily", "kpi_weekly", "kpi_monthly", "seller_scorecard", "quality", "pricing",
    "onboarding", "dashboard",
)  # fmt: skip
ALL = "all"
END_DATE = dt.date(2026, 10, 31)
PG_ADMIN = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_DB = os.environ.get("SHEETS_SYNC_BENCH_PG_DB", "sheets_sync_bench_kpis")
RESULTS = ROOT / "bench" / "RESULTS.md"
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
            frames[template.title] = list(frame.rows)
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


VARIANTS = {"pushdown": pushdown, "pandas": baseline}


def worker(variant: str, url: str, as_of: dt.date, scope: str, repeat: int, out: Path) -> None:
    """Run one variant on ``scope`` (a tab or all of them) ``repeat`` times in this fresh process."""
    base_rss = _status_kb("VmRSS")
    tabs = templates(TABS if scope == ALL else (scope,))
    times, cpu, result = [], [], {}
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = VARIANTS[variant](url, as_of, tabs)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    peak = _status_kb("VmHWM")
    out.write_bytes(
        pickle.dumps(
            {"times": times, "cpu": cpu, "peak_kb": peak, "base_kb": base_rss, "tabs": result}
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
    db: str, url: str, repeat: int, scopes: list[str], variants: tuple[str, ...] = tuple(VARIANTS)
) -> list[dict[str, Any]]:
    """Both variants on one database, per tab and for all tabs; fails loudly when numbers differ.

    ``variants`` may be the pushdown alone, where the baseline cannot run (its
    ``SELECT *`` of 10,000,000 orders would not fit in this machine's memory).
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
        if "pandas" not in results:
            rows = sum(len(r) for r in results["pushdown"]["tabs"].values())
            summaries.append(_summary(db, scope, results, rows))
            print(f"  {db} {scope}: {rows:,} rows; pushdown "
                  f"{summaries[-1]['pushdown']['median_s']:.2f} s (no baseline)", flush=True)  # fmt: skip
            continue
        rows = _check_equal(db, results["pushdown"]["tabs"], results["pandas"]["tabs"])
        summaries.append(_summary(db, scope, results, rows))
        push, base = (summaries[-1][v]["median_s"] for v in VARIANTS)
        print(f"  {db} {scope}: numbers equal ({rows:,} rows); pushdown {push:.2f} s, "
              f"pandas {base:.2f} s", flush=True)  # fmt: skip
    return summaries


def _check_equal(db: str, pushed: dict[str, list[Any]], pandas_: dict[str, list[Any]]) -> int:
    """The row count when every tab's rows are equal, else exit naming the first difference."""
    for title, rows in pushed.items():
        other = pandas_[title]
        if rows != other:
            diff = next(((a, b) for a, b in zip(rows, other, strict=False) if a != b), ())
            raise SystemExit(
                f"{db} {title}: pushdown and pandas differ ({len(rows)} vs {len(other)} rows); "
                f"first: {diff}"
            )
    return sum(len(rows) for rows in pushed.values())


def _summary(db: str, scope: str, results: dict[str, dict[str, Any]], rows: int) -> dict[str, Any]:
    figures = {
        v: {"median_s": statistics.median(r["times"]), "times": r["times"],
            "cpu_s": statistics.median(r["cpu"]),
            "peak_mb": r["peak_kb"] / 1024, "delta_mb": (r["peak_kb"] - r["base_kb"]) / 1024}
        for v, r in results.items()
    }  # fmt: skip
    return {"db": db, "scope": scope, "rows": rows, **figures}


def _label(scope: str) -> str:
    return "**all tabs**" if scope == ALL else TITLES[scope]


TITLES = {
    "kpi_daily": "KPI Daily", "kpi_weekly": "KPI Weekly", "kpi_monthly": "KPI Monthly",
    "seller_scorecard": "Seller Scorecard", "quality": "Quality", "pricing": "Pricing",
    "onboarding": "Onboarding", "dashboard": "Dashboard (headline)",
}  # fmt: skip


def table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| database | query | rows | pushdown (median; runs) | pandas (median; runs) | "
        "speed-up | pushdown peak RSS (above imports) | pandas peak RSS (above imports) | "
        "CPU s, pushdown / pandas (SQLite) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        push, base = s["pushdown"], s.get("pandas")
        if base is None:
            cells = [s["db"], _label(s["scope"]), f"{s['rows']:,}", _seconds(push), "—", "—",
                     _memory(push), "—", "—"]  # fmt: skip
        else:
            cells = [s["db"], _label(s["scope"]), f"{s['rows']:,}", _seconds(push), _seconds(base),
                     f"{base['median_s'] / push['median_s']:.1f}×", _memory(push), _memory(base),
                     _cpu(s["db"], push, base)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    for s in summaries:
        if s["scope"] == ALL and "pandas" in s:
            push, base = s["pushdown"], s["pandas"]
            lines += ["", f"{s['db']}, all tabs: pushdown is {base['median_s'] / push['median_s']:.1f}× "
                      f"faster and uses {push['delta_mb'] / base['delta_mb']:.1%} of the baseline's "
                      "memory above imports."]  # fmt: skip
    return "\n".join(lines)


def _cpu(db: str, push: dict[str, Any], base: dict[str, Any]) -> str:
    """This process's CPU seconds: on SQLite the database runs in it, so both sides' whole
    work is counted and the ratio holds on a busy machine; on PostgreSQL the server's
    CPU is in another process, so the figure would flatter the pushdown (not shown)."""
    if db != "sqlite" or "cpu_s" not in push:
        return "—"
    ratio = base["cpu_s"] / push["cpu_s"] if push["cpu_s"] else float("inf")
    return f"{push['cpu_s']:.2f} / {base['cpu_s']:.2f} ({ratio:.1f}×)"


def _seconds(figures: dict[str, Any]) -> str:
    runs = ", ".join(f"{t:.2f}" for t in figures["times"])
    return f"{figures['median_s']:.2f} s ({runs})"


def _memory(figures: dict[str, Any]) -> str:
    return f"{figures['peak_mb']:.0f} MB ({figures['delta_mb']:.0f} MB)"


def write_section(body: str) -> None:
    """Replace (or add) the ``## KPIs`` section of RESULTS.md, leaving others' sections alone."""
    text_ = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    lines = text_.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "## KPIs"), None)
    if start is None:
        lines += ["", *body.splitlines()]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = [*body.splitlines(), ""]
    RESULTS.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def section(summaries: list[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    rebuilds = "; ".join(f"{db} {seconds:.1f} s" for db, seconds in REBUILDS.items())
    return "\n".join([
        "## KPIs",
        "",
        f"Every order-reading KPI tab over {args.orders:,} demo orders (365 days, seed 42) — "
        "KPI Daily / Weekly / Monthly, Seller Scorecard, Quality, Pricing, the Dashboard's "
        "headline figures — plus Onboarding: "
        "the product's way (`compute_frame` of each template: KPI Daily / Weekly / Monthly, "
        "Seller Scorecard and Quality roll up the daily fact table `kpi_daily_facts`, which "
        "the runner first brings up to date — nothing pending here; Pricing, Onboarding and "
        "the Dashboard headline (one grouped select over the raw orders) query their tables) vs the obvious baseline (`SELECT *` of the raw tables a tab needs "
        "into pandas, orders joined to their category and seller name, then groupby / merge / "
        "rank; `bench/kpis_baseline.py`, one function per KPI). Each row of the table is its "
        "own subprocess per variant: one tab alone (the pandas side reads the tables that tab "
        "needs), or **all tabs** in one go (pandas reads each table once and shares it). Wall "
        f"time: median of {args.repeat} runs; memory: that subprocess's peak RSS (`VmHWM`), and "
        "in brackets the same minus its RSS after imports. Every tab's rows are compared with "
        "`==` and were equal.",
        "",
        f"The facts themselves: a full build from every order took {rebuilds} in this run "
        "(once per database: at bulk load, or `sheets-sync facts rebuild`); afterwards each "
        "sync applies only the logged changes (`bench/facts.py`, section *Daily facts*).",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPUs, shared with other helpers' jobs (load average often "
        f"above 5): ratios are same-run; {dt.date.today().isoformat()}.",
        "",
        table(summaries),
        "",
        "PostgreSQL 15 JIT-compiled the old raw-order KPI queries for seconds (11.4 s of "
        "11.5 s once), so the runner and the facts refresh set `SET LOCAL jit = off`.",
        "",
    ])  # fmt: skip


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
        summaries += compare(db, url, args.repeat, scopes, variants)
        if not args.keep:
            args.sqlite_path.unlink(missing_ok=True) if db == "sqlite" else drop_postgresql()
    print(table(summaries))
    if args.write_results:
        write_section(section(summaries, args, command.strip()))
        print(f"wrote the KPIs section of {RESULTS}")


if __name__ == "__main__":
    main()
