"""The instance's memory budget (sheets_sync/jobs/memory.py): syncs that would not fit wait.

An F2 instance has 768 MB for its gunicorn worker and every sync it
starts; one sync of every tab peaks near 300 MB. Syncs reserve their estimated
peak before they start: those that fit run, the next waits its turn (its run
still queued, the reason noted on it) and runs when one ends; a sync bigger
than the whole budget runs alone rather than never. The reservations hold
across processes and are given back when a process dies. No test here
measures time: each waits for an event, bounded only so a bug fails instead of
hanging.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_until_run_ended

from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import runs
from sheets_sync.jobs.executor import InProcessExecutor, request_sync
from sheets_sync.jobs.memory import MemoryBudget, Waiting, default_directory, estimate_mb
from sheets_sync.jobs.processes import SyncProcesses
from sheets_sync.jobs.run import Job

BOUND = 60.0
"""Seconds an event may take before the test fails (never a figure the test measures)."""


class Sync:
    """A sync reserving ``mb`` on a thread of its own until told to end."""

    def __init__(self, budget: MemoryBudget, name: str, mb: int) -> None:
        self.waiting = threading.Event()
        self.admitted = threading.Event()
        self.end = threading.Event()
        self.told: list[Waiting] = []
        self.thread = threading.Thread(target=self._run, args=(budget, name, mb), daemon=True)
        self.thread.start()

    def _run(self, budget: MemoryBudget, name: str, mb: int) -> None:
        with budget.reserve(name, mb, self._on_wait):
            self.admitted.set()
            self.end.wait(BOUND)

    def _on_wait(self, waiting: Waiting) -> None:
        self.told.append(waiting)
        self.waiting.set()

    def finish(self) -> None:
        self.end.set()
        self.thread.join(BOUND)
        assert not self.thread.is_alive()


@pytest.fixture
def budget(tmp_path: Path) -> MemoryBudget:
    return MemoryBudget(1000, tmp_path / "budget", poll_seconds=0.01)


def admitted(sync: Sync) -> Sync:
    assert sync.admitted.wait(BOUND), "the sync was never admitted"
    return sync


def waits(sync: Sync) -> Sync:
    assert sync.waiting.wait(BOUND), "the sync was admitted instead of waiting"
    assert not sync.admitted.is_set()
    return sync


def test_the_budget_admits_the_syncs_that_fit_and_the_next_waits_then_runs(budget) -> None:
    first, second = admitted(Sync(budget, "a", 400)), admitted(Sync(budget, "b", 400))
    third = waits(Sync(budget, "c", 400))
    assert third.told[0].used == 800 and third.told[0].running == 2
    assert "needs ~400 MB" in third.told[0].reason()
    assert "hold 800 of 1000 MB (SHEETS_SYNC_MEMORY_BUDGET_MB)" in third.told[0].reason()
    first.finish()
    admitted(third)
    assert sorted(budget.holders()) == ["b", "c"]
    second.finish()
    third.finish()
    assert budget.holders() == []


def test_a_sync_bigger_than_the_budget_runs_alone_never_refused(budget) -> None:
    small = admitted(Sync(budget, "small", 100))
    big = waits(Sync(budget, "big", 5000))  # it would never fit beside anything
    small.finish()
    admitted(big)
    after = waits(Sync(budget, "after", 10))  # alone: nothing runs beside it
    big.finish()
    admitted(after).finish()


def test_waiting_syncs_start_in_the_order_they_came(budget) -> None:
    """A small sync arriving behind a big waiting one does not pass it (no starvation)."""
    running = admitted(Sync(budget, "running", 700))
    big = waits(Sync(budget, "big", 600))
    small = waits(Sync(budget, "small", 100))  # 700 + 100 would fit, but big came first
    assert small.told[0].ahead == 1 and "behind 1 other waiting sync" in small.told[0].reason()
    running.finish()
    admitted(big)
    admitted(small)
    big.finish()
    small.finish()


def test_a_sync_that_does_not_fit_now_can_be_refused_instead_of_waiting(budget) -> None:
    held = admitted(Sync(budget, "held", 900))
    told: list[Waiting] = []
    with budget.reserve("task", 200, told.append, wait=False) as waited:
        assert waited is None
    assert told and told[0].used == 900
    assert budget.holders() == ["held"]  # the refused one left nothing behind
    held.finish()
    with budget.reserve("task", 200, told.append, wait=False) as waited:
        assert waited is not None and budget.holders() == ["task"]


def test_two_syncs_that_fit_arriving_together_both_start_whoever_looks_first(budget) -> None:
    """The later of two arrivals may look before the earlier one has: it must not be refused
    (a Cloud Tasks delivery does not wait) for a waiter ahead that fits beside it anyway."""
    earlier = budget._enqueue("earlier", 400)  # queued its file, has not looked yet
    try:
        with budget.reserve("later", 400, wait=False) as waited:
            assert waited is not None and budget.holders() == ["later"]
    finally:
        os.close(earlier[0])


def test_a_later_sync_that_fits_does_not_pass_a_waiter_ahead_that_would_not(budget) -> None:
    running = admitted(Sync(budget, "running", 500))
    big = waits(Sync(budget, "big", 600))
    with budget.reserve("task", 100, wait=False) as waited:
        assert waited is None  # 500 + 100 fits, but not with big's 600 ahead of it
    running.finish()
    admitted(big).finish()


def test_no_budget_admits_everything(tmp_path) -> None:
    off = MemoryBudget(0, tmp_path / "off")
    with off.reserve("a", 10_000) as first, off.reserve("b", 10_000) as second:
        assert first == 0.0 and second == 0.0
    assert not (tmp_path / "off").exists()


def _hold_in_child(directory: str, ready: str) -> None:
    """Another process of the instance: it holds 900 MB until it is killed."""
    with MemoryBudget(1000, Path(directory)).reserve("child", 900):
        Path(ready).touch()
        threading.Event().wait()


def test_the_budget_holds_across_processes_and_a_dead_process_gives_its_share_back(
    budget, tmp_path
) -> None:
    ready = tmp_path / "ready"
    context = multiprocessing.get_context("forkserver")
    child = context.Process(target=_hold_in_child, args=(str(budget.directory), str(ready)))
    child.start()
    try:
        with contextlib.suppress(AssertionError):
            _wait_for(ready.exists)
        assert ready.exists() and budget.holders() == ["child"]
        here = waits(Sync(budget, "here", 200))  # 900 + 200 > 1000, held by another process
        os.kill(child.pid or 0, signal.SIGKILL)  # killed mid-sync: no code of ours runs
        admitted(here).finish()
    finally:
        child.kill()
        child.join()


def _wait_for(condition) -> None:
    done = threading.Event()
    for _ in range(int(BOUND / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition never met")


# -- the estimate and the settings ------------------------------------------------------


def test_a_sync_is_estimated_by_its_tabs_pricing_above_kpi_daily() -> None:
    jobs = Settings().jobs
    every = estimate_mb(jobs, None)
    assert every == jobs.sync_memory_mb == estimate_mb(jobs, [])
    pricing, daily = estimate_mb(jobs, ["Pricing"]), estimate_mb(jobs, ["KPI Daily"])
    assert daily < pricing < every
    assert estimate_mb(jobs, ["Pricing", "KPI Daily", "KPI Weekly", "Quality"]) <= every
    assert estimate_mb(jobs, ["A team's own tab"]) < daily


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SHEETS_SYNC_MEMORY_BUDGET_MB", "-1", "MEMORY_BUDGET_MB=-1 must be 0 (no budget)"),
        ("SHEETS_SYNC_MEMORY_BUDGET_MB", "lots", "MEMORY_BUDGET_MB='lots' is not a valid int"),
        ("SHEETS_SYNC_SYNC_MEMORY_MB", "0", "SYNC_MEMORY_MB=0 must be 1 or more"),
        ("SHEETS_SYNC_MEMORY_BUDGET_DIR", "tmp/budget", "must be an absolute folder"),
    ],
)
def test_bad_memory_settings_are_refused_naming_the_variable_and_the_fix(
    variable, value, message
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.load(environ={variable: value})


def test_the_default_budget_folder_is_the_instance_s_temporary_folder(tmp_path) -> None:
    settings = Settings.load(environ={"SHEETS_SYNC_MEMORY_BUDGET_DIR": str(tmp_path / "b")})
    assert MemoryBudget.from_settings(settings.jobs).directory == tmp_path / "b"
    assert MemoryBudget.from_settings(Settings().jobs).directory == default_directory()
    assert default_directory().parent == Path(os.environ["TMPDIR"])


# -- the executor: a run waits queued, with the reason, then runs --------------------------


@contextlib.contextmanager
def instance_full(budget: MemoryBudget) -> Iterator[Sync]:
    """Another sync of the instance holding the whole budget until the block ends."""
    other = admitted(Sync(budget, "other", budget.budget_mb))
    try:
        yield other
    finally:
        other.finish()


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "sync processes"])
def test_a_run_that_does_not_fit_stays_queued_with_the_reason_then_runs_and_says_it_waited(
    loaded, settings, tmp_path, processes
) -> None:
    settings = settings.replace(memory_budget_dir=tmp_path / "budget", memory_budget_mb=500)
    budget = MemoryBudget.from_settings(settings.jobs)
    budget.poll_seconds = 0.01
    children = SyncProcesses(settings) if processes else None
    executor = InProcessExecutor(loaded, settings, 2, children, budget)
    job = Job("", f"xlsx:{tmp_path / 'ops.xlsx'}", ("KPI Daily",), "menu", "ana@x.com")
    with instance_full(budget):
        ticket = request_sync(loaded, settings, executor, job)
        _wait_for(lambda: (runs.get_run(loaded, ticket.run_id) or {}).get("warnings"))
        run = runs.get_run(loaded, ticket.run_id)
        assert run is not None and run["status"] == "queued"
        assert run["warnings"].startswith("waiting for memory: needs ~")
        assert "hold 500 of 500 MB" in run["warnings"]
        assert request_sync(loaded, settings, executor, job).joined  # still joinable
    run = wait_until_run_ended(loaded, ticket.run_id)
    executor.shutdown()
    assert run["status"] == "succeeded", run["error"]
    first, *rest = run["warnings"].split("\n")
    assert first.startswith("waited ") and "s for memory: needed ~" in first
    assert "held 500 of 500 MB" in first and "waiting" not in "\n".join(rest)
    assert budget.holders() == []
