"""Latency and throughput of an HMAC-signed ``POST /hooks/refresh`` under app.yaml's gunicorn.

The app runs exactly as app.yaml starts it (its ``entrypoint``, read from the
file, with app.yaml's job settings) but bound to 127.0.0.1 on a free
port, with a database made by ``sheets-sync init-db`` (a SQLite file, or with
``--database postgresql`` a scratch database on the local server), a registry
of one spreadsheet, and ``SHEETS_SYNC_SHEETS_API_URL`` pointing at
``sheets-sync emulator`` in its own process (the spreadsheet is created
there), so the refresh runs really sync, never to Google. Every refresh
names the same spreadsheet: while a run is queued or running, calls join it.

Load: ``--clients`` callers (50) in a closed loop for ``--seconds``. By
default (``--client async``) they are one asyncio process of their own
(bench/loadgen.py), which costs the shared CPUs much less per request than
``--client threads``: threads with one ``requests.Session`` each inside this
process (how the figures before the latency work were taken). Each refresh
carries its own signature (auth refuses a replayed one): the timestamp is
the current second and the JSON body ends with whitespace encoding a
per-request counter, so no two signed messages are equal. Baseline in the
same run: ``GET /healthz`` (no auth, no database) under the same server and
load. Besides latency, the server's CPU per request (the gunicorn workers'
user + system time over the round, from /proc, sync runs included) and the
load generator's. Medians of ``--repeat`` rounds. Goal: refresh p99 < 50 ms.

Run:  .venv/bin/python -P bench/webhook.py [--clients 50] [--seconds 10] [--repeat 3]
        [--client async|threads] [--database sqlite|postgresql] [--workers N --threads N]
        [--parked]  (every refresh joins a queued run that never starts: no syncs at all)
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path and bench/sheets_sync.py
# would shadow the ``sheets_sync`` package: drop the folder before importing.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # benchlib, after the package

import argparse
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import resource
import shlex
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import yaml
from benchlib import free_port, scratch_postgres, start_emulator, tool, wait_up
from sqlalchemy import create_engine, select

from sheets_emulator.client import emulator_client
from sheets_sync.db import make_engine
from sheets_sync.jobs import runs
from sheets_sync.schema import sync_runs as table

SECRET = "bench-" + "s" * 40
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOADGEN = Path(__file__).resolve().with_name("loadgen.py")
TICK = os.sysconf("SC_CLK_TCK")
PATH = "/hooks/refresh"
WHITESPACE = " \t\n\r"
APP_YAML = Path(__file__).resolve().parent.parent / "app.yaml"
APP_YAML_SETTINGS = (
    "SHEETS_SYNC_JOB_WORKERS", "SHEETS_SYNC_JOB_PROCESSES", "SHEETS_SYNC_LOCK_WAIT_SECONDS",
    "SHEETS_SYNC_MIN_SYNC_INTERVAL_SECONDS",
)  # fmt: skip
"""app.yaml's settings the bench takes as they are; not its Secret Manager references, its
audience and domain (replaced by the bench's), nor its Cloud Tasks queue (refreshes run on
the instance here: the in-process executor)."""  # JSON allows any of these after the value: 4 symbols per char


def app_yaml() -> dict[str, Any]:
    return dict(yaml.safe_load(APP_YAML.read_text()))


def gunicorn_command(port: int, workers: int | None, threads: int | None) -> list[str]:
    """app.yaml's entrypoint as written, bound to loopback on ``port``; ``--workers`` /
    ``--threads`` replaced only when given (to compare other sizes)."""
    command = shlex.split(app_yaml()["entrypoint"])
    command[0] = tool(command[0])
    command[command.index("-b") + 1] = f"127.0.0.1:{port}"
    for option, value in (("--workers", workers), ("--threads", threads)):
        if value is not None:
            command[command.index(option) + 1] = str(value)
    return command


def start_gunicorn(
    env: dict[str, str],
    log: Any,
    workers: int | None = None,
    threads: int | None = None,
    cpus: set[int] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """app.yaml's entrypoint, with ``-b :$PORT`` turned into loopback and a free port; with
    ``cpus``, it and every process it starts (workers, sync processes) run on those alone."""
    port = free_port()
    command = gunicorn_command(port, workers, threads)
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, preexec_fn=pinned(cpus))
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/healthz", proc, "gunicorn")
    return proc, url


def app_env(
    tmp: str, db_url: str, sheets_url: str, sheet_id: str, min_interval: float | None = None
) -> dict[str, str]:
    registry = Path(tmp) / "sheets-sync.yaml"
    registry.write_text(f"spreadsheets:\n  - id: {sheet_id}\n    name: Bench\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env.update(
        SHEETS_SYNC_DATABASE_URL=db_url,
        SHEETS_SYNC_CONFIG_FILE=str(registry),
        SHEETS_SYNC_SHEETS_API_URL=sheets_url,
        SHEETS_SYNC_HMAC_SECRET=SECRET,
        SHEETS_SYNC_OIDC_AUDIENCES="bench.apps.googleusercontent.com",
        SHEETS_SYNC_ALLOWED_DOMAINS="example.com",
    )
    app_env = app_yaml()["env_variables"]
    env.update({name: str(app_env[name]) for name in APP_YAML_SETTINGS})
    if min_interval is not None:
        env["SHEETS_SYNC_MIN_SYNC_INTERVAL_SECONDS"] = str(min_interval)
    subprocess.run([tool("sheets-sync"), "init-db"], env=env, check=True, capture_output=True)
    return env


class Signer:
    """Bodies and signatures never used twice: the counter is spelled in trailing whitespace."""

    def __init__(self, sheet_id: str) -> None:
        self.body = json.dumps({"spreadsheet_id": sheet_id})
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> tuple[bytes, dict[str, str]]:
        with self.lock:
            n = next(self.counter)
        pad = "".join(WHITESPACE[(n >> (2 * i)) & 3] for i in range(12))
        body = (self.body + pad).encode()
        stamp = str(int(time.time()))
        message = f"{stamp}.POST.{PATH}.".encode() + body
        digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
        headers = {"X-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}
        return body, headers


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    joined: Counter[bool] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


Call = Callable[[requests.Session], requests.Response]


def load(call: Call, clients: int, per_client: int, seconds: float) -> Round:
    """``clients`` threads, each calling until ``per_client`` calls or ``seconds`` have passed."""
    result, start = Round(), threading.Barrier(clients + 1)
    deadline: list[float] = []

    def client() -> None:
        session, mine, statuses, joined = requests.Session(), [], Counter[int](), Counter[bool]()
        start.wait()
        for _ in range(per_client):
            if time.perf_counter() >= deadline[0]:
                break
            began = time.perf_counter()
            response = call(session)
            mine.append(time.perf_counter() - began)
            statuses[response.status_code] += 1
            if response.status_code == 202:
                joined[bool(response.json()["joined"])] += 1
        session.close()
        with result.lock:
            result.latencies += mine
            result.statuses.update(statuses)
            result.joined.update(joined)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    began, cpu = time.perf_counter(), time.process_time()
    deadline.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    result.client_cpu = time.process_time() - cpu
    return result


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """What a child runs before it starts: keep to ``cpus`` (None: wherever it likes)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def split_cpus(server_cpus: int | None) -> tuple[set[int] | None, set[int] | None]:
    """The server's CPUs (the first ``server_cpus``) and the load generator's (the rest).

    An F2 instance has a 1.2 GHz CPU limit, not this machine's cores: pinning the
    server to one CPU measures what its processes share there, while the load
    generator, which stands for the callers' own machines, runs apart.
    """
    if server_cpus is None:
        return None, None
    mine = sorted(os.sched_getaffinity(0))
    if not 0 < server_cpus < len(mine):
        raise SystemExit(f"--server-cpus must be 1 to {len(mine) - 1} on this machine")
    return set(mine[:server_cpus]), set(mine[server_cpus:])


