"""One instance's memory while several spreadsheets refresh at once: budget on vs off.

The app runs as app.yaml starts it (its gunicorn entrypoint and job settings,
bench/webhook.py's helpers) bound to loopback, on the full-size SQLite demo of
``bench/sync_memory.py`` (1,000,000 orders; made there if missing), with
``--sheets`` spreadsheets registered (every tab) on ``sheets-sync emulator``.
Per round (``--budgets``: the default ``SHEETS_SYNC_MEMORY_BUDGET_MB``, then
``0``, no budget), on new spreadsheets: the fixed cost first (gunicorn's
master and its worker(s) at rest after a few requests), then one signed
refresh of every spreadsheet at once (first syncs), and once they have ended,
again (the next syncs, which read every managed cell back first). A thread
samples the whole process tree (master, workers, the sync processes' fork
server and every sync child) every 0.1 s: the sum of RSS (an upper bound:
pages shared with the fork server count in each child) and of PSS (shared
pages split among their sharers; what the instance really holds), and how
many sync children ran at once. Every run must succeed; the runs that waited
for memory say so in their warnings.

Run:  .venv/bin/python -P bench/instance_memory.py [--sheets 4] [--budgets default,0]
        [--data DIR]
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))

import argparse
import importlib.util
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from benchlib import start_emulator

from sheets_emulator.client import emulator_client
from sheets_sync.db import make_engine
from sheets_sync.jobs import runs

_spec = importlib.util.spec_from_file_location("bench_webhook", BENCH / "webhook.py")
assert _spec is not None and _spec.loader is not None
bench_webhook = importlib.util.module_from_spec(_spec)
sys.modules["bench_webhook"] = bench_webhook  # its dataclasses look their module up
_spec.loader.exec_module(bench_webhook)  # its gunicorn and signing helpers, not a second copy


def tree(root: int) -> list[int]:
    """``root`` and every process descending from it."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    out, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        out += frontier
    return out


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; (0, 0) once it has gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:]}
    return values.get("Rss", 0), values.get("Pss", 0)


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Sampler:
    root: int
    peak_rss: int = 0
    peak_pss: int = 0
    peak_children: int = 0
    running: bool = True
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            pids = tree(self.root)
            sizes = [memory_kb(pid) for pid in pids]
            self.peak_rss = max(self.peak_rss, sum(s[0] for s in sizes))
            self.peak_pss = max(self.peak_pss, sum(s[1] for s in sizes))
            children = sum(_is_sync(p) for p in pids)
            self.peak_children = max(self.peak_children, children)
            time.sleep(0.1)

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def _is_sync(pid: int) -> bool:
    """A sync child: forked by the fork server (whose command line it shares: no exec)."""
    try:
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return "forkserver" in command_of(parent)


def role_of(pid: int, root: int) -> str:
    """What a process of the instance ``root`` is: master, worker, fork server, resource
    tracker or sync child (asked first: it shares the fork server's command line)."""
    command = command_of(pid)
    if pid == root:
        return "master"
    if _is_sync(pid):
        return "sync child"
    if "forkserver" in command:
        return "fork server"
    return "resource tracker" if "resource_tracker" in command else "worker"


def at_rest(root: int) -> dict[str, float]:
    """RSS and PSS (MB) of each process of the tree, named by its role."""
    out: dict[str, float] = {}
    for pid in tree(root):
        rss, pss = memory_kb(pid)
        role = role_of(pid, root)
        out[f"{role} RSS"] = out.get(f"{role} RSS", 0) + rss / 1024
        out[f"{role} PSS"] = out.get(f"{role} PSS", 0) + pss / 1024
    return out


def refresh_all(url: str, sheet_ids: list[str]) -> list[str]:
    run_ids = []
    for sheet_id in sheet_ids:
        body, headers = bench_webhook.Signer(sheet_id).next()
        answer = requests.post(url + bench_webhook.PATH, data=body, headers=headers, timeout=60)
        answer.raise_for_status()
        run_ids.append(answer.json()["run_id"])
    return run_ids


