"""One run per spreadsheet at a time (docs/design.md §6), on SQLite and PostgreSQL.

Holders are real: the test's own connections, other threads running
``sync_now``, and other processes (a lock holder that exits or crashes, and
``sheets-sync sync`` itself). Waits and leases are cut to fractions of a second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATES
from kpi_data import load, random_orders
from openpyxl import load_workbook
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.db_init import init_db
from sheets_sync.errors import BusyError, ConfigError, TransientError
from sheets_sync.jobs.run import sync_now
from sheets_sync.locks import destination_lock, run_holds_lock
from sheets_sync.locks.advisory import RUN_SESSION
from sheets_sync.locks.holder import advisory_key, lock_key, read_holder

SHEETS_SYNC = Path(sys.executable).parent / "sheets-sync"
SHEET = "gsheets:1AbCdEfGhIjKlMnOp"

HOLD_SCRIPT = """
import os, sys
from sheets_sync.db import make_engine
from sheets_sync.locks import destination_lock
url, destination, mode = sys.argv[1:4]
lock = destination_lock(make_engine(url), destination, "holder script", run_id="HOLDER-RUN",
                        wait_seconds=0, lease_seconds=float(os.environ.get("LEASE", "120")))
lock.__enter__()
print("held", flush=True)
sys.stdin.readline()
if mode == "crash":
    os._exit(3)  # no clean-up: the lease / session must let go on its own
lock.__exit__(None, None, None)
"""


@pytest.fixture
def holder_process(db_url: str, tmp_path: Path):
    """Start a separate process holding a destination's lock until told to exit or crash."""
    started: list[subprocess.Popen[str]] = []

    def start(destination: str, mode: str = "exit", lease: float = 120) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_SCRIPT, db_url, destination, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "LEASE": str(lease)},
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def finish(proc: subprocess.Popen[str]) -> int:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.close()
    return proc.wait(timeout=20)


def take(engine: Engine, destination: str, owner: str, **options: Any) -> None:
    """Take and give back the lock at once: raises BusyError while another holds it."""
    with destination_lock(engine, destination, owner, **options):
        pass


def lock_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(schema.sync_locks))]


# -- the lock itself ---------------------------------------------------------------


def test_a_second_holder_waits_then_fails_naming_the_first(engine: Engine) -> None:
    first = destination_lock(engine, SHEET, "cli by ana", run_id="RUN-1", wait_seconds=0)
    with first as me, pytest.raises(BusyError) as caught:
        take(engine, SHEET, "cron", run_id="RUN-2", wait_seconds=0.3)
    message = str(caught.value)
    assert message.startswith(
        f"{SHEET} is busy: run RUN-1 (cli by ana, host {socket.gethostname()}, pid {os.getpid()})"
        f" has held it since {me.acquired_at:%Y-%m-%d %H:%M:%S} UTC; waited 0.3 s. "
        "Wait for it to finish, or retry; "
    )
    assert "\n" not in message
    if engine.dialect.name == "sqlite":
        assert "a crashed run's lease expires at " in message
    else:
        assert "released as soon as its database session ends" in message
    assert isinstance(caught.value, TransientError)
    assert caught.value.holder is not None and caught.value.holder.run_id == "RUN-1"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("xlsx:a.xlsx", "xlsx:b.xlsx"),
        ("xlsx:a.xlsx", "xlsx:sub/a.xlsx"),
        (SHEET, "gsheets:1AbCdEfGhIjKlMnOQ"),
        ("xlsx:1AbCdEfGhIjKlMnOp.xlsx", SHEET),
    ],
)
def test_different_destinations_do_not_block_each_other(
    engine, tmp_path, monkeypatch, first, second
):
    monkeypatch.chdir(tmp_path)
    with (
        destination_lock(engine, first, "one", wait_seconds=0),
        destination_lock(engine, second, "two", wait_seconds=0) as holder,
    ):
        assert holder.destination == lock_key(second)
        assert len(lock_rows(engine)) == 2


