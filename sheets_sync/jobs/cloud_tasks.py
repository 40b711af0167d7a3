"""The Cloud Tasks executor: a queued run becomes a task the queue delivers to the service.

docs/design.md §8. With ``SHEETS_SYNC_TASKS_QUEUE`` set, a refresh is still
queued-or-joined in ``sync_runs`` (:mod:`sheets_sync.jobs.queue`), but the new run is
not run on a thread of the process that answered the request: a Cloud Task
carrying its id is created, and the queue delivers it to the internal endpoint
``POST /tasks/refresh`` (``webhook/tasks_api.py``), which runs it to the end
(:func:`sheets_sync.jobs.run.run_queued`). So a run survives the instance that
queued it, ``queue.yaml`` paces syncs to the Sheets quota, and a failed
delivery is retried by the queue.

- The task is **named after the run** (``…/tasks/<run_id>``): creating it again
  (a retried RPC, a retried request) gets ``ALREADY_EXISTS``, which counts as
  success, so a run is never queued twice; and a task the queue delivers twice
  still runs once (the endpoint claims the run).
- Target: an **App Engine** task (relative URI; the endpoint trusts App Engine's
  ``X-AppEngine-QueueName``) unless ``SHEETS_SYNC_TASKS_TARGET_URL`` is set; then
  an **HTTP** task with an OIDC token for ``SHEETS_SYNC_TASKS_SERVICE_ACCOUNT``
  (audience ``SHEETS_SYNC_TASKS_AUDIENCE``, default the target URL), which the
  endpoint verifies like any Google ID token and admits for that account only.
- The client is Google's ``google-cloud-tasks`` (the ``server`` extra), imported
  only when the queue is configured; ``SHEETS_SYNC_TASKS_EMULATOR_HOST`` points
  it at an emulator over plain gRPC without credentials (development, tests).

This module never imports Flask.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.config.parts import TasksSettings
from sheets_sync.errors import ConfigError, TransientError
from sheets_sync.jobs import runs
from sheets_sync.jobs.executor import InProcessExecutor
from sheets_sync.jobs.processes import SyncProcesses
from sheets_sync.jobs.run import Job

log = logging.getLogger(__name__)

TASK_PATH = "/tasks/refresh"
DISPATCH_DEADLINE = dt.timedelta(minutes=10)
"""How long the queue waits for the endpoint: app.yaml's gunicorn timeout, App Engine's cap."""
CREATE_DEADLINE_SECONDS = 30.0
"""How long creating a task may retry (UNAVAILABLE, DEADLINE_EXCEEDED) before the refresh is
503; ``SHEETS_SYNC_RETRY_DEADLINE_SECONDS`` when shorter."""


class QueueUnavailable(TransientError):
    """The task could not be created: the run is failed and the caller may retry."""


class CloudTasksExecutor(InProcessExecutor):
    """Hands each new run to Cloud Tasks; follow-ups (:meth:`after`) stay in this process.

    ``client`` is a ``google.cloud.tasks_v2.CloudTasksClient`` (made from the
    settings when omitted), the way gspread takes an authorised session.
    ``processes`` are where the deliveries this instance receives run their syncs
    (``POST /tasks/refresh``); without them, in the request's thread.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: Any = None,
        processes: SyncProcesses | None = None,
    ) -> None:
        super().__init__(engine, settings, workers=1, processes=processes)
        if not settings.tasks.tasks_queue:
            raise ConfigError(f"{ENV_PREFIX}TASKS_QUEUE is not set: no queue to send runs to")
        self.queue = settings.tasks.tasks_queue
        self.client = client if client is not None else make_client(settings.tasks)

    def not_started(self, name: str, wanted: Sequence[str]) -> str | None:
        """Never: a queued task may start on any instance at any time, unseen from here."""
        return None

    def submit(self, job: Job) -> Future[None]:
        """Create the run's task; if that fails for good, fail the run and raise."""
        try:
            create_task(self.client, self.settings.tasks, job)
        except Exception as error:
            message = f"could not queue the run on {self.queue}: {_reason(error)}"
            runs.mark_failed(self.engine, job.run_id, message)
            log.error("run %s: %s", job.run_id, message)
            raise QueueUnavailable(message + "; retry in a minute") from None
        done: Future[None] = Future()
        done.set_result(None)
        return done


def create_task(client: Any, tasks: TasksSettings, job: Job) -> bool:
    """Create the task of ``job``'s run; False when it already existed (a retry)."""
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.ServiceUnavailable, exceptions.DeadlineExceeded, exceptions.InternalServerError
    )
    policy = retry.Retry(
        predicate=transient, initial=0.5, maximum=5.0, timeout=CREATE_DEADLINE_SECONDS
    )
    try:
        client.create_task(parent=tasks.tasks_queue, task=build_task(tasks, job), retry=policy)
    except exceptions.AlreadyExists:
        log.info("task of run %s already exists; not created again", job.run_id)
        return False
    log.info("run %s queued on %s", job.run_id, tasks.tasks_queue)
    return True


def build_task(tasks: TasksSettings, job: Job) -> Any:
    """The task: named after the run, its id (and the queuing request's) as the JSON body."""
    from google.cloud import tasks_v2

    fields = {"run_id": job.run_id, "request_id": job.request_id}
    body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    headers = {"Content-Type": "application/json"}
    name = task_name(tasks, job.run_id)
    if tasks.tasks_target_url:
        url = tasks.tasks_target_url.rstrip("/") + TASK_PATH
        token = tasks_v2.OidcToken(
            service_account_email=tasks.tasks_service_account,
            audience=tasks.task_audience,
        )
        request = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST, url=url, headers=headers, body=body,
            oidc_token=token,
        )  # fmt: skip
        return tasks_v2.Task(name=name, http_request=request, dispatch_deadline=DISPATCH_DEADLINE)
    request = tasks_v2.AppEngineHttpRequest(
        http_method=tasks_v2.HttpMethod.POST, relative_uri=TASK_PATH, headers=headers, body=body
    )
    return tasks_v2.Task(
        name=name, app_engine_http_request=request, dispatch_deadline=DISPATCH_DEADLINE
    )


def task_name(tasks: TasksSettings, run_id: str) -> str:
    """``<queue>/tasks/<run_id>``: a run id (a random UUID) is a valid, well-spread task id."""
    return f"{tasks.tasks_queue}/tasks/{run_id}"


def make_client(tasks: TasksSettings) -> Any:
    """Google's Cloud Tasks client: Application Default Credentials, or the emulator's channel."""
    try:
        from google.cloud import tasks_v2
    except ImportError:
        raise ConfigError(
            f"{ENV_PREFIX}TASKS_QUEUE is set but google-cloud-tasks is not installed; "
            "install the server extra: pip install 'tradein-ops-sheets[server]'"
        ) from None
    if not tasks.tasks_emulator_host:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(tasks.tasks_emulator_host)
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


def _reason(error: Exception) -> str:
    """One line: the API's status and message (never a credential: the RPC carries none)."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300]
