"""Running one run: claimed under its destination's lock, synced, and its end recorded.

docs/design.md §8. The one place a sync becomes a recorded run. Whoever runs
it — the CLI (:func:`sync_now`), an executor's thread or child process
(:func:`run_job`), the Cloud Tasks endpoint (:func:`run_queued`) — goes
through :func:`_attempt`:

1. take the destination's lock in the run's name
   (:func:`sheets_sync.locks.destination_lock`; one run per destination at a
   time), the run staying ``queued`` while it waits, so a refresh joins it
   instead of queueing a twin;
2. holding it, fail the destination's runs still marked running, whose process
   was killed while it held the lock (:func:`queue.fail_dead_running`);
3. claim the run: queued → running only if it is still queued with the tabs
   that were read (:func:`runs.claim_run`), so a run delivered twice runs once
   and a run widened meanwhile is read again;
4. sync (:func:`sheets_sync.sync.run_sync`) and record the end, succeeded or
   failed, before letting the lock go: the lock is taken *before* the run is
   marked running and given back *after* its end is written, so a live run is
   never taken for dead and a ``running`` run without its lock is a dead one.

Every status change is a function of :mod:`sheets_sync.jobs.runs`. This module
never imports Flask.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync.backends.base import SheetBackend, WriteOptions
from sheets_sync.config import Settings
from sheets_sync.config.parts import LocksSettings
from sheets_sync.errors import DatabaseError, RunChanged, TransientError
from sheets_sync.jobs import runs
from sheets_sync.jobs.queue import fail_dead_running
from sheets_sync.locks import destination_lock
from sheets_sync.locks.holder import Holder
from sheets_sync.sync import Progress, SyncPlan, SyncResult, plan_sync, run_sync

log = logging.getLogger(__name__)

MAX_CLAIMS = 20
"""Tries to start a run whose tabs keep being widened (each widening adds a tab)."""


@dataclass(frozen=True)
class Job:
    """What the executor needs to run a queued run (``tabs`` empty = every tab)."""

    run_id: str
    destination: str
    tabs: tuple[str, ...] = ()
    trigger: str = "api"
    requested_by: str | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    request_id: str | None = None
    """The id of the request that queued the run, stamped on the run's log lines."""


RUN_CONTEXT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("run", default=None)
"""The job the current executor thread runs, for log lines made outside any request."""


@dataclass(frozen=True)
class Outcome:
    """What :func:`run_queued` did: ``ran`` it, or found it ``status`` (None = no such run)."""

    run_id: str
    status: str | None
    ran: bool


@dataclass(frozen=True)
class _Request:
    """What a run's sync is asked beyond its plan: who asked, and how to write."""

    trigger: str
    requested_by: str | None
    options: WriteOptions
    progress: Progress | None = None
    as_of: dt.date | None = None
    filters: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class _Attempt:
    """How one try at starting a run went.

    ``result``: it ran and succeeded. ``changed``: it was no longer queued as
    read, so it was not started and is left as it is. ``unstarted``: it could
    not start (lock busy, database gone) and is still queued; the caller fails
    it or lets the queue retry.
    """

    result: SyncResult | None = None
    changed: bool = False
    unstarted: BaseException | None = None


def sync_now(
    engine: Engine,
    settings: Settings,
    destination: str | SheetBackend,
    tabs: Sequence[str] | None = None,
    trigger: str = "cli",
    requested_by: str | None = None,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    filters: Mapping[str, tuple[str, ...]] | None = None,
    allow_shrink: bool = False,
    adopt: bool = False,
) -> SyncResult:
    """Record a run of ``destination``, run it here and now, and record its end; raise on failure.

    The CLI's sync. Usage errors (unknown tab, bad destination, uninitialised
    database) are raised before any run is recorded; anything failing after
    that is recorded as failed and re-raised — a wait for the lock that runs
    out as well, with the :class:`BusyError` naming the holder, so a queued row
    never stays behind. ``allow_shrink`` and ``adopt`` lift two guards of the
    team's sheet for this run (see :class:`WriteOptions`). A refresh that
    widened the run while it waited for the lock leaves it queued for the
    refresh's runner: :class:`RunChanged` is raised.
    """
    plan = plan_sync(engine, settings, destination, tabs)
    run_id = runs.queue_run(engine, plan.destination, trigger, requested_by, plan.titles)
    options = WriteOptions(allow_shrink, settings.sheets.max_shrink_share, adopt)
    request = _Request(trigger, requested_by, options, progress, as_of, filters)
    attempt = _attempt(engine, settings, plan, run_id, plan.titles, request)
    if attempt.changed:
        raise RunChanged(f"run {run_id} is no longer queued as read; not started")
    if attempt.unstarted is not None:
        runs.mark_failed(engine, run_id, attempt.unstarted, only_if="queued")
        raise attempt.unstarted
    assert attempt.result is not None
    return attempt.result


def run_job(engine: Engine, settings: Settings, job: Job) -> Outcome:
    """Run a queued job to its end, its log lines stamped with its run and request ids."""
    token = RUN_CONTEXT.set(job)
    try:
        outcome = run_queued(engine, settings, job.run_id, job.filters)
        if not outcome.ran:
            log.warning("run %s is no longer queued; not started", job.run_id)
        elif outcome.status == "succeeded":
            log.info("run %s succeeded", job.run_id)
        return outcome
    finally:
        RUN_CONTEXT.reset(token)


def run_delivered(engine: Engine, settings: Settings, job: Job) -> Outcome:
    """A queue's delivery of a run (Cloud Tasks): one that could not start for a passing
    reason stays queued and its :class:`TransientError` is raised for the queue to retry.

    The caller logs the outcome: a delivery of a run already taken is not a warning.
    """
    token = RUN_CONTEXT.set(job)
    try:
        return run_queued(engine, settings, job.run_id, job.filters, retry_unstarted=True)
    finally:
        RUN_CONTEXT.reset(token)