@pytest.mark.parametrize(
    "alias",
    [
        "xlsx:./ops.xlsx",
        "xlsx:sub/../ops.xlsx",
        "XLSX:ops.xlsx",
        "xlsx:{tmp}/ops.xlsx",
        "xlsx:link.xlsx",
    ],
)
def test_one_workbook_file_is_one_lock_whatever_the_spelling(engine, tmp_path, monkeypatch, alias):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.xlsx").symlink_to(tmp_path / "ops.xlsx")
    assert lock_key(alias.format(tmp=tmp_path)) == f"xlsx:{os.path.realpath(tmp_path / 'ops.xlsx')}"
    with (
        destination_lock(engine, "xlsx:ops.xlsx", "first", wait_seconds=0),
        pytest.raises(BusyError, match=r"is busy: a run \(first, "),
    ):
        take(engine, alias.format(tmp=tmp_path), "second", wait_seconds=0)


@pytest.mark.parametrize("fails", [False, True])
def test_the_lock_is_released_on_exit_and_on_exception(engine: Engine, fails: bool) -> None:
    with (
        pytest.raises(RuntimeError) if fails else contextlib.nullcontext(),
        destination_lock(engine, SHEET, "first", wait_seconds=0),
    ):
        if fails:
            raise RuntimeError("the run broke")
    assert lock_rows(engine) == []
    with destination_lock(engine, SHEET, "second", run_id="R2", wait_seconds=0):
        assert read_holder(engine, SHEET).run_id == "R2"  # type: ignore[union-attr]


def test_a_refused_take_returns_after_its_wait_not_the_lease(engine: Engine) -> None:
    """SHEETS_SYNC_LOCK_WAIT_SECONDS bounds the wait, whatever the lease (which says how
    soon a crashed holder lets go): a 0.5 s wait beside a 600 s lease is refused in
    seconds. Taken on a thread, so a wait on the lease fails here instead of hanging."""
    import time

    refused: list[BaseException] = []

    def second() -> None:
        try:
            take(engine, SHEET, "second", run_id="R2", wait_seconds=0.5, lease_seconds=600)
        except BaseException as error:
            refused.append(error)

    with destination_lock(engine, SHEET, "first", run_id="R1", wait_seconds=0, lease_seconds=600):
        started = time.monotonic()
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        thread.join(timeout=30)  # the wait is 0.5 s; the lease, 600 s
        waited = time.monotonic() - started
    assert not thread.is_alive(), f"a 0.5 s wait still waiting after {waited:.0f} s"
    assert len(refused) == 1 and isinstance(refused[0], BusyError), refused
    assert "run R1 (first, " in str(refused[0]) and "waited 0.5 s" in str(refused[0])


def test_a_run_holds_its_lock_exactly_while_it_is_inside(db_url: str) -> None:
    """run_holds_lock, the liveness rule of runs: true from the moment the lock is taken, false
    once it is given back — also on PostgreSQL, where the lock's pooled session is named after
    the run while it holds it and must go back to the pool under its own name."""
    from sheets_sync.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert not run_holds_lock(conn, "RUN-1")
    for run, other in (("RUN-1", "RUN-2"), ("RUN-2", "RUN-1")):
        with (
            destination_lock(engine, SHEET, "cli", run_id=run, wait_seconds=0),
            engine.connect() as conn,
        ):
            assert run_holds_lock(conn, run) and not run_holds_lock(conn, other)
    with engine.connect() as conn:
        assert not run_holds_lock(conn, "RUN-1") and not run_holds_lock(conn, "RUN-2")
    if engine.dialect.name == "postgresql":
        assert engine.pool.checkedin() == 2  # type: ignore[attr-defined]
        with engine.connect() as one, engine.connect() as two:  # both, the lock's among them
            for conn in (one, two):
                name = conn.execute(text("SELECT current_setting('application_name')")).scalar()
                assert not str(name).startswith(RUN_SESSION)
                conn.execute(text("SELECT pg_advisory_lock(42)"))  # e.g. a facts refresh
                assert not run_holds_lock(conn, "RUN-2")
                conn.execute(text("SELECT pg_advisory_unlock(42)"))
    engine.dispose()


def test_a_stale_note_left_by_a_dead_holder_does_not_block(engine: Engine) -> None:
    """On SQLite an expired lease is taken over; on PostgreSQL the note alone never locks."""
    long_ago = dt.datetime(2026, 1, 1, 9)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sync_locks).values(
                destination=SHEET, token="dead", owner="cron", run_id="DEAD-RUN", host="h",
                pid=1, acquired_at=long_ago, expires_at=long_ago + dt.timedelta(minutes=2),
            )
        )  # fmt: skip
    with destination_lock(engine, SHEET, "cli", run_id="ALIVE", wait_seconds=0):
        (row,) = lock_rows(engine)
        assert (row["run_id"], row["owner"], row["pid"]) == ("ALIVE", "cli", os.getpid())
    assert lock_rows(engine) == []


