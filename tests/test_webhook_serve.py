"""``sheets-sync serve`` runs the webhook locally, and app.yaml runs it under gunicorn.

The command is started as a user would (a subprocess), the service is called
over HTTP, then stopped. The deployment files are read as App Engine reads
them: the entrypoint's gunicorn command is the one the service runs under.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from sheets_sync import secrets
from sheets_sync.cli import main
from sheets_sync.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from sheets_sync.cli import main; main()"]
AT_A_TERMINAL = [
    sys.executable, "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from sheets_sync.cli import main; main()",
]  # fmt: skip
"""The CLI as a terminal starts it, Ctrl+C live: a suite run in the background (``cmd &``
in a script) inherits SIGINT ignored, and Python keeps an ignored SIGINT ignored."""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    return {**env, **extra}


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[str]:
    """``sheets-sync serve`` on a free loopback port, auth disabled (loopback only)."""
    env = clean_env(
        SHEETS_SYNC_DATABASE_URL=db_url, SHEETS_SYNC_AUTH="disabled", PYTHONFAULTHANDLER="1"
    )
    proc = subprocess.Popen(
        [*AT_A_TERMINAL, "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("Webhook service on http://127.0.0.1:"), proc.stderr
    yield first.split()[3]
    stop_like_ctrl_c(proc)


def stop_like_ctrl_c(proc: subprocess.Popen[str]) -> None:
    """Ctrl+C must stop the service; if it does not, fail with every thread's stack
    (SIGABRT under PYTHONFAULTHANDLER prints them) instead of a bare timeout."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, stderr = proc.communicate(timeout=30)
        pytest.fail(f"sheets-sync serve did not stop on Ctrl+C; its threads:\n{stderr[-8000:]}")


def test_serve_answers_over_http(served: str) -> None:
    health = requests.get(f"{served}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    nightly = requests.get(f"{served}/cron/nightly", timeout=10)  # local caller, empty registry
    assert (nightly.status_code, nightly.json()) == (202, {"runs": []})
    assert requests.get(f"{served}/openapi.yaml", timeout=10).status_code == 200


def test_serve_refuses_disabled_auth_off_loopback(runner, db_url) -> None:
    result = runner.invoke(
        main,
        ["serve", "--host", "0.0.0.0", "--database-url", db_url],
        env={"SHEETS_SYNC_AUTH": "disabled"},
    )
    assert result.exit_code == 1
    assert "SHEETS_SYNC_AUTH=disabled is refused" in result.output
    assert "bind it to 127.0.0.1" in result.output


def test_app_yaml_runs_the_factory_under_gunicorn_with_a_timeout_that_fits_a_sync() -> None:
    app = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert app["runtime"] == "python312"
    assert app["inbound_services"] == ["warmup"]
    command = shlex.split(app["entrypoint"])
    assert command[0] == "gunicorn" and command[-1] == "webhook:create_app()"
    options = dict(zip(command[1:-1:2], command[2:-1:2], strict=True))
    assert options["-b"] == ":$PORT"
    assert int(options["--timeout"]) >= 600  # gunicorn's default 30 s kills a sync
    secret_keys = ("DATABASE_URL", "HMAC_SECRET", "PASSWORD", "SLACK_WEBHOOK_URL")
    given = {k: v for k, v in app["env_variables"].items() if any(s in k for s in secret_keys)}
    assert given and all(v.startswith("sm://") for v in given.values())  # references only
    for name, reference in given.items():
        secrets.version_name(name, reference)  # each one well-formed
    plain = {k: v for k, v in app["env_variables"].items() if k not in given}
    Settings.load(environ=plain)  # the rest validates (the tasks queue path among them)


def test_cron_and_queue_files_are_paris_nightly_and_inside_sheets_quotas() -> None:
    (job,) = yaml.safe_load((ROOT / "cron.yaml").read_text())["cron"]
    assert (job["url"], job["timezone"]) == ("/cron/nightly", "Europe/Paris")
    assert job["retry_parameters"]["job_retry_limit"] >= 1
    (queue,) = yaml.safe_load((ROOT / "queue.yaml").read_text())["queue"]
    count, per = queue["rate"].split("/")
    per_minute = int(count) * {"s": 60, "m": 1, "h": 1 / 60}[per]
    assert per_minute * 5 <= 60  # a sync makes about five write requests; 60 writes/min/user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_answer(url: str) -> requests.Response:
    """Poll until the server is up (its workers import the app after binding)."""
    for _ in range(300):
        try:
            return requests.get(url, timeout=30)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_gunicorn_serves_the_app_yaml_entrypoint(db_url: str, tmp_path: Path) -> None:
    """The entrypoint as App Engine runs it ($PORT set), answering the platform's warmup."""
    command = yaml.safe_load((ROOT / "app.yaml").read_text())["entrypoint"]
    port = free_port()
    env = clean_env(SHEETS_SYNC_DATABASE_URL=db_url, PORT=str(port))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(
        command, shell=True, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        response = first_answer(f"http://127.0.0.1:{port}/_ah/warmup")
        assert response.status_code == 200 and response.headers["X-Request-Id"]
        assert requests.get(f"http://127.0.0.1:{port}/cron/nightly", timeout=30).status_code == 401
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
