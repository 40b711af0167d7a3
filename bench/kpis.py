"""Benchmark: KPI Daily / Weekly / Monthly pushed down to SQL vs "all orders into pandas".

    .venv/bin/python bench/kpis.py [--orders 1000000] [--repeat 3] [--write-results]

Generates the demo dataset (``sheets_sync.demo``) into a SQLite file and a
scratch PostgreSQL database, then, per database, runs each variant in its own
subprocess ``--repeat`` times:

* ``pushdown``: the runner's ``compute_frame`` for the three KPI templates (the
  database aggregates; Python only types the result rows);
* ``pandas``: ``SELECT *`` orders joined to products and sellers into pandas,
  then groupby (:mod:`kpis_baseline`).

Wall time is the median of the runs; peak memory is the subprocess's peak RSS
(``VmHWM`` of /proc/self/status) and that peak minus its RSS right after imports. The three tabs of both variants must be equal row for row.
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

from sheets_sync.db import make_engine  # noqa: E402
from sheets_sync.demo import DemoSpec, generate  # noqa: E402
from sheets_sync.kpis.registry import query_columns  # noqa: E402
from sheets_sync.kpis.runner import build_context, compute_frame, default_as_of  # noqa: E402
from sheets_sync.schema import tradein_orders  # noqa: E402
from sheets_sync.templates import load_template  # noqa: E402

sys.path.append(str(BENCH))
import kpis_baseline  # noqa: E402

ROOT = BENCH.parent
TABS = ("kpi_daily", "kpi_weekly", "kpi_monthly")
END_DATE = dt.date(2026, 10, 31)
PG_ADMIN = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_DB = "sheets_sync_bench_kpis"
RESULTS = ROOT / "bench" / "RESULTS.md"


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


def pushdown(url: str, as_of: dt.date) -> dict[str, list[Any]]:
    """The three KPI tabs as the sync engine computes them."""
    engine = make_engine(url)
    frames = {}
    with engine.connect() as conn:
        for name in TABS:
            template = load_template(ROOT / "templates" / "tabs" / f"{name}.yaml", query_columns())
            frame = compute_frame(conn, template, build_context(conn, template, as_of=as_of))
            frames[template.title] = list(frame.rows)
    engine.dispose()
    return frames


def baseline(url: str, as_of: dt.date) -> dict[str, list[Any]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        tabs = kpis_baseline.all_tabs(conn, as_of)
    engine.dispose()
    return tabs


VARIANTS = {"pushdown": pushdown, "pandas": baseline}


def worker(variant: str, url: str, as_of: dt.date, repeat: int, out: Path) -> None:
    """Run one variant ``repeat`` times in this (fresh) process and pickle what it measured."""
    base_rss = _status_kb("VmRSS")
    times, result = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        result = VARIANTS[variant](url, as_of)
        times.append(time.perf_counter() - started)
    peak = _status_kb("VmHWM")
    out.write_bytes(
        pickle.dumps({"times": times, "peak_kb": peak, "base_kb": base_rss, "tabs": result})
    )


def run_variant(variant: str, url: str, as_of: dt.date, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.pickle"
        command = [sys.executable, __file__, "--worker", variant, "--url", url,
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


def _generate(url: str, orders: int) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, DemoSpec(orders=orders, days=365, end_date=END_DATE, seed=42))
    print(f"  generated {orders:,} orders in {time.perf_counter() - started:.1f} s", flush=True)
    engine.dispose()


def compare(db: str, url: str, repeat: int) -> list[dict[str, Any]]:
    """Both variants on one database; fails loudly when their numbers differ."""
    engine = make_engine(url)
    with engine.connect() as conn:
        as_of = default_as_of(conn)
    engine.dispose()
    results = {v: run_variant(v, url, as_of, repeat) for v in VARIANTS}
    for title, rows in results["pushdown"]["tabs"].items():
        other = results["pandas"]["tabs"][title]
        if rows != other:
            diff = next((a, b) for a, b in zip(rows, other, strict=False) if a != b) if rows else ()
            raise SystemExit(
                f"{db} {title}: pushdown and pandas differ ({len(rows)} vs {len(other)} rows); first: {diff}"
            )
    rows_count = {t: len(r) for t, r in results["pushdown"]["tabs"].items()}
    print(f"  {db}: numbers equal ({rows_count})", flush=True)
    return [_summary(db, v, results[v], rows_count) for v in VARIANTS]


def _summary(db: str, variant: str, result: dict[str, Any], rows: dict[str, int]) -> dict[str, Any]:
    return {
        "db": db, "variant": variant, "median_s": statistics.median(result["times"]),
        "times": result["times"], "peak_mb": result["peak_kb"] / 1024,
        "delta_mb": (result["peak_kb"] - result["base_kb"]) / 1024, "rows": rows,
    }  # fmt: skip


def table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| database | variant | wall time (median) | runs | peak RSS | peak RSS above imports |",
        "|---|---|---:|---|---:|---:|",
    ]
    for s in summaries:
        runs = ", ".join(f"{t:.2f}" for t in s["times"])
        lines.append(f"| {s['db']} | {s['variant']} | {s['median_s']:.2f} s | {runs} | "
                     f"{s['peak_mb']:.0f} MB | {s['delta_mb']:.0f} MB |")  # fmt: skip
    for db in dict.fromkeys(s["db"] for s in summaries):
        push, base = (
            next(s for s in summaries if s["db"] == db and s["variant"] == v) for v in VARIANTS
        )
        lines.append("")
        lines.append(
            f"{db}: pushdown is {base['median_s'] / push['median_s']:.1f}× faster and uses "
            f"{push['delta_mb'] / base['delta_mb']:.1%} of the baseline's memory above imports."
        )
    return "\n".join(lines)


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
    rows = summaries[0]["rows"]
    return "\n".join([
        "## KPIs",
        "",
        f"KPI Daily / Weekly / Monthly over {args.orders:,} demo orders (365 days, seed 42; "
        f"{', '.join(f'{t}: {n:,} rows' for t, n in rows.items())}): SQL pushdown "
        "(`compute_frame` of the three templates) vs the obvious baseline (`SELECT *` orders "
        "joined to products and sellers into pandas, then groupby; `bench/kpis_baseline.py`). "
        f"Wall time: median of {args.repeat} runs in one subprocess per variant; memory: that "
        "subprocess's peak RSS (`VmHWM` in /proc/self/status), and the same minus its RSS "
        "after imports. Both variants' rows are compared with `==` and were equal.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPUs, shared with other jobs; {dt.date.today().isoformat()}.",
        "",
        table(summaries),
        "",
        "Notes (separate ad-hoc measurements on the same 1,000,000-order data, not printed by "
        "the command): PostgreSQL 15 JIT-compiled the KPI Daily query for 11.4 s of its 11.5 s "
        "(`EXPLAIN ANALYZE`), so the runner sets `SET LOCAL jit = off` for built-in queries. "
        "Indexes on the other event timestamps do not pay off, so none were added to the schema: "
        "one 90-day SQLite branch took 0.30 s by full scan vs 0.31 s with an index on `paid_at` "
        "(and 0.31 s vs 0.37 s `NOT INDEXED` on the existing `created_at` index); PostgreSQL "
        "reads each branch by sequential scan in ~0.15 s. SQLite's cost is its GROUP BY sorter "
        "(no hash aggregation), so KPI Weekly / Monthly first group the orders once by the "
        "combination of their events' periods, then sum that compact table per event family: "
        "KPI Monthly went from 5.9 to 3.8 s on SQLite and 2.3 to 1.3 s on PostgreSQL. KPI Daily "
        "keeps one grouped scan per event family (the compact table does not pay off by day: "
        "2.4 vs 2.2 s on SQLite).",
        "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--sqlite-path",
        type=Path,
        default=Path(tempfile.gettempdir()) / "sheets_sync_bench_kpis.db",
    )
    parser.add_argument("--keep", action="store_true", help="keep the datasets for the next run")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, dt.date.fromisoformat(args.as_of), args.repeat, args.out)
        return
    command = " ".join(["python bench/kpis.py", *sys.argv[1:]])
    summaries = []
    for db in args.databases.split(","):
        print(f"{db}: preparing {args.orders:,} orders", flush=True)
        url = (
            prepare_sqlite(args.sqlite_path, args.orders)
            if db == "sqlite"
            else prepare_postgresql(args.orders)
        )
        summaries += compare(db, url, args.repeat)
        if not args.keep:
            args.sqlite_path.unlink(missing_ok=True) if db == "sqlite" else drop_postgresql()
    print(table(summaries))
    if args.write_results:
        write_section(section(summaries, args, command.strip()))
        print(f"wrote the KPIs section of {RESULTS}")


if __name__ == "__main__":
    main()
