"""A run is alive only while it holds its spreadsheet's lock (docs/design.md §6, §8).

A real ``sheets-sync sync`` in a process of its own is held mid-sync on the
Sheets emulator (a ``pause`` fault on its first read: the run is ``running``
and holds the lock), then killed with SIGKILL, as an out-of-memory kill or an
operator would. A refresh through the webhook must not join it once its lock
is free (PostgreSQL: the killed session's advisory lock is gone; SQLite: the
lease lapsed, SHEETS_SYNC_LOCK_LEASE_SECONDS being cut to seconds here), must
mark it failed and run a new sync; the next CLI sync of that spreadsheet fails
it alike. A live run held the same way, not killed, is joined. Both databases.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_webhook import CertsServer, bearer, service_settings, token
from helpers import TEMPLATES, wait_until_run_ended
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.jobs import runs
from sheets_sync.jobs.queue import sweep_stale
from sheets_sync.locks.holder import advisory_key, lock_key, read_holder
from webhook import create_app
from webhook.runtime import ENGINE_KEY, EXECUTOR_KEY

SHEETS_SYNC = Path(sys.executable).parent / "sheets-sync"
LEASE = 3.0
"""SHEETS_SYNC_LOCK_LEASE_SECONDS of every process here: a killed SQLite run's lease
lapses within it (the heartbeat renews a live one every third of it)."""
FIRST_READ = "spreadsheets.get"
"""The sync's first Sheets request, made after the run is marked running under its lock."""
DIED = "the process running it stopped (killed or crashed)"
TAB = "KPI Daily"


@pytest.fixture
def sheet_id(gspread_client: Any) -> str:
    return str(gspread_client.create("Ops team").id)


@pytest.fixture
def registry(tmp_path: Path, sheet_id: str) -> Path:
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(f"spreadsheets:\n  - id: {sheet_id}\n    name: Ops team\n")
    return path