def load_async(
    url: str, name: str, sheet_id: str, clients: int, seconds: float, cpus: set[int] | None
) -> Round:
    """The same closed loop from bench/loadgen.py in a process of its own."""
    command = [sys.executable, "-P", str(LOADGEN), "--url", url, "--call", name]
    # "=": a spreadsheet id may start with "-", which argparse would take for an option
    command += [f"--sheet={sheet_id}", "--clients", str(clients), "--seconds", str(seconds)]
    before = _children_cpu()
    done = subprocess.run(
        command,
        env={**os.environ, "BENCH_HMAC_SECRET": SECRET},
        capture_output=True,
        check=True,
        preexec_fn=pinned(cpus),
    )
    out = json.loads(done.stdout)
    return Round(
        latencies=out["latencies"],
        statuses=Counter({int(k): v for k, v in out["statuses"].items()}),
        joined=Counter({k == "true": v for k, v in out["joined"].items()}),
        seconds=out["seconds"],
        client_cpu=_children_cpu() - before,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def workers_cpu(server: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) the gunicorn workers have used so far, from /proc."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICK


def figures(result: Round) -> dict[str, float]:
    cuts = statistics.quantiles(result.latencies, n=100, method="inclusive")
    n = len(result.latencies)
    return {
        "p50 ms": cuts[49] * 1000,
        "p99 ms": cuts[98] * 1000,
        "req/s": n / result.seconds,
        "server cpu ms/req": result.server_cpu / n * 1000,
        "client cpu ms/req": result.client_cpu / n * 1000,
    }


def calls(url: str, signer: Signer) -> dict[str, Call]:
    def healthz(session: requests.Session) -> requests.Response:
        return session.get(url + "/healthz", timeout=30)

    def refresh(session: requests.Session) -> requests.Response:
        body, headers = signer.next()  # inside the timed call: signing costs ~10 µs
        return session.post(url + PATH, data=body, headers=headers, timeout=30)

    return {"healthz": healthz, "refresh": refresh}


NAMES = {"healthz": "GET /healthz (baseline)", "refresh": f"POST {PATH} (HMAC, joined)"}


def park_a_run(db_url: str, sheet_id: str) -> None:
    """A queued run no executor will start: every refresh joins it and no sync ever runs.

    Separates what a refresh costs by itself (auth + join) from the load of the
    runs syncing in the same worker processes.
    """
    engine = make_engine(db_url)
    runs.queue_run(engine, f"gsheets:{sheet_id}", "api", "bench (parked)")
    engine.dispose()


def sync_runs(db_url: str) -> Counter[str]:
    """Runs by status: every one should have succeeded against the emulator."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = Counter(str(s) for s in conn.execute(select(table.c.status)).scalars())
    engine.dispose()
    return found


def run(args: argparse.Namespace) -> None:
    emulator, sheets_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            db_url = f"sqlite:///{tmp}/bench.db"
            if args.database == "postgresql":
                db_url = stack.enter_context(scratch_postgres(args.pg_admin_url))
            sheet_id = emulator_client(sheets_url).create("Bench").id
            env = app_env(tmp, db_url, sheets_url, sheet_id, args.min_sync_interval)
            if args.parked:
                park_a_run(db_url, sheet_id)
            log = stack.enter_context(open(Path(tmp) / "gunicorn.log", "wb"))
            server_cpus, args.client_cpus = split_cpus(args.server_cpus)
            server, url = start_gunicorn(env, log, args.workers, args.threads, server_cpus)
            try:
                measure(server, Bench(url, sheet_id, Signer(sheet_id), args))
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"sync_runs by status after the bench: {dict(sync_runs(db_url))}")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


@dataclass
class Bench:
    url: str
    sheet_id: str
    signer: Signer
    args: argparse.Namespace

    def round(self, name: str, seconds: float, per_client: int) -> Round:
        clients = self.args.clients
        if self.args.client == "async":
            return load_async(
                self.url, name, self.sheet_id, clients, seconds, self.args.client_cpus
            )
        return load(calls(self.url, self.signer)[name], clients, per_client, seconds)


def measure(server: subprocess.Popen[bytes], bench: Bench) -> None:
    args = bench.args
    for name in NAMES:  # warm both workers, the engine and the first run
        bench.round(name, 5.0, 5)
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in NAMES}
    for repeat in range(args.repeat):
        for name in NAMES:
            cpu = workers_cpu(server)
            result = bench.round(name, args.seconds, args.requests)
            result.server_cpu = workers_cpu(server) - cpu
            rounds[name].append(figures(result))
            extra = f"  joined={dict(result.joined)}" if result.joined else ""
            print(f"round {repeat + 1} {NAMES[name]}: {_line(rounds[name][-1])}"
                  f"  n={len(result.latencies)}  statuses={dict(result.statuses)}{extra}")  # fmt: skip
    medians = {
        n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in rounds.items()
    }
    print(
        f"\nmedians of {args.repeat} rounds, {args.clients} clients ({args.client} client, "
        f"{args.database}, {' '.join(gunicorn_command(0, args.workers, args.threads)[1:-1])}, "
        f"{'parked run, no syncs, ' if args.parked else ''}"
        f"{f'server on {args.server_cpus} CPU(s), ' if args.server_cpus else ''}"
        f"min sync interval {_min_interval(args)} s, "
        f"load average {os.getloadavg()[0]:.1f} at the end):"
    )
    for name, values in medians.items():
        print(f"  {NAMES[name]}: {_line(values)}")
    base, refresh = medians["healthz"], medians["refresh"]
    print(
        f"  refresh / healthz: p50 {refresh['p50 ms'] / base['p50 ms']:.2f}×"
        f"  p99 {refresh['p99 ms'] / base['p99 ms']:.2f}×"
        f"  req/s {refresh['req/s'] / base['req/s']:.2f}×"
        f"  server cpu/req {refresh['server cpu ms/req'] / base['server cpu ms/req']:.2f}×"
        f"  (goal: refresh p99 < 50 ms: {'met' if refresh['p99 ms'] < 50 else 'NOT met'})"
    )


def _min_interval(args: argparse.Namespace) -> str:
    if args.min_sync_interval is not None:
        return f"{args.min_sync_interval:g}"
    return str(app_yaml()["env_variables"]["SHEETS_SYNC_MIN_SYNC_INTERVAL_SECONDS"])


def _line(values: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.1f}" for k, v in values.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400, help="most calls per thread client")
    parser.add_argument("--seconds", type=float, default=10.0, help="most seconds per round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--client", choices=("async", "threads"), default="async")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument(
        "--parked", action="store_true", help="refreshes join a run that never starts: no syncs"
    )
    parser.add_argument(
        "--min-sync-interval",
        type=float,
        help="instead of app.yaml's SHEETS_SYNC_MIN_SYNC_INTERVAL_SECONDS (0: a run after each)",
    )
    parser.add_argument("--workers", type=int, help="instead of app.yaml's gunicorn --workers")
    parser.add_argument("--threads", type=int, help="instead of app.yaml's gunicorn --threads")
    parser.add_argument(
        "--server-cpus",
        type=int,
        help="pin gunicorn and its processes to this many CPUs, the load generator to the rest "
        "(an F2 has about one)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
