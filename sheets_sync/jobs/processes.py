"""Syncs in processes of their own, at a lower CPU priority than the requests that queue them.

The in-process executor runs a refresh's sync beside the requests that keep
arriving: on the same CPUs and, on its threads, under the same GIL. A sync
is seconds of Python work; a request is a millisecond. With
``SHEETS_SYNC_JOB_PROCESSES=true`` each sync runs instead in a child process
(:class:`SyncProcesses`) whose nice value is raised by :data:`NICENESS`: the
operating system gives the request workers the CPU first and the sync the
rest, and the sync's Python never waits for, nor holds, a request's GIL.

Each run gets a child of its own, forked from a fork server started once
(so none inherits the threads, locks or connections of the worker that asked)
and ending with the run: a child that lived on after its sync kept ~70 MB
more than it started with, and one at rest per executor thread of both
workers would hold memory no sync uses (docs/scaling.md, "Memory"). The fork
server imports the sync's modules once (:data:`PRELOAD`), so a child starts
with them already loaded, sharing their pages with it. At most
``SHEETS_SYNC_JOB_WORKERS`` children run at once per worker (one per executor
thread), fewer when the memory budget says so (:mod:`sheets_sync.jobs.memory`).
A child that dies mid-run (out of memory, killed) fails its run at once with
the reason. Everything a run guarantees holds as in a thread: the run is
claimed in ``sync_runs`` only if still queued, holds the destination's lock
while it writes, and ends succeeded or failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection

from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.jobs import runs
from sheets_sync.jobs.run import Job, Outcome, run_job

log = logging.getLogger(__name__)

NICENESS = 10
"""Added to a sync process's nice value: the scheduler favours the requests ~10 to 1."""
PRELOAD = ["sheets_sync.jobs.processes"]
"""Imported once by the fork server: every child starts with the sync's modules loaded."""
DIED = "the sync's process stopped while it ran (killed?); request the sync again"

ChildSetup = Callable[[], None]
Runner = Callable[[Engine, Settings, Job], Outcome]
"""What runs the job in the child: :func:`run_job` (a module-level function, so the
fork server's child can find it by name), or a Cloud Tasks delivery's runner."""


class SyncProcesses:
    """Runs queued runs in child processes; ``child_setup`` prepares each child (its logging)."""

    def __init__(self, settings: Settings, child_setup: ChildSetup | None = None) -> None:
        self.settings = settings
        self.child_setup = child_setup
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    def run(self, engine: Engine, job: Job, runner: Runner = run_job) -> Outcome:
        """Run ``job`` with ``runner`` in a child of its own and wait for its outcome; an
        error the runner raises is raised here."""
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=_child, args=(self.settings, job, runner, self.child_setup, sender), daemon=True
        )
        child.start()
        sender.close()
        try:
            answer = _answer(receiver)
        finally:
            receiver.close()
            child.join()
        if isinstance(answer, Outcome):
            return answer
        if isinstance(answer, BaseException):
            raise answer
        for status in ("running", "queued"):
            runs.mark_failed(engine, job.run_id, DIED, only_if=status)
        log.error("run %s failed: %s", job.run_id, DIED)
        return Outcome(job.run_id, "failed", ran=True)

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to stop: each child ends with its run (the executor waits for them)."""


def _answer(receiver: Connection) -> object:
    """The child's outcome or error; None when it ended without one (killed, crashed)."""
    try:
        return receiver.recv()
    except EOFError:
        return None


def _child(
    settings: Settings,
    job: Job,
    runner: Runner,
    child_setup: ChildSetup | None,
    sender: Connection,
) -> None:
    """In the child: the same run a thread would make, on an engine of its own."""
    os.nice(NICENESS)
    if child_setup is not None:
        child_setup()
    engine = make_engine(settings.database.database_url)
    try:
        answer: object = runner(engine, settings, job)
    except BaseException as error:  # the parent raises it, as it would from a thread
        answer = error
    finally:
        engine.dispose()
    sender.send(answer)
    sender.close()
