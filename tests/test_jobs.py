"""Refresh jobs (sheets_sync/jobs/): queue-or-join, dead runs swept, the in-process executor.

A refresh already queued or running for a spreadsheet is joined, never
doubled — also when 20 requests arrive at once and across processes — and a
run whose process died is failed rather than joined forever. Both databases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATES, wait_until_run_ended
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db_init import init_db
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import runs
from sheets_sync.jobs.executor import InProcessExecutor, request_sync
from sheets_sync.jobs.processes import SyncProcesses
from sheets_sync.jobs.queue import Ticket, _exclusive, destination_name, queue_or_join, sweep_stale
from sheets_sync.jobs.run import Job, run_queued, sync_now
from sheets_sync.locks import destination_lock

SHEET = "gsheets:1AbCdEfGhIjKlMnOpQrStUv"


def all_runs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.queued_at))
        return [dict(r._mapping) for r in rows]


def set_run(engine: Engine, run_id: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(schema.sync_runs).where(schema.sync_runs.c.run_id == run_id).values(**values)
        )


def ago(seconds: float) -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=seconds)


def test_a_second_request_joins_the_queued_run(engine, settings) -> None:
    first = queue_or_join(engine, settings, SHEET, trigger="api", requested_by="ana@x.com")
    second = queue_or_join(engine, settings, SHEET, trigger="menu", requested_by="bo@x.com")
    assert (first.joined, second.joined) == (False, True)
    assert second.run_id == first.run_id
    (run,) = all_runs(engine)
    assert (run["status"], run["trigger"], run["requested_by"]) == ("queued", "api", "ana@x.com")
    assert run["spreadsheet"] == SHEET


@pytest.mark.parametrize(
    ("status", "joined"),
    [("queued", True), ("running", True), ("succeeded", False), ("failed", False)],
)
def test_only_an_active_run_is_joined(engine, settings, status, joined) -> None:
    first = queue_or_join(engine, settings, SHEET, trigger="api")
    set_run(engine, first.run_id, status=status, started_at=utcnow())
    with destination_lock(engine, SHEET, "test", run_id=first.run_id):  # a live run holds it
        second = queue_or_join(engine, settings, SHEET, trigger="api")
    assert second.joined is joined
    assert (second.run_id == first.run_id) is joined


def test_other_spreadsheets_and_other_kinds_are_not_joined(engine, settings) -> None:
    runs.queue_run(engine, SHEET, "api", kind="pricing")
    first = queue_or_join(engine, settings, SHEET, trigger="api")
    other = queue_or_join(engine, settings, "gsheets:0ZyXwVuTsRqPoNmLkJiH", trigger="api")
    assert not first.joined and not other.joined
    assert len({r["run_id"] for r in all_runs(engine)}) == 3


def test_twenty_requests_at_once_make_one_run(engine, settings) -> None:
    barrier = threading.Barrier(20)
    tickets: list[Any] = []

    def request() -> None:
        barrier.wait()
        tickets.append(queue_or_join(engine, settings, SHEET, trigger="api"))

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tickets) == 20
    assert len({t.run_id for t in tickets}) == 1
    assert sum(not t.joined for t in tickets) == 1
    assert len(all_runs(engine)) == 1


@contextlib.contextmanager
def queue_section_held(engine: Engine, destination: str) -> Iterator[None]:
    """Another request inside ``destination``'s queue-or-join section (on SQLite: the write lock)."""
    entered, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with _exclusive(engine, destination_name(destination)):
            entered.set()
            leave.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(30)
    try:
        yield
    finally:
        leave.set()
        holder.join()