def run_queued(
    engine: Engine,
    settings: Settings,
    run_id: str,
    filters: Mapping[str, tuple[str, ...]] | None = None,
    *,
    retry_unstarted: bool = False,
) -> Outcome:
    """Run a queued run to its end with the tabs its row holds now; leave any other run be.

    The in-process executor and the Cloud Tasks endpoint share it, so a run
    delivered twice runs once (:func:`runs.claim_run`). With ``retry_unstarted``
    a run that could not start for a passing reason (lock busy, database gone)
    stays queued and the :class:`TransientError` is raised for the queue to retry;
    otherwise (and for other errors) it ends failed.
    """
    for _ in range(MAX_CLAIMS):
        run = runs.get_run(engine, run_id)
        if run is None or run["status"] != "queued":
            return Outcome(run_id, run["status"] if run else None, ran=False)
        try:
            attempt = _attempt_queued(engine, settings, run, filters)
        except BaseException as error:  # planning refused it, or it failed once started
            if retry_unstarted and _transient(error) and _still_queued(engine, run_id):
                raise
            return _failed(engine, run_id, error)
        if attempt.changed or (attempt.unstarted is not None and not _still_queued(engine, run_id)):
            continue  # widened, or another delivery took it meanwhile: read it again
        if attempt.unstarted is not None:
            if retry_unstarted and _transient(attempt.unstarted):
                raise attempt.unstarted from None
            return _failed(engine, run_id, attempt.unstarted)
        return Outcome(run_id, "succeeded", ran=True)
    raise RunChanged(f"run {run_id} was changed {MAX_CLAIMS} times while starting; retry")


def _attempt_queued(
    engine: Engine,
    settings: Settings,
    run: Mapping[str, Any],
    filters: Mapping[str, tuple[str, ...]] | None,
) -> _Attempt:
    """One try at a queued run, claimed only if its row still holds the tabs read here."""
    tabs = run["tabs"].split(", ") if run["tabs"] else None
    plan = plan_sync(engine, settings, str(run["spreadsheet"]), tabs)
    options = WriteOptions(False, settings.sheets.max_shrink_share, False)
    request = _Request(str(run["trigger"]), run["requested_by"], options, filters=filters or None)
    return _attempt(engine, settings, plan, str(run["run_id"]), tabs, request)


def _attempt(
    engine: Engine,
    settings: Settings,
    plan: SyncPlan,
    run_id: str,
    claim_tabs: Sequence[str] | None,
    request: _Request,
) -> _Attempt:
    """Lock, sweep, claim, sync, record the end (the module doc's four steps).

    A failure once the run is claimed is recorded (under the lock when it can
    be) and raised; anything before the claim is returned as ``unstarted``.
    """
    started = recorded = False
    waited_before = plan.backend.quota_wait_seconds
    try:
        with _lock(engine, settings.locks, plan.destination, run_id, request):
            fail_dead_running(engine, settings, plan.destination)  # killed while holding it
            if not runs.claim_run(engine, run_id, claim_tabs):
                return _Attempt(changed=True)
            started = True
            try:
                result = _sync(engine, plan, run_id, request)
            except BaseException as error:
                waited = plan.backend.quota_wait_seconds - waited_before
                runs.mark_failed(engine, run_id, error, quota_wait_seconds=waited)  # under the lock
                recorded = True
                raise
    except BaseException as error:
        if not started:
            return _Attempt(unstarted=error)
        if not recorded:
            runs.mark_failed(engine, run_id, error)
        raise
    return _Attempt(result=result)


def _lock(
    engine: Engine, locks: LocksSettings, destination: str, run_id: str, request: _Request
) -> contextlib.AbstractContextManager[Holder]:
    """The destination's lock, taken in the run's name with a note of who asked."""
    by = request.requested_by
    return destination_lock(
        engine,
        destination,
        f"{request.trigger} by {by}" if by else request.trigger,
        run_id=run_id,
        wait_seconds=locks.lock_wait_seconds,
        lease_seconds=locks.lock_lease_seconds,
    )


def _sync(engine: Engine, plan: SyncPlan, run_id: str, request: _Request) -> SyncResult:
    """The sync of a claimed run, then its success recorded with the backend's figures."""
    result = run_sync(
        engine, plan, run_id, request.options, request.progress, request.as_of, request.filters
    )
    runs.mark_succeeded(
        engine, run_id, tabs=plan.titles, written=result.written, warnings=result.warnings,
        quota_wait_seconds=result.quota_wait_seconds,
    )  # fmt: skip
    return result


def _failed(engine: Engine, run_id: str, error: BaseException) -> Outcome:
    _fail_if_still_queued(engine, run_id, error)
    log.error("run %s failed: %s", run_id, runs.describe_error(error))
    return Outcome(run_id, "failed", ran=True)


def _transient(error: BaseException) -> bool:
    return isinstance(error, TransientError | SQLAlchemyError | DatabaseError)


def _still_queued(engine: Engine, run_id: str) -> bool:
    with contextlib.suppress(Exception):
        run = runs.get_run(engine, run_id)
        return run is not None and run["status"] == "queued"
    return True  # the database is gone: nothing was recorded, so it is still queued


def _fail_if_still_queued(engine: Engine, run_id: str, error: BaseException) -> None:
    """Planning raises some errors (bad tab, no schema) before the run is claimed."""
    with contextlib.suppress(Exception):
        runs.mark_failed(engine, run_id, error, only_if="queued")
