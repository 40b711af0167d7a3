"""Benchmark: where the full facts build spends its time, statement by statement.

    .venv/bin/python -P bench/facts_build.py --url URL [--repeat 3] [--branches]

Runs ``facts.rebuild`` (the cold path's build: every order, one ``INSERT …
SELECT`` per fact table) ``--repeat`` times on an existing database (a dataset
``bench/kpis.py --keep`` left, for instance) and prints, per statement, the
median wall time and CPU time: this process's on SQLite (the database runs in
it), the server backend's on PostgreSQL (read from ``/proc``, so the server must
run on this machine; parallel workers, if any, are not counted). CPU seconds are
what a busy machine inflates least; compare variants by them.

``--branches`` also times, once each, every event's grouped branch of the
build on its own, and the "sort floor": the same grouping keys over the same
rows with nothing but ``count(*)`` — the least a database that groups by
sorting (SQLite) can spend on that branch, whatever the measures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from sheets_sync import facts  # noqa: E402
from sheets_sync.db import make_engine  # noqa: E402
from sheets_sync.db_init import init_db  # noqa: E402
from sheets_sync.facts.maintain import exclusive  # noqa: E402
from sheets_sync.facts.measures import _branch, event_values  # noqa: E402
from sheets_sync.schema import tradein_orders  # noqa: E402
from sheets_sync.vocabulary.orders import ORDER_EVENTS  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(conn: Connection) -> float:
    """CPU time of whoever runs this connection's SQL: this process, or its server backend."""
    if conn.dialect.name == "sqlite":
        return time.process_time()
    pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def statement_times(engine: Engine) -> Iterator[list[tuple[str, float, float]]]:
    """(statement's first words, wall s, CPU s) of every statement run meanwhile."""
    found: list[tuple[str, float, float]] = []

    def before(conn: Connection, *args: Any) -> None:
        conn.info["started"] = (time.perf_counter(), cpu_seconds(conn))

    def after(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        wall, cpu = conn.info.pop("started")
        name = " ".join(statement.split()[:3])
        found.append((name, time.perf_counter() - wall, cpu_seconds(conn) - cpu))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def rebuilds(engine: Engine, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Statement → (wall, CPU) of each rebuild; the whole rebuild under ``total``."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        with statement_times(engine) as found:
            started = time.perf_counter()
            facts.rebuild(engine)
            total = time.perf_counter() - started
        for name, wall, cpu in found:
            if wall > 0.01:
                runs.setdefault(name, []).append((wall, cpu))
        runs.setdefault("total", []).append((total, sum(c for _, _, c in found)))
    return runs


def branches(engine: Engine) -> list[tuple[str, float, float, float, float]]:
    """Per event: its branch's wall and CPU, then the sort floor's, each read to the end."""
    values = event_values(tradein_orders)
    found = []
    with exclusive(engine) as conn:  # the build's own session settings (work_mem, jit)
        for name in ORDER_EVENTS:
            branch = _branch(tradein_orders, name, values[name])
            keys = list(branch.selected_columns)[:4]
            floor = branch.with_only_columns(*keys, func.count().label("n")).subquery()
            whole = branch.subquery()
            # Summed outside, so no database skips computing a column nobody reads.
            queries = [select(*(func.sum(c) for c in list(q.c)[4:])) for q in (whole, floor)]
            timed = [_timed(conn, q) for q in queries]
            found.append((name, *timed[0], *timed[1]))
    return found


def _timed(conn: Connection, query: Any) -> tuple[float, float]:
    cpu, wall = cpu_seconds(conn), time.perf_counter()
    conn.execute(query).all()
    return time.perf_counter() - wall, cpu_seconds(conn) - cpu


def report(runs: dict[str, list[tuple[float, float]]]) -> str:
    lines = ["| statement | wall s (median; runs) | CPU s (median; runs) |", "|---|---:|---:|"]
    for name, figures in runs.items():
        walls, cpus = [w for w, _ in figures], [c for _, c in figures]
        lines.append(f"| {name} | {_median(walls)} | {_median(cpus)} |")
    return "\n".join(lines)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"


def branch_report(found: list[tuple[str, float, float, float, float]]) -> str:
    lines = ["| event | branch wall / CPU s | sort floor wall / CPU s |", "|---|---:|---:|"]
    for name, wall, cpu, floor_wall, floor_cpu in found:
        lines.append(f"| {name} | {wall:.2f} / {cpu:.2f} | {floor_wall:.2f} / {floor_cpu:.2f} |")
    lines.append(f"| **sum** | {sum(f[1] for f in found):.2f} / {sum(f[2] for f in found):.2f} | "
                 f"{sum(f[3] for f in found):.2f} / {sum(f[4] for f in found):.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a database with orders (SQLAlchemy URL)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--branches", action="store_true", help="time each event branch alone")
    args = parser.parse_args()
    engine = make_engine(args.url)
    init_db(engine)
    with engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(tradein_orders)).scalar()
    print(f"{engine.dialect.name}: {orders:,} orders, load average {os.getloadavg()[0]:.1f}")
    print(report(rebuilds(engine, args.repeat)))
    if args.branches:
        print()
        print(branch_report(branches(engine)))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
