"""The in-process executor: queued runs run on a bounded thread pool of this process.

docs/design.md §8. :class:`InProcessExecutor` runs the runs a refresh queued
(:func:`request_sync`, the queue-or-join of :mod:`sheets_sync.jobs.queue`) on
its threads, so a run outlives the HTTP request that asked for it and still
records its result; the pool's threads are joined at interpreter exit. With
:class:`~sheets_sync.jobs.processes.SyncProcesses` each thread waits on a child
process running the sync instead. The Cloud Tasks executor
(:mod:`sheets_sync.jobs.cloud_tasks`) hands the run to a queue instead; all of
them end in :func:`sheets_sync.jobs.run.run_queued`, which starts a run only if
it is still queued with the tabs it read, so a run delivered twice runs once.

This module never imports Flask: the webhook, the CLI and tests share it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.jobs import runs
from sheets_sync.jobs.memory import MemoryBudget, admitted
from sheets_sync.jobs.processes import Runner, SyncProcesses
from sheets_sync.jobs.queue import Ticket, destination_name, queue_or_join
from sheets_sync.jobs.run import Job, Outcome, run_job
from sheets_sync.jobs.runs import ACTIVE
from sheets_sync.schema import sync_runs

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often a follow-up (the nightly alerts) checks whether its runs have ended."""


class InProcessExecutor:
    """Runs queued runs on at most ``workers`` threads of this process.

    A run is started only if it is still queued (a sweep may have failed it);
    whatever happens, it ends succeeded or failed in ``sync_runs``.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        workers: int = 4,
        processes: SyncProcesses | None = None,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.engine, self.settings = engine, settings
        self.processes = processes
        """With ``processes``, each thread waits on a child process running the sync."""
        self.budget = budget or MemoryBudget.from_settings(settings.jobs)
        """The instance's memory, shared with its other processes (:mod:`.memory`)."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheets-sync-job")
        self._lock = threading.Lock()
        self._follow_ups: list[threading.Thread] = []
        self._not_started: dict[str, tuple[Job, float]] = {}
        """Per destination name, the run handed over and not started, and when it came."""

    def submit(self, job: Job) -> Future[None]:
        with self._lock:
            self._not_started[destination_name(job.destination)] = (job, time.monotonic())
            return self._pool.submit(self._run, job)

    def not_started(self, name: str, wanted: Sequence[str]) -> str | None:
        """A run of ``name`` this executor holds and has not started, if it covers ``wanted``.

        Joining it needs no read: it has not read anything yet, and it is struck
        from here before it is claimed, so whoever joins it before that is
        synced by it. (With the pacing interval a run waits here for seconds,
        while the refreshes of a busy sheet keep coming.) A run widened since by
        another process may cover more than ``job.tabs``: asking the database
        then is merely the slower path.
        """
        with self._lock:
            job, submitted = self._not_started.get(name, (None, 0.0))
        if job is None or (job.tabs and not (wanted and set(wanted) <= set(job.tabs))):
            return None
        if time.monotonic() - submitted > self.settings.jobs.job_timeout_seconds / 2:
            return None  # the pool is that busy: a sweep may soon take it for dead
        return job.run_id

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let the queued runs and follow-ups finish."""
        self._pool.shutdown(wait=wait)
        if self.processes is not None:
            self.processes.shutdown(wait=wait)
        for follow_up in list(self._follow_ups) if wait else []:
            follow_up.join()

    def after(self, run_ids: Sequence[str], name: str, task: Callable[[], object]) -> None:
        """Run ``task`` once every run of ``run_ids`` has ended (whichever process runs it).

        On a thread of its own, not the pool's: waiting on a pool thread could
        hold the very worker the runs wait for.
        """

        def follow_up() -> None:
            try:
                wait_for_runs(self.engine, run_ids, self.settings.jobs.job_timeout_seconds)
                task()
            except Exception as error:
                log.error("%s failed: %s", name, runs.describe_error(error))

        thread = threading.Thread(target=follow_up, name=f"sheets-sync-{name}")
        self._follow_ups.append(thread)
        thread.start()

    def _run(self, job: Job) -> None:
        """Pace, wait for the memory the run needs (still queued and joinable), run it."""
        self._pace(job)
        try:
            with admitted(self.budget, self.engine, self.settings.jobs, job.run_id):
                with self._lock:  # from now on it may read: nobody joins it blind
                    name = destination_name(job.destination)
                    if self._not_started.get(name, (None,))[0] is job:
                        del self._not_started[name]
                self.run_now(job)
        except Exception as error:  # nobody waits on the future: say it, the sweep fails the run
            log.error("run %s: %s", job.run_id, runs.describe_error(error))

    def run_now(self, job: Job, runner: Runner = run_job) -> Outcome:
        """Run ``job`` with ``runner`` and wait for it: in a sync child process when this
        executor has them (``SHEETS_SYNC_JOB_PROCESSES``), else on the calling thread.
        The executor's own threads and a Cloud Tasks delivery's request both come here."""
        if self.processes is not None:
            return self.processes.run(self.engine, job, runner)
        return runner(self.engine, self.settings, job)

    def _pace(self, job: Job) -> None:
        """Wait until the spreadsheet's last run started ``min_sync_interval_seconds`` ago.

        A flood of refreshes of one spreadsheet (a script in a loop, a team
        clicking Refresh) would otherwise run one sync after another, each a
        handful of Sheets writes, towards the API's 60 writes a minute per user.
        queue.yaml paces Cloud Tasks (10 a minute, all spreadsheets); this paces
        each spreadsheet on the in-process executor. The run stays queued while
        it waits, so the refreshes arriving meanwhile join it.
        """
        interval = self.settings.jobs.min_sync_interval_seconds
        if interval <= 0:
            return
        started = runs.last_start(self.engine, destination_name(job.destination))
        if started is not None:
            wait = (started - utcnow()).total_seconds() + interval
            time.sleep(min(max(wait, 0.0), interval))


def request_sync(
    engine: Engine,
    settings: Settings,
    executor: InProcessExecutor,
    job: Job,
) -> Ticket:
    """Queue-or-join ``job.destination``; a new run is handed to ``executor``.

    A run this process's executor holds and has not started is joined without
    asking the database (:meth:`InProcessExecutor.not_started`).
    """
    waiting = executor.not_started(destination_name(job.destination), job.tabs)
    if waiting is not None:
        return Ticket(waiting, joined=True)
    ticket = queue_or_join(
        engine,
        settings,
        job.destination,
        trigger=job.trigger,
        requested_by=job.requested_by,
        tabs=job.tabs,
    )
    if not ticket.joined:
        executor.submit(dataclasses.replace(job, run_id=ticket.run_id))
    return ticket


def wait_for_runs(engine: Engine, run_ids: Sequence[str], timeout: float) -> None:
    """Return once none of ``run_ids`` is queued or running (polled: other processes run some)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            query = select(sync_runs.c.run_id).where(
                sync_runs.c.run_id.in_(list(run_ids)) & sync_runs.c.status.in_(ACTIVE)
            )
            if conn.execute(query).first() is None:
                return
        time.sleep(POLL_SECONDS)
