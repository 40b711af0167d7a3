"""``POST /tasks/refresh``: Cloud Tasks delivers a queued run here and it runs to the end.

docs/design.md §8, :mod:`sheets_sync.jobs.cloud_tasks`. Only the queue may call it
(:func:`webhook.auth._task_caller`). The answer tells the queue what to do:

- **200** when the run is done: it ran here now, or had already ended (a task
  delivered twice does nothing the second time), or it is unknown (nothing a
  retry could fix). The body says which.
- **409** while another delivery is running it: the queue tries again later
  and gets 200 once it has ended.
- **503** (with ``Retry-After``) when it could not start for a passing reason
  (another run holds the spreadsheet past ``SHEETS_SYNC_LOCK_WAIT_SECONDS``,
  the database is down, or the instance's memory budget has no room for it
  now, :mod:`sheets_sync.jobs.memory`): the run stays queued and the queue's
  retry runs it. A delivery never waits for memory in the request: that would
  hold one of the worker's request threads.

With ``SHEETS_SYNC_JOB_PROCESSES`` (app.yaml) the sync runs in a child process at a
lower CPU priority, as the in-process executor's do (:mod:`sheets_sync.jobs.processes`),
while the request's thread waits for it: the worker answering the menu's requests
keeps neither the sync's GIL time nor the ~400 MB its heap would otherwise hold on to.

A run that started and failed is final (recorded failed with its error, 200):
the queue does not re-run what the team has seen fail; a new refresh does.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from sheets_sync.errors import MemoryBusy
from sheets_sync.jobs import runs
from sheets_sync.jobs.memory import admitted
from sheets_sync.jobs.queue import sweep_stale
from sheets_sync.jobs.run import RUN_CONTEXT, Job, Outcome, run_delivered
from sheets_sync.registry import scope_of
from webhook import runtime
from webhook.auth import requires_auth
from webhook.body import Field, json_body
from webhook.errors import BadRequest

log = logging.getLogger(__name__)
bp = Blueprint("tasks", __name__)

TASK_BODY = {"run_id": Field("string", required=True), "request_id": Field("string")}
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GSHEETS = "gsheets:"


@bp.post("/tasks/refresh")
@requires_auth("task")
def run_task() -> ResponseReturnValue:
    """Run the queued run the task names; see the module doc for the answers."""
    body = json_body(TASK_BODY)
    run_id = body["run_id"].strip()
    if not _RUN_ID.match(run_id):
        raise BadRequest("run_id", "not a run id; expected the UUID the refresh answered")
    run = runs.get_run(runtime.engine(), run_id)
    if run is None:
        log.warning("task for unknown run %s dropped", run_id)
        return jsonify(run_id=run_id, status=None, ran=False), 200
    job = Job(run_id, str(run["spreadsheet"]), request_id=body.get("request_id"))
    token = RUN_CONTEXT.set(job)
    try:
        outcome = _run(job)
    finally:
        RUN_CONTEXT.reset(token)
    answer = jsonify(run_id=run_id, status=outcome.status, ran=outcome.ran)
    return answer, 409 if outcome.status == "running" else 200


def _run(delivered: Job) -> Outcome:
    """Run it with its spreadsheet's registered scope, in a sync process of its own when the
    instance has them (``SHEETS_SYNC_JOB_PROCESSES``): the worker then keeps neither the
    sync's memory nor its GIL time. A run whose process died is failed."""
    engine, settings, executor = runtime.engine(), runtime.settings(), runtime.executor()
    run_id, destination = delivered.run_id, delivered.destination
    sheet = runtime.registry().get(destination.removeprefix(GSHEETS))
    if sheet is None:
        return _unregistered(run_id, destination)
    job = dataclasses.replace(delivered, filters=scope_of(sheet).filters)
    with admitted(executor.budget, engine, settings.jobs, run_id, wait=False) as room:
        if not room:
            raise MemoryBusy(f"run {run_id} waits for memory on this instance; retried later")
        outcome = executor.run_now(job, run_delivered)
    if outcome.status == "running" and run_id in sweep_stale(engine, settings, destination):
        return Outcome(run_id, "failed", ran=False)
    if outcome.ran and outcome.status == "succeeded":
        log.info("run %s succeeded", run_id)
    return outcome


def _unregistered(run_id: str, destination: str) -> Outcome:
    """A spreadsheet taken out of ``sheets-sync.yaml`` since: its queued run ends failed."""
    engine = runtime.engine()
    run = runs.get_run(engine, run_id)
    if run is not None and run["status"] == "queued":
        runs.mark_failed(
            engine,
            run_id,
            f"{destination} is no longer registered in {runtime.settings().files.config_file}; "
            "register it again and request the sync again",
        )
        run = runs.get_run(engine, run_id)
    return Outcome(run_id, run["status"] if run else None, ran=False)
