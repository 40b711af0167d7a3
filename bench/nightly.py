"""The nightly run at company scale: ``GET /cron/nightly`` over many spreadsheets, one instance.

PostgreSQL (a scratch database on the local server) gets ``--orders`` demo
orders; a registry of ``--sheets`` spreadsheets: the head office (every tab,
every market), market teams (every tab, their countries) and pricing-only
sheets (``tabs: [Pricing]``). ``sheets-sync emulator`` in its own process
enforces Google's default quota (60 reads and 60 writes per window per user)
over a window shortened to ``--window`` seconds; the app's governor is told
the same window (``SHEETS_SYNC_QUOTA_WINDOW_SECONDS``). The app runs as
app.yaml starts it (bench/webhook.py's gunicorn helpers, app.yaml's job and
memory settings, ``GAE_ENV`` set so the ``X-Appengine-Cron`` header is the
scheduler's, as on App Engine, whose front end strips it from outside calls).

The bench calls ``GET /cron/nightly`` while a thread sends a signed menu
refresh (``POST /hooks/refresh``, HMAC as the add-on does) of a random
registered sheet every ``--refresh-every`` seconds, until every nightly run
has ended. It reports: wall time to the last nightly sheet done; every run's
status; Sheets requests per window by kind (the emulator's counters sampled
once per window: the busiest window, against the quota) and the 429s the
emulator answered; the governor's wait; the peak memory of the whole
instance (gunicorn master, workers, fork server and every sync child: sums
of RSS and PSS, bench/instance_memory.py's sampler); the database's active
time (``pg_stat_database.active_time``); and, for a sample of sheets (the
head office and the first market team), the KPI tabs read back from the
emulator against the pandas baseline of bench/kpis_baseline.py.

Run:  .venv/bin/python -P bench/nightly.py [--orders 10000000] [--days 120] [--sheets 30]
        [--window 60] [--refresh-every 2] [--compare "KPI Weekly,KPI Monthly"]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))

import argparse
import os
import random
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import instance_memory
import requests
from benchlib import counters, figure, scratch_postgres, start_emulator, tool
from nightly_check import compare_sheets

from sheets_emulator.client import emulator_client
from sheets_emulator.kinds import READ_KINDS
from sheets_sync.db import make_engine
from sheets_sync.demo.spec import MARKETS
from sheets_sync.jobs import runs
from sheets_sync.quota import usage

bench_webhook = instance_memory.bench_webhook
GOOGLE_QUOTA = 60
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENDED = ("succeeded", "failed")


@dataclass
class Sheet:
    id: str
    name: str
    role: str  # "head office" | "market" | "pricing"
    countries: list[str] = field(default_factory=list)

    def entry(self) -> str:
        lines = f"  - id: {self.id}\n    name: {self.name}\n"
        if self.countries:
            lines += f"    countries: [{', '.join(self.countries)}]\n"
        if self.role == "pricing":
            lines += "    tabs: [Pricing]\n"
        return lines


def plan_sheets(count: int) -> list[tuple[str, str, list[str]]]:
    """(name, role, countries): one head office, two thirds market teams, the rest pricing."""
    markets = max(1, (count - 1) * 2 // 3) if count > 1 else 0
    out: list[tuple[str, str, list[str]]] = [("Head office", "head office", [])]
    for n in range(markets):
        countries = [MARKETS[n % len(MARKETS)]]
        if n >= len(MARKETS):  # more teams than markets: pairs, as a region's team would
            countries.append(MARKETS[(n + 1) % len(MARKETS)])
        out.append((f"Market team {n + 1} {'+'.join(countries)}", "market", countries))
    for n in range(count - 1 - markets):
        out.append((f"Pricing {n + 1}", "pricing", []))
    return out


def create_sheets(sheets_url: str, count: int) -> list[Sheet]:
    client = emulator_client(sheets_url)
    return [
        Sheet(client.create(name).id, name, role, countries)
        for name, role, countries in plan_sheets(count)
    ]


def app_env(tmp: Path, db_url: str, sheets_url: str, sheets: list[Sheet], window: float) -> Any:
    env = bench_webhook.app_env(str(tmp), db_url, sheets_url, sheets[0].id)
    Path(env["SHEETS_SYNC_CONFIG_FILE"]).write_text(
        "spreadsheets:\n" + "".join(s.entry() for s in sheets)
    )
    app_vars = bench_webhook.app_yaml()["env_variables"]
    for name in ("SHEETS_SYNC_MEMORY_BUDGET_MB", "SHEETS_SYNC_SYNC_MEMORY_MB"):
        if name in app_vars:
            env[name] = str(app_vars[name])
    env["SHEETS_SYNC_MEMORY_BUDGET_DIR"] = str(tmp / "memory-budget")
    env["SHEETS_SYNC_QUOTA_WINDOW_SECONDS"] = str(window)
    env["GAE_ENV"] = "standard"  # X-Appengine-Cron is the scheduler's, as on App Engine
    return env


class WindowSampler:
    """The emulator's Sheets requests per window, by kind: its counters read once per window."""

    def __init__(self, sheets_url: str, window: float) -> None:
        self.url, self.window = sheets_url, window
        self.windows: list[dict[str, int]] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _totals(self) -> dict[str, int]:
        sent = {"read": 0, "write": 0}
        for kind, count in counters(self.url)["by_kind"].items():
            if kind.startswith("spreadsheets."):
                sent["read" if kind in READ_KINDS else "write"] += count
        return sent

    def _run(self) -> None:
        before = self._totals()
        while self.running:
            time.sleep(self.window)
            now = self._totals()
            self.windows.append({k: now[k] - before[k] for k in now})
            before = now

    def stop(self) -> None:
        self.running = False
        self.thread.join()


