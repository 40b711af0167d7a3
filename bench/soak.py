"""A soak: one instance under menu refreshes and pricing pushes for half an hour.

What leaks shows only with time: memory a worker keeps after each request,
file descriptors or database connections a run forgets to close, a run that
ends without its record. This bench starts the app as app.yaml does
(bench/webhook.py's gunicorn helpers, app.yaml's job and memory settings) on a
scratch PostgreSQL with ``--orders`` demo orders, the emulator enforcing
Google's quota (60 reads and 60 writes per minute), and a registry of a head
office, two market teams and a pricing sheet whose pricer is the test user of
tests/fixtures_webhook.py (its ID tokens, signed by a local key whose
certificate is served as Google's certs endpoint). For ``--minutes`` it sends:

- a signed menu refresh (``POST /hooks/refresh``, HMAC) of a random sheet every
  ``--refresh-every`` seconds;
- every ``--push-every`` seconds, 1 % raises typed into the pricing sheet's
  ``New price`` column, then a push (``POST /hooks/pricing``, a Bearer ID token).

Every ``--sample-every`` seconds it reads, per process of the instance
(gunicorn master, workers, fork server, sync children): RSS, PSS, open file
descriptors and threads; and the database's connections
(``pg_stat_activity``). The report gives these per slice of the run (first
against last: flat or not), every answer's status, and whether every run is
recorded: each refresh's run id and each push's run id is in ``sync_runs``
and ended, and the pushes' applied rows equal the ``price_changes`` rows their
request ids wrote.

Run:  .venv/bin/python -P bench/soak.py [--minutes 30] [--orders 1000000]
        [--workers N --threads N]  (other gunicorn sizes than app.yaml's, to compare)
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path += [str(BENCH), str(BENCH.parent / "tests")]

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import instance_memory
import nightly
import requests
from benchlib import counters, scratch_postgres, start_emulator, tool
from fixtures_webhook import AUDIENCE, CertsServer, bearer, token
from pricing import type_edits
from sqlalchemy import func, select, text

from sheets_emulator.client import emulator_client
from sheets_sync import schema
from sheets_sync.db import make_engine

PRICER = "lea@tradein.example"  # the test ID tokens' user


def registry(sheets: list[nightly.Sheet]) -> str:
    """The nightly bench's entries; the pricing sheet names its pricer."""
    lines = ["spreadsheets:\n"]
    for sheet in sheets:
        lines.append(sheet.entry())
        if sheet.role == "pricing":
            lines.append(f"    pricers: [{PRICER}]\n")
    return "".join(lines)


