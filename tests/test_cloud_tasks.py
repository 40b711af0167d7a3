"""The Cloud Tasks executor end to end: refresh → task → the queue delivers → the run ends.

Real parts: Google's ``google-cloud-tasks`` client over gRPC to the
``gcloud-tasks-emulator`` package on loopback (tests/fixtures_tasks.py says the
one rule added to it), which dispatches real HTTP to the app on a werkzeug
server with auth on; the sync writes with real gspread to the Sheets emulator;
both databases; ID tokens are real RS256 tokens verified against certs served
on loopback.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures_sync import load_small_dataset
from fixtures_tasks import QUEUE, TasksEmulator
from fixtures_webhook import SECRET, CertsServer, bearer, service_settings, token
from test_sync_processes import note_child
from werkzeug.serving import make_server

from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError
from sheets_sync.jobs import runs
from sheets_sync.jobs.cloud_tasks import create_task, make_client
from sheets_sync.jobs.memory import MemoryBudget
from sheets_sync.jobs.processes import NICENESS, SyncProcesses
from sheets_sync.jobs.run import Job
from sheets_sync.locks import destination_lock
from webhook import create_app, runtime
from webhook.runtime import ENGINE_KEY

SERVICE_ACCOUNT = "sheets-sync-tasks@tradein-ops.iam.gserviceaccount.com"
TASKS_AUDIENCE = "https://sheets-sync.tradein.example"


@pytest.fixture
def tasks_emulator() -> Iterator[TasksEmulator]:
    emulator = TasksEmulator(max_retries=8).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def sheet_id(gspread_client: Any) -> str:
    return str(gspread_client.create("Ops team").id)


def tasks_settings(
    db_url: str, emulator: Any, certs: CertsServer, tmp_path: Path, sheet_id: str, **more: Any
) -> Settings:
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(f"spreadsheets:\n  - id: {sheet_id}\n    name: Ops team\n")
    return service_settings(
        db_url, certs, registry, sheets_api_url=emulator.url, hmac_secret=SECRET, **more
    )


class Service:
    """The app on a threaded werkzeug server on loopback, and what the tests read of it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
        self.httpd = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def refresh(self, sheet_id: str, tabs: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"spreadsheet_id": sheet_id, **({"tabs": tabs} if tabs else {})}
        answer = requests.post(
            f"{self.url}/hooks/refresh", json=body, headers=bearer(token()), timeout=30
        )
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    def run(self, run_id: str) -> dict[str, Any]:
        found = runs.get_run(self.app.extensions[ENGINE_KEY], run_id)
        assert found is not None
        return found

    def wait_ended(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (run := self.run(run_id))["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"run still {run['status']}"
            time.sleep(0.1)
        return run

    def logged(self) -> list[dict[str, Any]]:
        stream = self.app.config["LOG_STREAM"].getvalue().splitlines()
        return [json.loads(line) for line in stream]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.app.extensions[ENGINE_KEY].dispose()


WHERE = ["in the request", "in a sync process"]


@pytest.fixture
def on_app_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAE_ENV", "standard")


@pytest.fixture
def service(
    request, loaded, db_url, emulator, certs, tmp_path, sheet_id, tasks_emulator, on_app_engine
) -> Iterator[Service]:
    """The service with Cloud Tasks; a delivery's sync runs in the request's thread, or with
    ``indirect`` parameter True in a sync process of its own (SHEETS_SYNC_JOB_PROCESSES)."""
    settings = tasks_settings(
        db_url, emulator, certs, tmp_path, sheet_id,
        tasks_queue=QUEUE, tasks_emulator_host=tasks_emulator.host, lock_wait_seconds=1,
        job_processes=getattr(request, "param", False),
    )  # fmt: skip
    running = Service(settings)
    tasks_emulator.target(running.httpd.server_port)
    yield running
    running.stop()


@pytest.fixture
def loaded(engine: Any) -> Any:
    load_small_dataset(engine)
    return engine


def deliveries(emulator: TasksEmulator, run_id: str) -> list[int]:
    """The HTTP statuses the queue got for the run's task, in order."""
    return [code for name, code in emulator.state.dispatches if name == f"{QUEUE}/tasks/{run_id}"]


def deliveries_when(
    emulator: TasksEmulator, run_id: str, done: Callable[[list[int]], bool]
) -> list[int]:
    """The run's deliveries once ``done`` holds of them (30 s at most): the queue records a
    delivery's status when the answer reaches it, a moment after the run has ended."""
    deadline = time.monotonic() + 30
    while not done(codes := deliveries(emulator, run_id)):
        assert time.monotonic() < deadline, codes
        time.sleep(0.05)
    return codes


def answered_200(codes: list[int]) -> bool:
    return codes[-1:] == [200]


def task_request(run_id: str, queue: str = QUEUE) -> dict[str, Any]:
    """The request App Engine's queue sends for a run's task (headers as the emulator sends)."""
    return {
        "data": json.dumps({"run_id": run_id}).encode(),
        "headers": {"Content-Type": "application/json", "X-AppEngine-QueueName": queue},
    }


# --- end to end through the emulator -----------------------------------------------------------


@pytest.mark.parametrize("service", [False, True], indirect=True, ids=WHERE)
def test_a_refresh_is_delivered_by_the_queue_and_runs_to_the_end(
    service, tasks_emulator, sheet_id, gspread_client
) -> None:
    ticket = service.refresh(sheet_id, ["KPI Daily"])
    run = service.wait_ended(ticket["run_id"])
    assert (run["status"], run["tabs"], run["error"]) == ("succeeded", "KPI Daily", None)
    assert run["requested_by"] == "lea@tradein.example" and run["cells_written"] > 0
    assert deliveries_when(tasks_emulator, ticket["run_id"], answered_200) == [200]
    rows = gspread_client.open_by_key(sheet_id).worksheet("KPI Daily").get_all_records()
    assert {r["Country"] for r in rows} == {"FR"}
    ran_by = [
        line for line in service.logged() if line["message"] == f"run {ticket['run_id']} succeeded"
    ]
    assert [line["logger"] for line in ran_by] == ["webhook.tasks_api"]  # not a local thread
    assert ran_by[0]["request_id"] == ticket_request_id(service, ticket["run_id"])


def ticket_request_id(service: Service, run_id: str) -> str:
    """The request id of the refresh that queued the run (the task carries it to the run's logs)."""
    queued = next(
        line for line in service.logged() if line["message"].startswith(f"run {run_id} queued")
    )
    return str(queued["request_id"])


@pytest.mark.parametrize("service", [False, True], indirect=True, ids=WHERE)
def test_a_task_created_twice_and_delivered_twice_runs_once(
    service, tasks_emulator, sheet_id, controls
) -> None:
    ticket = service.refresh(sheet_id, ["KPI Daily"])
    service.wait_ended(ticket["run_id"])
    job = Job(ticket["run_id"], f"gsheets:{sheet_id}")
    client = make_client(service.settings.tasks)
    assert create_task(client, service.settings.tasks, job) is False  # ALREADY_EXISTS: a success
    writes = controls.counters()
    again = requests.post(
        f"{service.url}/tasks/refresh", timeout=30, **task_request(ticket["run_id"])
    )
    assert again.status_code == 200
    assert again.json() == {"run_id": ticket["run_id"], "status": "succeeded", "ran": False}
    time.sleep(0.5)  # the queue would have dispatched a second task by now
    assert deliveries_when(tasks_emulator, ticket["run_id"], answered_200) == [200]
    assert controls.counters() == writes  # nothing more was read or written
    assert len(tasks_emulator.state.names) == 1


@pytest.mark.parametrize("service", [False, True], indirect=True, ids=WHERE)
def test_a_run_that_cannot_start_stays_queued_and_the_queues_retry_runs_it(
    service, tasks_emulator, sheet_id
) -> None:
    engine = service.app.extensions[ENGINE_KEY]
    with destination_lock(engine, f"gsheets:{sheet_id}", "cli by ana"):
        ticket = service.refresh(sheet_id, ["KPI Daily"])
        deliveries_when(tasks_emulator, ticket["run_id"], lambda codes: len(codes) >= 2)
        assert service.run(ticket["run_id"])["status"] == "queued"
    run = service.wait_ended(ticket["run_id"])
    assert run["status"] == "succeeded"
    codes = deliveries_when(tasks_emulator, ticket["run_id"], answered_200)
    assert codes[-1] == 200 and set(codes[:-1]) == {503} and len(codes) >= 3


def test_a_run_widened_while_its_task_waits_syncs_every_tab_asked(
    service, tasks_emulator, sheet_id, gspread_client
) -> None:
    client = make_client(service.settings.tasks)
    client.pause_queue(name=QUEUE)
    first = service.refresh(sheet_id, ["KPI Daily"])
    second = service.refresh(sheet_id, ["Onboarding"])
    assert (second["run_id"], second["joined"]) == (first["run_id"], True)
    assert len(list(client.list_tasks(parent=QUEUE))) == 1  # one task for the one run
    client.resume_queue(name=QUEUE)
    run = service.wait_ended(first["run_id"])
    assert (run["status"], run["tabs"]) == ("succeeded", "KPI Daily, Onboarding")
    titles = {ws.title for ws in gspread_client.open_by_key(sheet_id).worksheets()}
    assert {"KPI Daily", "Onboarding"} <= titles and "Pricing" not in titles
    assert deliveries_when(tasks_emulator, first["run_id"], answered_200) == [200]


@pytest.mark.parametrize("service", [False, True], indirect=True, ids=WHERE)
def test_two_deliveries_at_once_run_it_once(service, sheet_id, controls) -> None:
    engine = service.app.extensions[ENGINE_KEY]
    run_id = runs.queue_run(engine, f"gsheets:{sheet_id}", "api", "ana", ["KPI Daily"])
    barrier = threading.Barrier(2)

    def deliver(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(f"{service.url}/tasks/refresh", timeout=60, **task_request(run_id))

    with contextlib.closing(_pool(2)) as pool:
        answers = list(pool.map(deliver, range(2)))
    # the one that did not run it first: (409, False) would sort after (200, True)
    said = [(a.status_code, a.text) for a in answers]
    assert all("ran" in a.json() for a in answers), said  # a 503 would say why it did not
    bodies = sorted(((a.status_code, a.json()["ran"]) for a in answers), key=lambda b: b[1])
    assert bodies[1] == (200, True)  # one ran it ...
    assert bodies[0] in {(200, False), (409, False)}  # ... the other did not
    assert service.run(run_id)["status"] == "succeeded"
    ran = [line for line in service.logged() if line["message"] == f"run {run_id} succeeded"]
    assert len(ran) == 1


def _pool(workers: int) -> Any:
    from multiprocessing.pool import ThreadPool

    return ThreadPool(workers)


# --- only the queue may call the task endpoint ---------------------------------------------------


@pytest.mark.parametrize(
    ("case", "gae"),
    [("nothing", True), ("queue header off App Engine", False), ("another queue", True),
     ("a user's ID token", True), ("an HMAC signature", True)],
)  # fmt: skip
def test_the_task_endpoint_refuses_anyone_but_the_queue(
    service, sheet_id, monkeypatch, case, gae
) -> None:
    if not gae:
        monkeypatch.delenv("GAE_ENV")
    engine = service.app.extensions[ENGINE_KEY]
    run_id = runs.queue_run(engine, f"gsheets:{sheet_id}", "api", "ana", ["KPI Daily"])
    request = task_request(run_id)
    headers = {"Content-Type": "application/json"}
    if case == "queue header off App Engine":
        headers = request["headers"]
    elif case == "another queue":
        headers["X-AppEngine-QueueName"] = "default"
    elif case == "a user's ID token":
        headers.update(bearer(token()))
    elif case == "an HMAC signature":
        headers.update(_signed(request["data"]))
    answer = requests.post(
        f"{service.url}/tasks/refresh", data=request["data"], headers=headers, timeout=30
    )
    assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"})
    assert service.run(run_id)["status"] == "queued"


def _signed(body: bytes) -> dict[str, str]:
    import hashlib
    import hmac

    stamp = str(int(time.time()))
    message = f"{stamp}.POST./tasks/refresh.".encode() + body
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Signature": f"t={stamp},v1={digest}"}


@pytest.mark.parametrize("queue", [QUEUE, QUEUE.rsplit("/", 1)[1]])
def test_the_queue_header_is_accepted_as_full_path_or_short_name(service, sheet_id, queue) -> None:
    engine = service.app.extensions[ENGINE_KEY]
    run_id = runs.queue_run(engine, f"gsheets:{sheet_id}", "api", "ana", ["KPI Daily"])
    answer = requests.post(
        f"{service.url}/tasks/refresh", timeout=60, **task_request(run_id, queue)
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "succeeded")


@pytest.mark.parametrize(
    ("body", "status"),
    [({"run_id": "not-a-run"}, 400), ({"run_id": "6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"}, 200),
     ({}, 400)],
)  # fmt: skip
def test_a_task_for_no_run_is_refused_or_dropped(service, body, status) -> None:
    request = task_request("x")
    answer = requests.post(
        f"{service.url}/tasks/refresh", json=body, headers=request["headers"], timeout=30
    )
    assert answer.status_code == status
    if status == 200:
        assert answer.json()["status"] is None and answer.json()["ran"] is False


# --- the OIDC way (off App Engine) ------------------------------------------------------------


@pytest.fixture
def oidc_service(
    loaded, db_url, emulator, certs, tmp_path, sheet_id, tasks_emulator, monkeypatch
) -> Iterator[Service]:
    monkeypatch.delenv("GAE_ENV", raising=False)
    settings = tasks_settings(
        db_url, emulator, certs, tmp_path, sheet_id,
        tasks_queue=QUEUE, tasks_emulator_host=tasks_emulator.host,
        tasks_target_url="http://127.0.0.1:1", tasks_service_account=SERVICE_ACCOUNT,
        tasks_audience=TASKS_AUDIENCE,
    )  # fmt: skip
    running = Service(settings)
    running.settings = settings.replace(tasks_target_url=running.url)
    running.app.config["SETTINGS"] = running.settings
    yield running
    running.stop()


def test_an_http_task_carries_an_oidc_token_only_the_service_account_passes(
    oidc_service, tasks_emulator, sheet_id
) -> None:
    service = oidc_service
    client = make_client(service.settings.tasks)
    client.pause_queue(name=QUEUE)
    ticket = service.refresh(sheet_id, ["KPI Daily"])
    (task,) = client.list_tasks(parent=QUEUE)
    assert task.name == f"{QUEUE}/tasks/{ticket['run_id']}"
    http = task.http_request
    assert http.url == f"{service.url}/tasks/refresh"
    assert (http.oidc_token.service_account_email, http.oidc_token.audience) == (
        SERVICE_ACCOUNT,
        TASKS_AUDIENCE,
    )
    client.resume_queue(name=QUEUE)  # the emulator delivers it with no token: refused
    deliveries_when(tasks_emulator, ticket["run_id"], lambda codes: len(codes) >= 2)
    assert set(deliveries(tasks_emulator, ticket["run_id"])) == {401}
    assert service.run(ticket["run_id"])["status"] == "queued"

    def deliver(**claims: Any) -> requests.Response:
        """As Cloud Tasks does: the task's request with an ID token for its account."""
        headers = {**http.headers, **bearer(token(**claims))}
        return requests.post(http.url, data=http.body, headers=headers, timeout=60)

    person = deliver(aud=TASKS_AUDIENCE)  # a valid token of an allowed person, right audience
    assert person.status_code == 403
    wrong_audience = deliver(email=SERVICE_ACCOUNT)
    assert wrong_audience.status_code == 401
    queue = deliver(email=SERVICE_ACCOUNT, aud=TASKS_AUDIENCE)
    assert (queue.status_code, queue.json()["status"], queue.json()["ran"]) == (
        200,
        "succeeded",
        True,
    )


# --- creating tasks ---------------------------------------------------------------------------


def test_a_queue_that_cannot_take_the_task_fails_the_run_and_answers_503(
    loaded, db_url, emulator, certs, tmp_path, sheet_id, tasks_emulator, on_app_engine
) -> None:
    missing = QUEUE.replace("sheets-refresh", "nope")
    settings = tasks_settings(
        db_url, emulator, certs, tmp_path, sheet_id,
        tasks_queue=missing, tasks_emulator_host=tasks_emulator.host,
    )  # fmt: skip
    service = Service(settings)
    try:
        answer = requests.post(
            f"{service.url}/hooks/refresh", json={"spreadsheet_id": sheet_id},
            headers=bearer(token()), timeout=30,
        )  # fmt: skip
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert f"could not queue the run on {missing}" in answer.json()["error"]
        engine = service.app.extensions[ENGINE_KEY]
        with engine.connect() as conn:
            (run,) = conn.exec_driver_sql("SELECT status, error FROM sync_runs").all()
        assert run[0] == "failed" and "FailedPrecondition" in run[1]
        again = requests.post(
            f"{service.url}/hooks/refresh", json={"spreadsheet_id": sheet_id},
            headers=bearer(token()), timeout=30,
        )  # fmt: skip
        assert again.status_code == 503  # a new run each time: the failed one is not joined
        with engine.connect() as conn:
            statuses = conn.exec_driver_sql("SELECT status FROM sync_runs").scalars().all()
        assert statuses == ["failed", "failed"]
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHEETS_SYNC_TASKS_QUEUE": "sheets-refresh"}, "is not a queue path"),
        ({"SHEETS_SYNC_TASKS_QUEUE": QUEUE, "SHEETS_SYNC_TASKS_TARGET_URL": "ftp://x"},
         "must be the service's base URL"),
        ({"SHEETS_SYNC_TASKS_QUEUE": QUEUE, "SHEETS_SYNC_TASKS_TARGET_URL": "https://x.example"},
         "SHEETS_SYNC_TASKS_SERVICE_ACCOUNT must be the email"),
        ({"SHEETS_SYNC_TASKS_EMULATOR_HOST": "localhost"}, "must be host:port"),
    ],
)  # fmt: skip
def test_bad_tasks_settings_are_refused_naming_the_variable(env, says) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.load(environ=env)


@pytest.mark.parametrize("service", [False, True], indirect=True, ids=WHERE)
def test_a_delivery_without_room_in_the_instance_s_memory_is_handed_back_then_runs(
    service, sheet_id
) -> None:
    """A task request never waits for memory (it would hold a worker's thread): 503, the run
    stays queued saying why, and the queue's next delivery runs it once there is room."""
    engine = service.app.extensions[ENGINE_KEY]
    run_id = runs.queue_run(engine, f"gsheets:{sheet_id}", "api", "ana", ["KPI Daily"])
    budget = MemoryBudget.from_settings(service.settings.jobs)
    with budget.reserve("another sync", budget.budget_mb):
        answer = requests.post(f"{service.url}/tasks/refresh", timeout=60, **task_request(run_id))
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert "waits for memory" in answer.json()["error"]
        run = service.run(run_id)
        assert run["status"] == "queued" and run["warnings"].startswith("waiting for memory")
    answer = requests.post(f"{service.url}/tasks/refresh", timeout=60, **task_request(run_id))
    assert (answer.status_code, answer.json()["ran"]) == (200, True)
    run = service.run(run_id)
    assert run["status"] == "succeeded" and run["warnings"].startswith("waited for memory")
    assert budget.holders() == []


@pytest.mark.parametrize("service", [True], indirect=True, ids=WHERE[1:])
def test_with_sync_processes_a_delivery_syncs_in_a_lower_priority_child(
    service, tasks_emulator, sheet_id, tmp_path, gspread_client
) -> None:
    """The worker answering the menu keeps neither the sync's memory nor its GIL time."""
    with service.app.app_context():
        executor = runtime.executor()
    folder = tmp_path / "children"
    folder.mkdir()
    executor.processes = SyncProcesses(service.settings, functools.partial(note_child, str(folder)))
    ticket = service.refresh(sheet_id, ["KPI Daily"])
    assert service.wait_ended(ticket["run_id"])["status"] == "succeeded"
    assert deliveries_when(tasks_emulator, ticket["run_id"], answered_200) == [200]
    [child] = folder.glob("child-*")
    assert int(child.name.removeprefix("child-")) != os.getpid()
    assert int(child.read_text()) == os.nice(0) + NICENESS
    rows = gspread_client.open_by_key(sheet_id).worksheet("KPI Daily").get_all_records()
    assert {r["Country"] for r in rows} == {"FR"}
