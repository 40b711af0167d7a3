"""Syncs in processes of their own, at a lower CPU priority than the requests that queue them.

The in-process executor runs a refresh's sync beside the requests that keep
arriving: on the same CPUs and, on its threads, under the same GIL. A sync
is seconds of Python work; a request is a millisecond. With
``SHEETS_SYNC_JOB_PROCESSES=true`` each sync runs instead in a child process
(:class:`SyncProcesses`) whose nice value is raised by :data:`NICENESS`: the
operating system gives the request workers the CPU first and the sync the
rest, and the sync's Python never waits for, nor holds, a request's GIL.

Children are forked from a fork server started once, so none inherits the
threads, locks or connections of the worker that asked; each opens its own
engine, keeps it for its next runs, and is started only when a run needs it
(at most ``SHEETS_SYNC_JOB_WORKERS`` at once). A child that dies mid-run (out of
memory, killed) fails its run at once with the reason, and the next run gets
a new child. Everything a run guarantees holds as in a thread: the run is
claimed in ``sync_runs`` only if still queued, holds the destination's lock
while it writes, and ends succeeded or failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.jobs import runs
from sheets_sync.jobs.run import Job, Outcome, run_job

log = logging.getLogger(__name__)

NICENESS = 10
"""Added to a sync process's nice value: the scheduler favours the requests ~10 to 1."""

ChildSetup = Callable[[], None]


class SyncProcesses:
    """Runs queued runs in child processes; ``child_setup`` prepares each child (its logging)."""

    def __init__(self, settings: Settings, child_setup: ChildSetup | None = None) -> None:
        self.settings = settings
        self.child_setup = child_setup
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def run(self, engine: Engine, job: Job) -> Outcome:
        """Run ``job`` in a child and wait for its outcome."""
        pool = self._current_pool()
        try:
            return pool.submit(_run_in_child, self.settings, job).result()
        except BrokenProcessPool:
            self._replace(pool)
            reason = "the sync's process stopped while it ran (killed?); request the sync again"
            for status in ("running", "queued"):
                runs.mark_failed(engine, job.run_id, reason, only_if=status)
            log.error("run %s failed: %s", job.run_id, reason)
            return Outcome(job.run_id, "failed", ran=True)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)

    def _current_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.settings.jobs.job_workers,
                    mp_context=context,
                    initializer=_child_started,
                    initargs=(self.child_setup,),
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False)


_CHILD_ENGINES: dict[str, Engine] = {}


def _child_started(child_setup: ChildSetup | None) -> None:
    os.nice(NICENESS)
    if child_setup is not None:
        child_setup()


def _run_in_child(settings: Settings, job: Job) -> Outcome:
    """In the child: the same run a thread would make, on the child's own engine."""
    engine = _CHILD_ENGINES.get(settings.database.database_url)
    if engine is None:
        engine = _CHILD_ENGINES.setdefault(
            settings.database.database_url, make_engine(settings.database.database_url)
        )
    return run_job(engine, settings, job)