def app_env(tmp: Path, db_url: str, sheets_url: str, sheets: list[nightly.Sheet],
            certs_url: str) -> dict[str, str]:  # fmt: skip
    env = nightly.app_env(tmp, db_url, sheets_url, sheets, 60.0)
    Path(env["SHEETS_SYNC_CONFIG_FILE"]).write_text(registry(sheets))
    env.update(
        SHEETS_SYNC_OIDC_CERTS_URL=certs_url,
        SHEETS_SYNC_OIDC_AUDIENCES=AUDIENCE,
        SHEETS_SYNC_ALLOWED_DOMAINS="tradein.example,example.com",
    )
    env.pop("GAE_ENV")  # no cron here; off App Engine the request ids are the service's own
    return env


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def threads_of(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


class Sampler:
    """Per role: RSS, PSS (MB), fds and threads summed over its processes; DB connections."""

    def __init__(self, root: int, db_url: str, every: float) -> None:
        self.root, self.every = root, every
        self.engine = make_engine(db_url)
        self.samples: list[dict[str, float]] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def one(self) -> dict[str, float]:
        sample: dict[str, float] = {"t": time.perf_counter()}
        for pid in instance_memory.tree(self.root):
            role = instance_memory.role_of(pid, self.root)
            rss, pss = instance_memory.memory_kb(pid)
            for name, value in (("RSS", rss / 1024), ("PSS", pss / 1024),
                                ("fds", open_fds(pid)), ("threads", threads_of(pid))):  # fmt: skip
                sample[f"{role} {name}"] = sample.get(f"{role} {name}", 0) + value
            sample[f"{role}s"] = sample.get(f"{role}s", 0) + 1
        with self.engine.connect() as conn:
            sample["db connections"] = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar_one()  # fmt: skip
        return sample

    def _run(self) -> None:
        while self.running:
            self.samples.append(self.one())
            time.sleep(self.every)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.engine.dispose()


class Pusher:
    """Raises typed into the pricing sheet, then a push by its pricer, every ``every`` s."""

    def __init__(self, url: str, sheets_url: str, sheet_id: str, every: float) -> None:
        self.url, self.sheet_id, self.every = url, sheet_id, every
        self.client = emulator_client(sheets_url)
        # The team types as itself: its requests count against its own quota, not the service's.
        self.client.http_client.session.headers["Authorization"] = "Bearer team-analyst"
        self.statuses: Counter[int | str] = Counter()
        self.pushes: list[dict[str, Any]] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            try:
                self._push()
            except Exception as error:  # counted and shown: a soak goes on
                self.statuses[f"bench error {type(error).__name__}"] += 1
            time.sleep(self.every)

    def _push(self) -> None:
        type_edits(self.client, self.sheet_id, 20)
        answer = requests.post(self.url + "/hooks/pricing", json={
            "spreadsheet_id": self.sheet_id}, headers=bearer(token()), timeout=600)  # fmt: skip
        self.statuses[answer.status_code] += 1
        if answer.status_code == 200:
            self.pushes.append(answer.json())

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def first_sync(url: str, db_url: str, sheet: nightly.Sheet) -> None:
    """The pricing sheet's tab, so the first push has rows to edit."""
    body, headers = nightly.bench_webhook.Signer(sheet.id).next()
    answer = requests.post(url + nightly.bench_webhook.PATH, data=body, headers=headers, timeout=60)
    answer.raise_for_status()
    (run,) = nightly.wait_ended(db_url, [answer.json()["run_id"]], 600)
    if run["status"] != "succeeded":
        raise SystemExit(f"the first sync of the pricing sheet failed: {run['error']}")


def soak(db_url: str, sheets_url: str, sheets: list[nightly.Sheet], args: argparse.Namespace,
         tmp: Path, certs_url: str) -> dict[str, Any]:  # fmt: skip
    env = app_env(tmp, db_url, sheets_url, sheets, certs_url)
    pricing_sheet = next(s for s in sheets if s.role == "pricing")
    with open(tmp / "gunicorn.log", "wb") as log:
        proc, url = nightly.bench_webhook.start_gunicorn(env, log, args.workers, args.threads)
        try:
            first_sync(url, db_url, pricing_sheet)
            sampler = Sampler(proc.pid, db_url, args.sample_every)
            memory = instance_memory.Sampler(proc.pid)
            refresher = nightly.Refresher(url, sheets, args.refresh_every)
            pusher = Pusher(url, sheets_url, pricing_sheet.id, args.push_every)
            time.sleep(args.minutes * 60)
            refresher.stop()
            pusher.stop()
            ended = nightly.wait_ended(db_url, sorted(refresher.run_ids), 3600)
            time.sleep(2 * args.sample_every)  # the instance at rest again
            sampler.stop()
            memory.stop()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return {"samples": sampler.samples, "ended": ended, "refreshes": refresher.statuses,
            "pushes": pusher.pushes, "push statuses": pusher.statuses,
            "peak_rss": memory.peak_rss / 1024, "peak_pss": memory.peak_pss / 1024,
            "children": memory.peak_children}  # fmt: skip


def recorded(db_url: str, result: dict[str, Any]) -> list[str]:
    """What is missing from the records: runs without an ended row, pushes' rows unwritten."""
    pushes = result["pushes"]
    push_runs = nightly.wait_ended(db_url, [p["run_id"] for p in pushes], 600)
    problems = [f"push run {r['run_id']} {r['status']}" for r in push_runs
                if r["status"] != "succeeded"]  # fmt: skip
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            written = conn.execute(
                select(func.count()).select_from(schema.price_changes).where(
                    schema.price_changes.c.request_id.in_([p["request_id"] for p in pushes]))
            ).scalar_one()  # fmt: skip
    finally:
        engine.dispose()
    applied = sum(p["applied"] for p in pushes)
    if written != applied:
        problems.append(f"pushes applied {applied} rows, price_changes holds {written}")
    problems += [f"refresh run {r['run_id']} failed: {r['error']}" for r in result["ended"]
                 if r["status"] != "succeeded"]  # fmt: skip
    return problems


KEYS = ("worker RSS", "worker PSS", "master RSS", "fork server RSS", "sync child RSS",
        "worker fds", "master fds", "fork server fds", "worker threads", "db connections")  # fmt: skip


def slices(samples: list[dict[str, float]], count: int) -> list[dict[str, float]]:
    """The samples cut into ``count`` slices of equal time: median of each figure, peak
    of the children's."""
    start, end = samples[0]["t"], samples[-1]["t"]
    width = (end - start) / count or 1.0
    out = []
    for n in range(count):
        part = [s for s in samples if start + n * width <= s["t"] <= start + (n + 1) * width]
        row = {k: statistics.median(s.get(k, 0) for s in part) for k in KEYS}
        row["sync child RSS"] = max(s.get("sync child RSS", 0) for s in part)
        row["minute"] = (start + n * width - samples[0]["t"]) / 60
        out.append(row)
    return out


def print_report(result: dict[str, Any], args: argparse.Namespace, problems: list[str],
                 load: tuple[float, float]) -> None:  # fmt: skip
    ended, pushes = result["ended"], result["pushes"]
    print(f"\nsoak of {args.minutes:g} min, {args.orders:,} orders (PostgreSQL), gunicorn "
          f"{args.workers or 'app.yaml'} worker(s) × {args.threads or 'app.yaml'} threads, refresh every "
          f"{args.refresh_every:g} s, push every {args.push_every:g} s; load {load[0]:.1f} → "
          f"{load[1]:.1f}")  # fmt: skip
    print(f"refreshes answered {dict(result['refreshes'])}; their runs "
          f"{dict(Counter(r['status'] for r in ended))}")  # fmt: skip
    print(f"pushes answered {dict(result['push statuses'])}; applied "
          f"{sum(p['applied'] for p in pushes)}, conflicts {sum(p['conflicts'] for p in pushes)}, "
          f"rejected {sum(p['rejected'] for p in pushes)}")  # fmt: skip
    print(f"peak of the whole instance: RSS {result['peak_rss']:.0f} MB, PSS "
          f"{result['peak_pss']:.0f} MB; sync children at once {result['children']}")  # fmt: skip
    print("records: " + ("every run recorded and ended, every applied row written"
                         if not problems else "; ".join(problems)))  # fmt: skip
    print("\n| from minute | " + " | ".join(KEYS) + " |")
    print("|---:|" + "---:|" * len(KEYS))
    for row in slices(result["samples"], args.slices):
        print(f"| {row['minute']:.1f} | " + " | ".join(f"{row[k]:.0f}" for k in KEYS) + " |")
    rest = result["samples"][-1]
    print("at rest after the last run: " + ", ".join(f"{k} {rest.get(k, 0):.0f}" for k in KEYS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--refresh-every", type=float, default=2.0)
    parser.add_argument("--push-every", type=float, default=30.0)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--slices", type=int, default=6)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: app.yaml's)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: app.yaml's)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    certs = CertsServer()
    threading.Thread(target=certs.httpd.serve_forever, daemon=True).start()
    with scratch_postgres(nightly.PG_ADMIN_URL) as db_url, tempfile.TemporaryDirectory() as tmp:
        subprocess.run([tool("sheets-sync"), "demo-data", "--orders", str(args.orders),
                        "--replace", "--database-url", db_url], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        emulator, sheets_url = start_emulator()
        try:
            nightly.set_quota(sheets_url, nightly.GOOGLE_QUOTA, 60.0)
            sheets = nightly.create_sheets(sheets_url, 4)
            result = soak(db_url, sheets_url, sheets, args, Path(tmp), certs.url)
            problems = recorded(db_url, result)
            print_report(result, args, problems, (load_before, os.getloadavg()[0]))
            print(
                f"429s answered by the emulator: {counters(sheets_url)['by_status'].get('429', 0)}"
            )
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
            certs.httpd.shutdown()


if __name__ == "__main__":
    main()
