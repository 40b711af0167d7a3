"""Syncs in child processes (sheets_sync/jobs/processes.py): the same runs, away from the requests.

With ``SHEETS_SYNC_JOB_PROCESSES`` a refresh's sync runs in a lower-priority
child process instead of on a thread beside the requests. It must record the
same run, write the same destination, and when its process dies, fail the
run at once (not leave it ``running``) and let the next run start afresh.
Both databases.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from helpers import wait_until_run_ended
from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.jobs import runs
from sheets_sync.jobs.executor import InProcessExecutor, request_sync
from sheets_sync.jobs.processes import NICENESS, SyncProcesses
from sheets_sync.jobs.run import Job


def note_child(folder: str) -> None:
    """Child set-up for the tests: which process ran, at which nice value."""
    Path(folder, f"child-{os.getpid()}").write_text(str(os.nice(0)))


def die_if_told(folder: str) -> None:
    """Child set-up that dies, as an out-of-memory kill would, while ``die`` exists."""
    if Path(folder, "die").exists():
        os._exit(9)


def executor_with(engine: Engine, settings: Settings, setup) -> InProcessExecutor:
    settings = settings.replace(job_processes=True)
    return InProcessExecutor(engine, settings, 2, SyncProcesses(settings, setup))


def test_a_sync_runs_in_a_lower_priority_child_and_records_its_run(
    loaded, settings, tmp_path
) -> None:
    executor = executor_with(loaded, settings, functools.partial(note_child, str(tmp_path)))
    book = tmp_path / "ops.xlsx"
    job = Job("", f"xlsx:{book}", ("KPI Daily",), "menu", "ana@x.com", {"country": ("FR",)})
    ticket = request_sync(loaded, settings, executor, job)
    executor.shutdown()
    run = runs.get_run(loaded, ticket.run_id)
    assert run is not None and run["status"] == "succeeded", run and run["error"]
    assert run["requested_by"] == "ana@x.com" and run["cells_written"] > 0 and book.exists()
    [child] = tmp_path.glob("child-*")
    assert int(child.name.removeprefix("child-")) != os.getpid()
    assert int(child.read_text()) == os.nice(0) + NICENESS


def test_a_sync_process_that_dies_fails_its_run_and_the_next_run_gets_a_new_one(
    loaded, settings, tmp_path
) -> None:
    (tmp_path / "die").touch()
    executor = executor_with(loaded, settings, functools.partial(die_if_told, str(tmp_path)))
    first = request_sync(loaded, settings, executor, Job("", f"xlsx:{tmp_path / 'a.xlsx'}"))
    run = wait_until_run_ended(loaded, first.run_id)
    assert run["status"] == "failed"
    assert "process stopped" in run["error"] and "request the sync again" in run["error"]

    (tmp_path / "die").unlink()
    second = request_sync(loaded, settings, executor, Job("", f"xlsx:{tmp_path / 'a.xlsx'}"))
    executor.shutdown()
    assert not second.joined
    run = runs.get_run(loaded, second.run_id)
    assert run is not None and run["status"] == "succeeded", run and run["error"]


def test_each_run_gets_a_child_of_its_own_which_ends_with_it(loaded, settings, tmp_path) -> None:
    """A child left at rest after a full sync held ~140 MB (bench/sync_memory.py): none stays."""
    executor = executor_with(loaded, settings, functools.partial(note_child, str(tmp_path)))
    for name in ("a", "b"):
        job = Job("", f"xlsx:{tmp_path / f'{name}.xlsx'}", ("Onboarding",))
        ticket = request_sync(loaded, settings, executor, job)
        run = wait_until_run_ended(loaded, ticket.run_id)
        assert run["status"] == "succeeded", run["error"]
    executor.shutdown()
    pids = [int(p.name.removeprefix("child-")) for p in tmp_path.glob("child-*")]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    for pid in pids:  # ended, not idle: /proc has no such process (or a zombie at most)
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text()