@pytest.mark.parametrize("status", ["queued", "running"])
def test_joining_a_live_run_needs_no_lock_nor_write(engine, settings, status) -> None:
    """Twenty refreshes of a spreadsheet whose run is on its way all join it while another
    request holds the queue section: a join reads only (it used to wait for the section,
    on SQLite the whole database's write lock)."""
    first = queue_or_join(engine, settings, SHEET, trigger="api")
    set_run(engine, first.run_id, status=status, started_at=ago(3600))
    tickets: list[Any] = []

    def request() -> None:
        tickets.append(queue_or_join(engine, settings, SHEET, trigger="menu"))

    with (
        destination_lock(engine, SHEET, "api", run_id=first.run_id),
        queue_section_held(engine, SHEET),
    ):
        threads = [threading.Thread(target=request) for _ in range(20)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        waiting = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join()
    assert waiting == 0, f"{waiting} joins waited for the queue section"
    assert [(t.run_id, t.joined) for t in tickets] == [(first.run_id, True)] * 20
    assert len(all_runs(engine)) == 1


@pytest.mark.parametrize("dead", ["running-without-lock", "queued-too-long"])
def test_a_dead_run_is_never_joined_but_failed_and_replaced(engine, settings, dead) -> None:
    old = queue_or_join(engine, settings, SHEET, trigger="api")
    if dead == "running-without-lock":  # however recently it started: no grace
        set_run(engine, old.run_id, status="running", started_at=utcnow())
    else:
        set_run(engine, old.run_id, queued_at=ago(settings.jobs.job_timeout_seconds + 60))
    tickets = [queue_or_join(engine, settings, SHEET, trigger="api") for _ in range(3)]
    assert not tickets[0].joined and tickets[0].run_id != old.run_id
    assert [(t.run_id, t.joined) for t in tickets[1:]] == [(tickets[0].run_id, True)] * 2
    statuses = {r["run_id"]: r["status"] for r in all_runs(engine)}
    assert statuses == {old.run_id: "failed", tickets[0].run_id: "queued"}


def test_a_dead_run_beside_the_joined_one_is_still_swept_by_a_refresh(engine, settings) -> None:
    """A one-tab run dies while a full run is queued behind it: the next refresh joins the
    full run and fails the dead one (the read-only join does not leave it `running`)."""
    one_tab = queue_or_join(engine, settings, SHEET, trigger="api", tabs=("KPI Daily",))
    set_run(engine, one_tab.run_id, status="running", started_at=ago(1))
    with destination_lock(engine, SHEET, "api", run_id=one_tab.run_id):  # alive
        full = queue_or_join(engine, settings, SHEET, trigger="api")
    assert not full.joined  # its process died: the lock is free
    again = queue_or_join(engine, settings, SHEET, trigger="menu")
    assert (again.run_id, again.joined) == (full.run_id, True)
    statuses = {r["run_id"]: r["status"] for r in all_runs(engine)}
    assert statuses == {one_tab.run_id: "failed", full.run_id: "queued"}


REQUESTER = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from sheets_sync.config import Settings
    from sheets_sync.db import make_engine
    from sheets_sync.jobs.queue import queue_or_join
    url, sheet, go = sys.argv[1:4]
    engine = make_engine(url)
    settings = Settings.load(environ={}, database_url=url)
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.01)
    ids = []
    def request():
        ids.append(queue_or_join(engine, settings, sheet, trigger="api").run_id)
    threads = [threading.Thread(target=request) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(" ".join(sorted(set(ids))), flush=True)
    """
)


def test_two_processes_at_once_make_one_run(engine, db_url, tmp_path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REQUESTER, db_url, SHEET, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    seen = {out.strip() for out, _ in outputs}
    (run,) = all_runs(engine)
    assert seen == {run["run_id"]}


def test_a_running_run_whose_process_died_is_failed_not_joined(engine, settings) -> None:
    """Dead from the moment its lock is free, however recently it started: no grace period
    (a refresh used to join a killed run for up to the lock lease)."""
    dead = queue_or_join(engine, settings, SHEET, trigger="api")
    with destination_lock(engine, SHEET, "api", run_id=dead.run_id):
        set_run(engine, dead.run_id, status="running", started_at=utcnow())
    fresh = queue_or_join(engine, settings, SHEET, trigger="api")
    assert not fresh.joined and fresh.run_id != dead.run_id
    swept = runs.get_run(engine, dead.run_id)
    assert swept is not None and swept["status"] == "failed"
    assert swept["error"] == (
        "marked failed: the process running it stopped (killed or crashed), as it no longer "
        "holds the spreadsheet's lock; request the sync again"
    )
    assert swept["finished_at"] is not None


def test_a_run_is_alive_from_the_moment_it_is_marked_running(
    loaded, settings, tmp_path, monkeypatch
) -> None:
    """A run's runner takes the lock in the run's name before it marks the run running, so a
    refresh or a sweep looking right after the claim finds it alive and joins it."""
    book = f"xlsx:{tmp_path / 'ops.xlsx'}"
    seen: list[tuple[list[str], Ticket]] = []
    claim = runs.claim_run

    def claim_then_look(engine: Engine, run_id: str, tabs: Any) -> bool:
        claimed = claim(engine, run_id, tabs)
        ticket = queue_or_join(engine, settings, book, trigger="api", tabs=("KPI Daily",))
        seen.append((sweep_stale(engine, settings), ticket))
        return claimed

    monkeypatch.setattr(runs, "claim_run", claim_then_look)
    result = sync_now(loaded, settings, book, tabs=["KPI Daily"])
    assert seen == [([], Ticket(result.run_id, joined=True))]
    run = runs.get_run(loaded, result.run_id)
    assert run is not None and run["status"] == "succeeded"
    assert len(all_runs(loaded)) == 1


@pytest.mark.parametrize("fails", [False, True])
def test_a_run_records_its_end_before_it_gives_its_lock_back(
    loaded, settings, tmp_path, monkeypatch, fails
) -> None:
    """Succeeded or failed, the run's end is written while it still holds the lock, so a
    `running` run without its lock is always a dead one (never one finishing)."""
    import sheets_sync.jobs.run

    real, seen = sheets_sync.jobs.run.destination_lock, []

    @contextlib.contextmanager
    def watched(engine: Engine, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with real(engine, *args, **kwargs) as holder:
            try:
                yield holder
            finally:  # the last moment under the lock
                seen.append(runs.get_run(engine, kwargs["run_id"])["status"])  # type: ignore[index]

    monkeypatch.setattr(sheets_sync.jobs.run, "destination_lock", watched)
    as_of = utcnow().date() + dt.timedelta(days=1) if fails else None  # refused mid-run
    with (
        pytest.raises(ConfigError, match="not a complete day yet")
        if fails
        else contextlib.nullcontext()
    ):
        sync_now(loaded, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", tabs=["KPI Daily"], as_of=as_of)
    assert seen == ["failed" if fails else "succeeded"]


def test_a_run_delivered_after_the_job_timeout_still_runs(loaded, settings, tmp_path) -> None:
    """A run fails the running runs it finds dead once it holds the lock, never queued ones:
    a queued run may be its own, delivered late (Cloud Tasks retries for an hour)."""
    book = f"xlsx:{tmp_path / 'ops.xlsx'}"
    late = queue_or_join(loaded, settings, book, trigger="api", tabs=("KPI Daily",))
    set_run(loaded, late.run_id, queued_at=ago(settings.jobs.job_timeout_seconds + 60))
    outcome = run_queued(loaded, settings, late.run_id)
    assert (outcome.status, outcome.ran) == ("succeeded", True)


def test_a_long_run_that_still_holds_its_lock_is_joined(engine, settings) -> None:
    alive = queue_or_join(engine, settings, SHEET, trigger="api")
    set_run(engine, alive.run_id, status="running", started_at=ago(3600))
    with destination_lock(engine, SHEET, "api", run_id=alive.run_id):
        assert sweep_stale(engine, settings) == []
        assert queue_or_join(engine, settings, SHEET, trigger="api").run_id == alive.run_id


def test_a_queued_run_never_started_is_failed_after_the_job_timeout(engine, settings) -> None:
    old = queue_or_join(engine, settings, SHEET, trigger="api")
    recent = queue_or_join(engine, settings, "gsheets:0ZyXwVuTsRqPoNmLkJiH", trigger="api")
    set_run(engine, old.run_id, queued_at=ago(settings.jobs.job_timeout_seconds + 60))
    assert sweep_stale(engine, settings) == [old.run_id]
    old_run, recent_run = runs.get_run(engine, old.run_id), runs.get_run(engine, recent.run_id)
    assert old_run is not None and old_run["status"] == "failed"
    assert "SHEETS_SYNC_JOB_TIMEOUT_SECONDS" in old_run["error"]
    assert recent_run is not None and recent_run["status"] == "queued"


@pytest.fixture(params=["threads", "sync processes"])
def executor(request: pytest.FixtureRequest, loaded: Engine, settings: Settings) -> Any:
    """Runs on the executor's threads, or in child processes (SHEETS_SYNC_JOB_PROCESSES)."""
    processes = SyncProcesses(settings) if request.param == "sync processes" else None
    pool = InProcessExecutor(loaded, settings, workers=2, processes=processes)
    yield pool
    pool.shutdown()


def test_the_executor_runs_the_queued_run_to_the_end(loaded, settings, executor, tmp_path) -> None:
    book = f"xlsx:{tmp_path / 'ops.xlsx'}"
    job = Job("", book, ("KPI Daily",), "menu", "ana@x.com", {"country": ("FR",)})
    ticket = request_sync(loaded, settings, executor, job)
    joined = request_sync(loaded, settings, executor, job)
    executor.shutdown()  # waits for the run, as the interpreter does at exit
    assert joined.run_id == ticket.run_id and joined.joined
    run = runs.get_run(loaded, ticket.run_id)
    assert run is not None
    assert (run["status"], run["requested_by"], run["tabs"]) == (
        "succeeded",
        "ana@x.com",
        "KPI Daily",
    )
    assert run["spreadsheet"] == destination_name(book) and run["cells_written"] > 0
    assert Path(tmp_path / "ops.xlsx").exists()


def test_a_run_refused_before_it_starts_is_failed_not_left_queued(
    loaded, settings, executor, tmp_path
) -> None:
    job = Job("", f"xlsx:{tmp_path / 'ops.xlsx'}", ("No Such Tab",), "api", "ana@x.com")
    ticket = request_sync(loaded, settings, executor, job)
    executor.shutdown()
    run = runs.get_run(loaded, ticket.run_id)
    assert run is not None and run["status"] == "failed"
    assert "unknown tab(s) 'No Such Tab'" in run["error"]
    again = queue_or_join(loaded, settings, job.destination, trigger="api")
    assert not again.joined


def executor_for(engine: Engine, settings: Settings) -> InProcessExecutor:
    return InProcessExecutor(engine, settings, workers=1)


def test_a_run_swept_before_its_turn_is_not_started(loaded, settings, tmp_path) -> None:
    ticket = queue_or_join(loaded, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", trigger="api")
    set_run(loaded, ticket.run_id, status="failed", error="swept")
    pool = executor_for(loaded, settings)
    pool.submit(Job(ticket.run_id, f"xlsx:{tmp_path / 'ops.xlsx'}")).result()
    pool.shutdown()
    assert not (tmp_path / "ops.xlsx").exists()
    run = runs.get_run(loaded, ticket.run_id)
    assert run is not None and run["status"] == "failed" and run["error"] == "swept"


@pytest.mark.parametrize(
    ("setting", "value", "fix"),
    [("job_workers", 0, "JOB_WORKERS=0 must be 1 or more"),
     ("job_timeout_seconds", 0, "JOB_TIMEOUT_SECONDS=0 must be more than 0")],
)  # fmt: skip
def test_job_settings_are_checked(setting, value, fix) -> None:
    with pytest.raises(ConfigError, match=fix):
        Settings.load(environ={}, templates_dir=TEMPLATES, **{setting: value})


def test_refreshes_asking_together_share_one_read_and_each_joins_a_live_run(
    engine, settings
) -> None:
    """Concurrent joins are answered by shared reads, each taken after its caller asked."""
    init_db(engine)
    running = queue_or_join(engine, settings, SHEET, trigger="api")
    other = queue_or_join(engine, settings, "gsheets:0ZyXwVuTsRqPoNmLkJiH", trigger="api")
    found: list[tuple[str, bool]] = []
    start = threading.Barrier(24)

    def ask(index: int) -> None:
        sheet = SHEET if index % 2 else "gsheets:0ZyXwVuTsRqPoNmLkJiH"
        start.wait()
        ticket = queue_or_join(engine, settings, sheet, trigger="api")
        found.append((ticket.run_id, ticket.joined))

    with destination_lock(engine, SHEET, "api", run_id=running.run_id):  # a live run holds it
        set_run(engine, running.run_id, status="running", started_at=utcnow())
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        set_run(engine, running.run_id, status="succeeded", finished_at=utcnow())
    assert sorted(found) == sorted([(running.run_id, True)] * 12 + [(other.run_id, True)] * 12)
    after = queue_or_join(engine, settings, SHEET, trigger="api")  # read after the run ended
    assert not after.joined and after.run_id != running.run_id


def test_a_spreadsheets_next_run_waits_for_the_interval_and_refreshes_meanwhile_join_it(
    loaded, settings, tmp_path
) -> None:
    """SHEETS_SYNC_MIN_SYNC_INTERVAL_SECONDS: a flood of refreshes is not a flood of syncs."""

    paced = settings.replace(min_sync_interval_seconds=1.5)
    pool = InProcessExecutor(loaded, paced, workers=2)
    book, other = f"xlsx:{tmp_path / 'ops.xlsx'}", f"xlsx:{tmp_path / 'other.xlsx'}"
    first = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",)))
    wait_until_run_ended(loaded, first.run_id)
    second = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",)))
    joined = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",)))
    elsewhere = request_sync(loaded, paced, pool, Job("", other, ("KPI Daily",)))
    pool.shutdown()
    assert joined.joined and joined.run_id == second.run_id  # it waited, queued: joinable
    one, two, three = (runs.get_run(loaded, t.run_id) for t in (first, second, elsewhere))
    assert (
        one and two and three and {one["status"], two["status"], three["status"]} == {"succeeded"}
    )
    assert (two["started_at"] - one["started_at"]).total_seconds() >= 1.5
    assert three["started_at"] < two["started_at"]  # another sheet: not held by the interval


def test_a_sync_interval_outside_the_job_timeout_is_refused() -> None:
    with pytest.raises(Exception, match=r"MIN_SYNC_INTERVAL_SECONDS=-1\.0 must be 0 or more"):
        Settings().replace(min_sync_interval_seconds=-1.0).validate()
    with pytest.raises(Exception, match="below JOB_TIMEOUT_SECONDS"):
        Settings().replace(min_sync_interval_seconds=900.0).validate()


def test_refreshes_join_a_run_still_waiting_in_this_process_without_reading_the_database(
    loaded, settings, tmp_path
) -> None:
    """The executor knows its own runs that have not started: joining them needs no query."""

    from sqlalchemy import event

    paced = settings.replace(min_sync_interval_seconds=2.0)
    pool = InProcessExecutor(loaded, paced, workers=1)
    book = f"xlsx:{tmp_path / 'ops.xlsx'}"
    first = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",)))
    wait_until_run_ended(loaded, first.run_id)
    waiting = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",)))
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(loaded, "before_cursor_execute", record)
    try:
        tickets = [
            request_sync(loaded, paced, pool, Job("", book, ("KPI Daily",))) for _ in range(5)
        ]
        assert statements == []  # five joins, not one query
        wider = request_sync(loaded, paced, pool, Job("", book, ("KPI Daily", "Quality")))
        assert statements  # a tab the waiting run lacks: the database widens it
    finally:
        event.remove(loaded, "before_cursor_execute", record)
    pool.shutdown()
    assert {(t.run_id, t.joined) for t in tickets} == {(waiting.run_id, True)}
    assert wider.joined and wider.run_id == waiting.run_id
    run = runs.get_run(loaded, waiting.run_id)
    assert run is not None and run["status"] == "succeeded" and run["tabs"] == "KPI Daily, Quality"