@pytest.fixture
def settings(
    loaded: Engine, db_url: str, emulator: Any, certs: CertsServer, registry: Path
) -> Settings:
    return service_settings(
        db_url,
        certs,
        registry,
        sheets_api_url=emulator.url,
        lock_wait_seconds=60,
        lock_lease_seconds=LEASE,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    yield app
    pool = app.extensions.get(EXECUTOR_KEY)
    if pool is not None:
        pool.shutdown()
    app.extensions[ENGINE_KEY].dispose()


@pytest.fixture
def cli(
    db_url: str, emulator: Any, registry: Path, tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Start ``sheets-sync sync --to gsheets:ID --tabs 'KPI Daily'`` as a process of its own."""
    started: list[subprocess.Popen[str]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env.update(
        SHEETS_SYNC_DATABASE_URL=db_url,
        SHEETS_SYNC_SHEETS_API_URL=emulator.url,
        SHEETS_SYNC_TEMPLATES_DIR=str(TEMPLATES),
        SHEETS_SYNC_CONFIG_FILE=str(registry),
        SHEETS_SYNC_LOCK_LEASE_SECONDS=str(LEASE),
        SHEETS_SYNC_LOCK_WAIT_SECONDS="60",
    )

    def start(sheet: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(SHEETS_SYNC), "sync", "--to", f"gsheets:{sheet}", "--tabs", TAB],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def sync_runs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.queued_at))
        return [dict(r._mapping) for r in rows]


def held_mid_sync(cli: Callable[[str], subprocess.Popen[str]], controls: Any, sheet: str) -> Any:
    """A CLI sync stopped at its first Sheets read: ``running``, holding the lock. (proc, run)"""
    controls.fault(kind="pause", request_kind=FIRST_READ, hang_seconds=120)
    proc = cli(sheet)
    try:
        controls.wait_held(timeout=60)
    except AssertionError as error:
        proc.kill()
        output = proc.communicate()[0]
        raise AssertionError(f"the CLI sync never reached the emulator: {output}") from error
    return proc


def the_running_run(engine: Engine) -> dict[str, Any]:
    (run,) = sync_runs(engine)
    assert run["status"] == "running" and run["trigger"] == "cli", run
    return run


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)  # no clean-up: nothing is recorded, nothing released
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def wait_until_lock_free(engine: Engine, destination: str, seconds: float = 30) -> None:
    """Until nobody holds ``destination``'s lock — seen without this code's liveness rule:
    PostgreSQL, the advisory lock can be taken (the killed session has ended); SQLite, the
    noted lease has expired. The note is left as the killed run left it."""
    key = lock_key(destination)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                query = "SELECT pg_try_advisory_lock(:k)"
                if conn.execute(text(query), {"k": advisory_key(key)}).scalar():
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(key)})
                    return
        else:
            holder = read_holder(engine, destination)
            if holder is None or (holder.expires_at and holder.expires_at < utcnow()):
                return
        time.sleep(0.05)
    raise AssertionError(f"{destination}'s lock still held {seconds} s after its holder died")


def refresh(app: Any, sheet: str) -> dict[str, Any]:
    body = {"spreadsheet_id": sheet, "tabs": [TAB]}
    response = app.test_client().post("/hooks/refresh", json=body, headers=bearer(token()))
    assert response.status_code == 202, response.get_json()
    return dict(response.get_json())


def assert_failed_as_killed(engine: Engine, run_id: str) -> None:
    dead = runs.get_run(engine, run_id)
    assert dead is not None and dead["status"] == "failed", dead
    assert DIED in dead["error"] and dead["error"].endswith("request the sync again")
    assert dead["finished_at"] is not None


def test_a_refresh_never_joins_a_killed_cli_run_but_fails_it_and_syncs_anew(
    app, loaded, settings, controls, cli, sheet_id, gspread_client
) -> None:
    proc = held_mid_sync(cli, controls, sheet_id)
    killed = the_running_run(loaded)
    kill(proc)
    wait_until_lock_free(loaded, f"gsheets:{sheet_id}")

    answer = refresh(app, sheet_id)
    assert answer["joined"] is False and answer["run_id"] != killed["run_id"]
    assert_failed_as_killed(loaded, killed["run_id"])  # at that moment, not by a later sweep
    fresh = wait_until_run_ended(loaded, answer["run_id"])
    assert fresh["status"] == "succeeded", fresh["error"]
    assert fresh["cells_written"] > 0
    assert TAB in {ws.title for ws in gspread_client.open_by_key(sheet_id).worksheets()}
    assert [r["status"] for r in sync_runs(loaded)] == ["failed", "succeeded"]


def test_the_next_cli_sync_fails_a_killed_cli_run_and_syncs(
    loaded, settings, controls, cli, sheet_id
) -> None:
    proc = held_mid_sync(cli, controls, sheet_id)
    killed = the_running_run(loaded)
    kill(proc)

    # the next sync waits for the lock (SQLite: until the lease lapses), then fails the dead run
    output, _ = (again := cli(sheet_id)).communicate(timeout=120)
    assert again.returncode == 0, output
    assert_failed_as_killed(loaded, killed["run_id"])
    dead, done = sync_runs(loaded)
    assert dead["run_id"] == killed["run_id"]
    assert done["status"] == "succeeded" and done["cells_written"] > 0
    assert f"Run {done['run_id']} recorded in sync_runs." in output


def test_a_live_run_held_mid_sync_is_joined_not_taken_for_dead(
    app, loaded, settings, controls, cli, sheet_id
) -> None:
    proc = held_mid_sync(cli, controls, sheet_id)
    alive = the_running_run(loaded)
    if loaded.dialect.name == "sqlite":  # a whole lease later: only the heartbeat keeps it
        first = read_holder(loaded, f"gsheets:{sheet_id}")
        assert first is not None and first.run_id == alive["run_id"] and first.expires_at
        while utcnow() <= first.expires_at:
            time.sleep(0.05)

    answers = [refresh(app, sheet_id) for _ in range(3)]
    assert [(a["run_id"], a["joined"]) for a in answers] == [(alive["run_id"], True)] * 3
    assert sweep_stale(loaded, settings) == []
    assert controls.release() == 1
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    (run,) = sync_runs(loaded)
    assert run["status"] == "succeeded" and run["error"] is None