def wait_ended(db_url: str, run_ids: list[str]) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        while True:
            found = [runs.get_run(engine, run_id) for run_id in run_ids]
            if all(r is not None and r["status"] in ("succeeded", "failed") for r in found):
                return [r for r in found if r is not None]
            time.sleep(0.5)
    finally:
        engine.dispose()


def one_round(db_url: str, sheets_url: str, count: int, budget: str, tmp: Path) -> dict[str, Any]:
    client = emulator_client(sheets_url)
    sheet_ids = [client.create(f"{budget} {n}").id for n in range(count)]
    env = bench_webhook.app_env(str(tmp), db_url, sheets_url, sheet_ids[0])
    registry = Path(env["SHEETS_SYNC_CONFIG_FILE"])
    registry.write_text(
        "spreadsheets:\n" + "".join(f"  - id: {i}\n    name: Bench {i[:6]}\n" for i in sheet_ids)
    )
    env["SHEETS_SYNC_MEMORY_BUDGET_DIR"] = str(tmp / f"budget-{budget}")
    if budget != "default":
        env["SHEETS_SYNC_MEMORY_BUDGET_MB"] = budget
    with open(tmp / f"gunicorn-{budget}.log", "wb") as log:
        proc, url = bench_webhook.start_gunicorn(env, log)
        try:
            for _ in range(20):
                requests.get(url + "/healthz", timeout=10)
            rest = at_rest(proc.pid)
            sampler, started = Sampler(proc.pid), time.perf_counter()
            ended = wait_ended(db_url, refresh_all(url, sheet_ids))
            ended += wait_ended(db_url, refresh_all(url, sheet_ids))
            seconds = time.perf_counter() - started
            sampler.stop()
            after = at_rest(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    failed = [r["error"] for r in ended if r["status"] != "succeeded"]
    if failed:
        raise SystemExit(f"budget {budget}: runs failed: {failed}")
    waited = sum(1 for r in ended if (r["warnings"] or "").startswith("waited "))
    return {
        "rest": rest, "after": after, "peak_rss": sampler.peak_rss / 1024,
        "peak_pss": sampler.peak_pss / 1024, "children": sampler.peak_children,
        "seconds": seconds, "waited": waited, "runs": len(ended),
    }  # fmt: skip


def main() -> None:
    from sync_memory import prepare

    parser = argparse.ArgumentParser()
    parser.add_argument("--sheets", type=int, default=4)
    parser.add_argument("--budgets", default="default,0")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "sync-memory")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    db_url = prepare("sqlite", args.orders, args.data)
    load = os.getloadavg()[0]
    emulator, sheets_url = start_emulator()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for budget in args.budgets.split(","):
                results[budget] = one_round(db_url, sheets_url, args.sheets, budget, Path(tmp))
                print(f"budget {budget}: {results[budget]}", flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    print(f"\n{args.sheets} spreadsheets × 2 refreshes, every tab, {args.orders:,} orders; "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print(report(results))


def report(results: dict[str, dict[str, Any]]) -> str:
    out = [
        "| SHEETS_SYNC_MEMORY_BUDGET_MB | master + workers at rest (RSS / PSS) | fork server "
        "(PSS) | peak of the instance, RSS | peak, PSS | syncs at once (peak) | runs that "
        "waited | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for budget, r in results.items():
        rest = r["rest"]
        fixed_rss = rest.get("master RSS", 0) + rest.get("worker RSS", 0)
        fixed_pss = rest.get("master PSS", 0) + rest.get("worker PSS", 0)
        out.append(
            f"| {budget} | {fixed_rss:.0f} / {fixed_pss:.0f} MB | "
            f"{r['after'].get('fork server PSS', 0):.0f} MB | {r['peak_rss']:.0f} MB | "
            f"{r['peak_pss']:.0f} MB | {r['children']} | {r['waited']} of {r['runs']} | "
            f"{r['seconds']:.0f} s |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
