"""Cloud Tasks on loopback: the ``gcloud-tasks-emulator`` package's server, run in-process.

Its gRPC service (the package's own servicer) is bound to 127.0.0.1 only, and
its processor really dispatches each task over HTTP to the app under test,
retrying a non-2xx answer as a queue does. Two things the package does not do
as Google does, and how the tests stand:

- Google refuses a second task of the same name with ``ALREADY_EXISTS``; the
  package accepts and dispatches it again. :class:`GoogleLikeQueueState` adds
  that one rule (raised as the package's servicer raises its own errors, so it
  reaches the real client as a gRPC status), because the executor relies on it.
- It sends no OIDC token with an HTTP task, and it sends App Engine tasks'
  ``X-AppEngine-QueueName`` as the queue's full path (App Engine gives the
  short name). So end-to-end dispatch goes the App Engine way (``GAE_ENV`` set
  in the app's process, a production path); the OIDC way is tested by
  delivering the task the emulator holds with a token minted as Cloud Tasks
  would (tests/test_cloud_tasks.py).

Dispatches are recorded (task name, HTTP status) for the tests' assertions.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc
from gcloud_tasks_emulator.cloudtasks_pb2_grpc import add_CloudTasksServicer_to_server
from gcloud_tasks_emulator.server import Greeter, Processor, QueueState
from google.api_core.exceptions import AlreadyExists
from google.cloud.tasks_v2 import Queue

QUEUE = "projects/tradein-ops/locations/europe-west1/queues/sheets-refresh"


class GoogleLikeQueueState(QueueState):
    """The package's queue state, refusing a task name used before, as Cloud Tasks does."""

    def __init__(self, target_host: str, target_port: int, max_retries: int) -> None:
        super().__init__(target_host, target_port, max_retries)
        self.names: set[str] = set()
        self.dispatches: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def create_task(self, queue: str, task: Any) -> Any:
        with self._lock:
            if task.name and task.name in self.names:
                raise AlreadyExists(f"Requested entity already exists: {task.name}")
            created = super().create_task(queue, task)
            self.names.add(created.name)
            return created

    def submit_task(self, task_name: str, force_run: bool = False) -> Any:
        task = super().submit_task(task_name, force_run)
        attempt = task.last_attempt
        if attempt and attempt.response_status and task.dispatch_count > self._count(task.name):
            self.dispatches.append((task.name, attempt.response_status.code))
        return task

    def _count(self, name: str) -> int:
        return sum(1 for seen, _ in self.dispatches if seen == name)


class TasksEmulator:
    """The emulator with one queue (:data:`QUEUE`), dispatching to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int = 0, max_retries: int = 5) -> None:
        self.state = GoogleLikeQueueState("127.0.0.1", target_port, max_retries)
        self.state.create_queue(QUEUE.rsplit("/queues/", 1)[0], Queue(name=QUEUE))
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        add_CloudTasksServicer_to_server(Greeter(self.state), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{self.port}"
        self.processor = Processor(self.state)

    def target(self, port: int) -> None:
        """Where App Engine tasks go (the app's port, known once its server is up)."""
        self.state._target_port = port

    def start(self) -> TasksEmulator:
        self.server.start()
        self.processor.start()
        return self

    def stop(self) -> None:
        self.processor.join(timeout=5)
        self.server.stop(grace=0)