class Refresher:
    """Menu refreshes of random registered sheets, signed as the add-on signs them."""

    def __init__(self, url: str, sheets: list[Sheet], every: float) -> None:
        self.url, self.sheets, self.every = url, sheets, every
        self.statuses: Counter[int] = Counter()
        self.run_ids: set[str] = set()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        signers = {s.id: bench_webhook.Signer(s.id) for s in self.sheets}
        rng = random.Random(7)
        while self.running:
            body, headers = signers[rng.choice(self.sheets).id].next()
            path = self.url + bench_webhook.PATH
            answer = requests.post(path, data=body, headers=headers, timeout=60)
            self.statuses[answer.status_code] += 1
            if answer.status_code == 202:
                self.run_ids.add(answer.json()["run_id"])
            time.sleep(self.every)

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def wait_ended(db_url: str, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    deadline = time.perf_counter() + timeout
    try:
        while True:
            found = [runs.get_run(engine, run_id) for run_id in run_ids]
            if all(r is not None and r["status"] in ENDED for r in found):
                return [r for r in found if r is not None]
            if time.perf_counter() > deadline:
                raise SystemExit(f"runs not ended after {timeout:.0f} s: {found}")
            time.sleep(0.5)
    finally:
        engine.dispose()


def db_active_ms(db_url: str) -> float:
    """PostgreSQL's time spent running statements in this database (``active_time``, ms)."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            value = conn.execute(
                text("SELECT active_time FROM pg_stat_database WHERE datname = current_database()")
            ).scalar()
        return float(value or 0.0)
    finally:
        engine.dispose()


def set_quota(sheets_url: str, per_window: int | None, window: float) -> None:
    requests.post(sheets_url + "/_emulator/quotas", timeout=10, json={
        "read_per_minute": per_window, "write_per_minute": per_window,
        "window_seconds": window})  # fmt: skip


def night(db_url: str, sheets_url: str, sheets: list[Sheet], args: argparse.Namespace,
          tmp: Path) -> dict[str, Any]:  # fmt: skip
    """One nightly run under load; the figures it is judged by."""
    env = app_env(tmp, db_url, sheets_url, sheets, args.window)
    requests.post(sheets_url + "/_emulator/counters/reset", json={}, timeout=10)
    set_quota(sheets_url, GOOGLE_QUOTA, args.window)
    with open(tmp / "gunicorn.log", "wb") as log:
        proc, url = bench_webhook.start_gunicorn(env, log)
        try:
            rest = instance_memory.at_rest(proc.pid)
            active_before = db_active_ms(db_url)
            memory = instance_memory.Sampler(proc.pid)
            windows = WindowSampler(sheets_url, args.window)
            refresher = Refresher(url, sheets, args.refresh_every)
            started = time.perf_counter()
            answer = requests.get(url + "/cron/nightly", headers={"X-Appengine-Cron": "true"},
                                  timeout=120)  # fmt: skip
            answer.raise_for_status()
            nightly_ids = [r["run_id"] for r in answer.json()["runs"]]
            nightly = wait_ended(db_url, nightly_ids, args.timeout)
            wall = time.perf_counter() - started
            refresher.stop()
            others = wait_ended(db_url, sorted(refresher.run_ids - set(nightly_ids)), args.timeout)
            windows.stop()
            memory.stop()
            seen = counters(sheets_url)
            active = db_active_ms(db_url) - active_before
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    engine = make_engine(db_url)
    granted = {u.kind: (u.granted, u.waited_seconds) for u in usage(engine, args.window)}
    engine.dispose()
    return {
        "wall": wall, "nightly": nightly, "others": others, "refreshes": refresher.statuses,
        "windows": windows.windows, "refused": seen["by_status"].get("429", 0),
        "rest": rest, "peak_rss": memory.peak_rss / 1024, "peak_pss": memory.peak_pss / 1024,
        "children": memory.peak_children, "db_seconds": active / 1000, "granted": granted,
    }  # fmt: skip


def print_report(
    result: dict[str, Any], args: argparse.Namespace, load: tuple[float, float]
) -> None:
    nightly, others = result["nightly"], result["others"]
    statuses = Counter(r["status"] for r in nightly)
    print(f"\nnightly of {args.sheets} sheets over {args.orders:,} orders (PostgreSQL), quota "
          f"{GOOGLE_QUOTA}/{GOOGLE_QUOTA} per {args.window:g} s window; load {load[0]:.1f} → "
          f"{load[1]:.1f}")  # fmt: skip
    print(f"wall to the last nightly sheet done: {figure(result['wall'])} s")
    print(f"nightly runs: {dict(statuses)}; menu refreshes answered {dict(result['refreshes'])}, "
          f"their own runs {dict(Counter(r['status'] for r in others))}")  # fmt: skip
    for r in nightly + others:
        if r["status"] != "succeeded":
            print(f"  {r['spreadsheet']} {r['trigger']} {r['status']}: {r['error']}")
    busy = [w for w in result["windows"] if w["read"] or w["write"]]
    peak = {k: max((w[k] for w in busy), default=0) for k in ("read", "write")}
    print(f"Sheets requests per window: busiest {peak} (quota {GOOGLE_QUOTA} each), "
          f"{len(busy)} busy windows; 429s answered: {result['refused']}")  # fmt: skip
    print(f"governor: granted / waited s by kind {result['granted']}; runs' quota wait "
          f"{figure(sum(r['quota_wait_seconds'] or 0.0 for r in nightly + others))} s")  # fmt: skip
    rest = result["rest"]
    print(f"instance at rest: master+workers RSS "
          f"{rest.get('master RSS', 0) + rest.get('worker RSS', 0):.0f} MB; peak of the whole "
          f"instance RSS {result['peak_rss']:.0f} MB, PSS {result['peak_pss']:.0f} MB "
          f"(768 MB F2); sync children at once (peak) {result['children']}")  # fmt: skip
    print(f"database active time: {figure(result['db_seconds'])} s; nightly syncs' duration "
          f"sum {figure(sum(r['duration_seconds'] or 0.0 for r in nightly))} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120, help="days the orders span")
    parser.add_argument("--sheets", type=int, default=30)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--refresh-every", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument("--compare", default="KPI Weekly,KPI Monthly")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with scratch_postgres(PG_ADMIN_URL) as db_url, tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        subprocess.run([tool("sheets-sync"), "demo-data", "--orders", str(args.orders),
                        "--days", str(args.days), "--replace", "--database-url", db_url], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        print(f"demo data: {args.orders:,} orders in {time.perf_counter() - began:.0f} s",
              flush=True)  # fmt: skip
        emulator, sheets_url = start_emulator()
        try:
            sheets = create_sheets(sheets_url, args.sheets)
            result = night(db_url, sheets_url, sheets, args, Path(tmp))
            print_report(result, args, (load_before, os.getloadavg()[0]))
            set_quota(sheets_url, None, args.window)  # reading back is the bench's, not the night's
            sample = [s for s in sheets if s.role == "head office"][:1]
            sample += [s for s in sheets if s.role == "market"][:1]
            for line in compare_sheets(db_url, sheets_url,
                                       [(s.name, s.id, s.countries) for s in sample],
                                       args.compare.split(",")):  # fmt: skip
                print(line, flush=True)
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)


if __name__ == "__main__":
    main()