def test_a_live_sqlite_lease_is_not_taken_over(tmp_path: Path) -> None:
    from sheets_sync.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    init_db(engine)
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sync_locks).values(
                destination=SHEET, token="other", owner="webhook", run_id="OTHER", host="web-1",
                pid=7, acquired_at=soon - dt.timedelta(minutes=7), expires_at=soon,
            )
        )  # fmt: skip
    expires = soon.strftime("%Y-%m-%d %H:%M:%S")
    with pytest.raises(
        BusyError, match=rf"run OTHER \(webhook, host web-1, pid 7\).*expires at {expires} UTC"
    ):
        take(engine, SHEET, "cli", wait_seconds=0)
    engine.dispose()


def test_a_long_run_keeps_its_lease(engine: Engine) -> None:
    import time

    lease = 0.3
    with destination_lock(engine, SHEET, "long run", run_id="LONG", lease_seconds=lease) as me:
        time.sleep(4 * lease)  # several leases long: only the heartbeat keeps it
        with pytest.raises(BusyError, match="run LONG"):
            take(engine, SHEET, "late", wait_seconds=0)
        note = read_holder(engine, SHEET)
        assert note is not None and note.run_id == "LONG"
        if engine.dialect.name == "sqlite":
            assert me.expires_at is not None and note.expires_at is not None
            assert note.expires_at > me.expires_at  # renewed


def steal(engine: Engine, destination: str) -> None:
    """What a lost lock looks like: SQLite, a lease taken over; PostgreSQL, the session killed."""
    key = lock_key(destination)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(
                update(schema.sync_locks)
                .where(schema.sync_locks.c.destination == key)
                .values(token="thief", run_id="THIEF")
            )
        return
    unsigned = advisory_key(key) & 0xFFFFFFFFFFFFFFFF
    with engine.begin() as conn:
        killed = (
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :hi AND objid = :lo AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
            )
            .scalars()
            .all()
        )
    assert killed == [True]


def test_a_run_that_lost_its_lock_fails_instead_of_reporting_a_clean_write(engine) -> None:
    import time

    with (
        pytest.raises(BusyError, match=rf"^{SHEET}: this run lost its lock while it ran \("),
        destination_lock(engine, SHEET, "victim", run_id="VICTIM", lease_seconds=0.3),
    ):
        steal(engine, SHEET)
        time.sleep(0.5)  # a few heartbeats
    with destination_lock(engine, SHEET, "next", wait_seconds=0):
        pass


# -- other processes ---------------------------------------------------------------


def test_another_process_holding_the_lock_blocks_until_it_exits(engine, holder_process):
    proc = holder_process(SHEET)
    with pytest.raises(
        BusyError, match=rf"run HOLDER-RUN \(holder script, host .*, pid {proc.pid}\)"
    ):
        take(engine, SHEET, "cli", wait_seconds=0.2)
    assert finish(proc) == 0
    with destination_lock(engine, SHEET, "cli", wait_seconds=0):
        pass


def test_a_crashed_holders_lock_lets_go_on_its_own(engine, holder_process) -> None:
    lease = 0.5
    proc = holder_process(SHEET, mode="crash", lease=lease)
    assert finish(proc) == 3
    # SQLite: the lease lapses within `lease`; PostgreSQL: the session ended with the process
    with destination_lock(engine, SHEET, "next", run_id="NEXT", wait_seconds=4 * lease):
        assert read_holder(engine, SHEET).run_id == "NEXT"  # type: ignore[union-attr]


# -- whole runs: sync_now and `sheets-sync sync` -------------------------------------


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load(engine, random_orders(80, dt.date(2025, 5, 1), 60))
    return engine


def settings_for(db_url: str, wait: float) -> Settings:
    return Settings.load(
        environ={}, database_url=db_url, templates_dir=TEMPLATES, lock_wait_seconds=wait
    )


def sync_runs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.queued_at))
        return [dict(r._mapping) for r in rows]


def assert_one_after_the_other(runs: list[dict[str, Any]]) -> None:
    assert [r["status"] for r in runs] == ["succeeded"] * len(runs), runs
    runs = sorted(runs, key=lambda r: r["started_at"])
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] <= after["started_at"]


