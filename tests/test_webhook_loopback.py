"""``SHEETS_SYNC_AUTH=disabled`` admits loopback peers only, whatever server runs the app.

The peer is the connection's address as the WSGI server gives it
(``REMOTE_ADDR``), never a header. Checked twice: with Flask's test client
(the peer set in the WSGI environ), and for real — gunicorn bound to
``0.0.0.0`` with ``SHEETS_SYNC_BIND_HOST=127.0.0.1`` (the issue's case), called
from loopback and from a second network host: a network namespace this test
makes, joined to this machine by a veth pair (addresses from 198.18.0.0/15,
the block set aside for network tests), so the request arrives from a
non-loopback address without leaving the machine.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import unavailable
from fixtures_webhook import SECRET
from test_webhook_serve import clean_env, first_answer, free_port

from sheets_sync.config import Settings
from webhook import create_app

SHEET = "1AbCdEfGhIjKlMnOpQrStUv"
PATHS = [
    ("GET", "/healthz"),
    ("GET", "/openapi.yaml"),
    ("GET", f"/runs?spreadsheet_id={SHEET}"),
    ("GET", f"/alerts?spreadsheet_id={SHEET}"),
    ("GET", "/runs/6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"),
    ("POST", "/hooks/refresh"),
    ("POST", "/hooks/pricing"),
    ("GET", "/cron/nightly"),
    ("GET", "/no-such-page"),
]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(f"spreadsheets:\n  - id: {SHEET}\n    name: Ops team\n")
    return path


@pytest.fixture
def disabled(db_url: str, registry: Path) -> Any:
    """An app with auth disabled, told it is bound to loopback."""
    settings = Settings.load(
        environ={},
        database_url=db_url,
        config_file=registry,
        auth="disabled",
        bind_host="127.0.0.1",
        hmac_secret=SECRET,
    )
    return create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize(
    "peer", ["10.1.2.3", "192.0.2.2", "::ffff:10.1.2.3", "2001:db8::1", "", "localhost"]
)
def test_a_peer_off_loopback_is_refused_on_every_path(disabled, peer, method, path) -> None:
    client = disabled.test_client()
    body = {"spreadsheet_id": SHEET} if method == "POST" else None
    response = client.open(path, method=method, json=body, environ_base={"REMOTE_ADDR": peer})
    assert (response.status_code, response.get_json()) == (403, {"error": "forbidden"})
    lines = [json.loads(line) for line in disabled.config["LOG_STREAM"].getvalue().splitlines()]
    refusal = next(line for line in lines if line["message"].startswith("request refused (403)"))
    assert "admits loopback peers only" in refusal["message"]


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_a_loopback_peer_is_let_in(disabled, peer) -> None:
    client = disabled.test_client()
    answer = client.get(f"/runs?spreadsheet_id={SHEET}", environ_base={"REMOTE_ADDR": peer})
    assert (answer.status_code, answer.get_json()) == (200, {"runs": []})


@pytest.mark.parametrize(
    "header",
    [{"X-Forwarded-For": "127.0.0.1"}, {"X-Forwarded-For": "203.0.113.9"},
     {"Forwarded": "for=127.0.0.1"}],
)  # fmt: skip
def test_a_request_a_proxy_forwarded_is_refused_even_from_loopback(disabled, header) -> None:
    """A proxy or tunnel on this machine is a loopback peer for every caller it relays."""
    response = disabled.test_client().get("/healthz", headers=header)
    assert response.status_code == 403


def test_with_auth_on_the_peer_address_changes_nothing(db_url, registry) -> None:
    settings = Settings.load(environ={}, database_url=db_url, config_file=registry)
    client = create_app({"TESTING": True, "SETTINGS": settings}).test_client()
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/healthz", environ_base=remote).status_code == 200
    assert client.get(f"/runs?spreadsheet_id={SHEET}", environ_base=remote).status_code == 401


# --- gunicorn on 0.0.0.0, called from another network host -------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@pytest.fixture
def peer_host() -> Iterator[tuple[str, str, Callable[..., tuple[int, str]]]]:
    """A second network host: a namespace joined to this one by a veth pair.

    Yields this machine's address on that link, the other host's, and ``fetch(url,
    headers) -> (status, body)``, which sends a GET from inside the namespace. Needs root and iproute2 (CI has both; elsewhere
    the test is skipped).
    """
    tag = f"{os.getpid() % 10000}{random.randrange(1000):03d}"
    namespace, host_end, peer_end = f"ssync{tag}", f"ssh{tag}", f"ssp{tag}"
    block = random.randrange(256)
    host_ip, peer_ip = f"198.18.{block}.1", f"198.18.{block}.2"
    try:
        if shutil.which("ip") is None:
            raise OSError("iproute2's `ip` is not installed")
        _ip("netns", "add", namespace)
    except (OSError, subprocess.CalledProcessError) as error:
        reason = getattr(error, "stderr", None) or str(error)
        message = f"cannot make a network namespace (root and iproute2 needed): {reason}"
        unavailable(message)
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", peer_end)
        _ip("link", "set", peer_end, "netns", namespace)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        _ip("netns", "exec", namespace, "ip", "addr", "add", f"{peer_ip}/30", "dev", peer_end)
        _ip("netns", "exec", namespace, "ip", "link", "set", peer_end, "up")
        _ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")

        def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
            code = (
                "import sys, json, urllib.request, urllib.error\n"
                "request = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2]))\n"
                "try:\n"
                "    answer = urllib.request.urlopen(request, timeout=20)\n"
                "except urllib.error.HTTPError as error:\n"
                "    answer = error\n"
                "print(answer.status)\n"
                "print(answer.read().decode())\n"
            )
            done = subprocess.run(
                ["ip", "netns", "exec", namespace, sys.executable, "-c", code, url,
                 json.dumps(headers or {})],
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            status, _, body = done.stdout.partition("\n")
            return int(status), body.strip()

        yield host_ip, peer_ip, fetch
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=30)


def test_gunicorn_on_all_addresses_refuses_a_peer_off_loopback(
    db_url: str, tmp_path: Path, registry: Path, peer_host
) -> None:
    """The issue's case: `SHEETS_SYNC_BIND_HOST=127.0.0.1` said, `gunicorn -b 0.0.0.0` run."""
    host_ip, peer_ip, fetch = peer_host
    port = free_port()
    env = clean_env(
        SHEETS_SYNC_DATABASE_URL=db_url,
        SHEETS_SYNC_AUTH="disabled",
        SHEETS_SYNC_BIND_HOST="127.0.0.1",
        SHEETS_SYNC_CONFIG_FILE=str(registry),
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "-b", f"0.0.0.0:{port}", "--workers", "1", "webhook:create_app()"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        local = first_answer(f"http://127.0.0.1:{port}/runs?spreadsheet_id={SHEET}")
        assert (local.status_code, local.json()) == (200, {"runs": []})
        for path in ("/healthz", f"/runs?spreadsheet_id={SHEET}", "/cron/nightly"):
            assert fetch(f"http://{host_ip}:{port}{path}") == (403, '{"error":"forbidden"}')
        spoofed = fetch(f"http://{host_ip}:{port}/healthz", {"X-Forwarded-For": "127.0.0.1"})
        assert spoofed[0] == 403
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, errors = proc.communicate(timeout=30)
    refusals = [line for line in errors.splitlines() if "request refused (403)" in line]
    assert len(refusals) == 4 and all("peer" in line for line in refusals)
    assert all(f"this one is {peer_ip}" in line for line in refusals)
    assert "Traceback" not in errors