def assert_workbook_consistent(book: Path) -> None:
    wb = load_workbook(book)
    rows = list(wb["KPI Daily"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    key = [header.index(h) for h in ("Date", "Country", "Seller ID", "Category")]
    keys = Counter(tuple(r[i] for i in key) for r in data)
    assert data and keys.most_common(1)[0][1] == 1
    assert "Sync Status" in wb.sheetnames


def test_a_run_that_cannot_get_the_lock_is_recorded_failed_naming_the_holder(
    loaded, db_url, tmp_path
) -> None:
    book = tmp_path / "ops.xlsx"
    with (
        destination_lock(loaded, f"xlsx:{book}", "cron", run_id="NIGHTLY", wait_seconds=0),
        pytest.raises(BusyError, match="run NIGHTLY"),
    ):
        sync_now(loaded, settings_for(db_url, 0.2), f"xlsx:{book}", requested_by="ana")
    (run,) = sync_runs(loaded)
    assert run["status"] == "failed" and run["started_at"] is None
    assert "is busy: run NIGHTLY (cron, " in run["error"]
    assert not book.exists()


def test_two_threads_syncing_one_workbook_run_one_after_the_other(
    loaded, db_url, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_for(db_url, 60)
    errors: list[BaseException] = []

    def sync(destination: str) -> None:
        try:
            sync_now(loaded, settings, destination, tabs=["KPI Daily", "Sync Status"])
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [
        threading.Thread(target=sync, args=(d,)) for d in ("xlsx:ops.xlsx", "xlsx:./ops.xlsx")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert_one_after_the_other(sync_runs(loaded))
    assert_workbook_consistent(tmp_path / "ops.xlsx")
    assert lock_rows(loaded) == []


def cli_sync(db_url: str, cwd: Path, wait: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env.update(SHEETS_SYNC_DATABASE_URL=db_url, SHEETS_SYNC_LOCK_WAIT_SECONDS=str(wait))
    return subprocess.Popen(
        [str(SHEETS_SYNC), "sync", "--to", "xlsx:ops.xlsx", "--tabs", "KPI Daily,Sync Status"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_cli_syncs_of_one_workbook_run_one_after_the_other(loaded, db_url, tmp_path):
    procs = [cli_sync(db_url, tmp_path, wait=60) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert_one_after_the_other(sync_runs(loaded))
    assert_workbook_consistent(tmp_path / "ops.xlsx")


def test_a_cli_sync_fails_naming_the_process_that_holds_the_workbook(
    loaded, db_url, tmp_path, holder_process
) -> None:
    holder = holder_process(f"xlsx:{tmp_path / 'ops.xlsx'}")
    output, _ = cli_sync(db_url, tmp_path, wait=0.2).communicate(timeout=60)
    assert "Error: xlsx:ops.xlsx is busy: run HOLDER-RUN (holder script, host " in output
    assert f"pid {holder.pid}) has held it since " in output and "Traceback" not in output
    assert not (tmp_path / "ops.xlsx").exists()
    assert finish(holder) == 0
    late = cli_sync(db_url, tmp_path, wait=0.2)
    assert late.communicate(timeout=120)[0] and late.returncode == 0
    assert_workbook_consistent(tmp_path / "ops.xlsx")
    assert [r["status"] for r in sync_runs(loaded)] == ["failed", "succeeded"]


# -- settings ------------------------------------------------------------------------


def test_lock_settings_come_from_the_environment() -> None:
    settings = Settings.load(
        environ={"SHEETS_SYNC_LOCK_WAIT_SECONDS": "5", "SHEETS_SYNC_LOCK_LEASE_SECONDS": "45.5"}
    )
    assert (settings.locks.lock_wait_seconds, settings.locks.lock_lease_seconds) == (5.0, 45.5)
    assert (Settings().locks.lock_wait_seconds, Settings().locks.lock_lease_seconds) == (
        30.0,
        120.0,
    )


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("SHEETS_SYNC_LOCK_WAIT_SECONDS", "-1", "LOCK_WAIT_SECONDS=-1.0 must be 0 or more"),
        ("SHEETS_SYNC_LOCK_LEASE_SECONDS", "0", "LOCK_LEASE_SECONDS=0.0 must be more than 0"),
        ("SHEETS_SYNC_LOCK_WAIT_SECONDS", "soon", "LOCK_WAIT_SECONDS='soon' is not a valid float"),
    ],
)
def test_bad_lock_settings_name_the_variable(variable: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ={variable: raw})
