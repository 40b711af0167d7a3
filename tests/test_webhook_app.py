"""The webhook's application factory and its platform endpoints."""

from __future__ import annotations

import re

import pytest

from sheets_sync import __version__
from sheets_sync.config import Settings
from webhook import create_app


@pytest.fixture
def app(tmp_path):
    settings = Settings.load(environ={}, database_url=f"sqlite:///{tmp_path / 'tradein.db'}")
    return create_app({"TESTING": True, "SETTINGS": settings})


@pytest.fixture
def client(app):
    return app.test_client()


def test_healthz_is_cheap_and_says_the_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}


def test_warmup_answers_200(client):
    assert client.get("/_ah/warmup").status_code == 200


def test_test_override_beats_the_environment(app, tmp_path, monkeypatch):
    monkeypatch.setenv("SHEETS_SYNC_DATABASE_URL", "sqlite:///from-env.db")
    assert app.config["SETTINGS"].database.database_url.endswith("tradein.db")
    assert create_app().config["SETTINGS"].database.database_url == "sqlite:///from-env.db"


@pytest.mark.parametrize("path", ["/healthz", "/_ah/warmup", "/no-such-page"])
def test_every_response_carries_a_request_id(client, path):
    first = client.get(path).headers["X-Request-Id"]
    second = client.get(path).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("gae_env", ["standard", None])
def test_the_request_id_is_the_services_whatever_the_caller_sends(client, monkeypatch, gae_env):
    """Neither a trace header (off App Engine anyone can send one) nor an X-Request-Id of the
    caller's becomes the audit id; on App Engine the trace is kept beside it (logs, audit)."""
    if gae_env:
        monkeypatch.setenv("GAE_ENV", gae_env)
    else:
        monkeypatch.delenv("GAE_ENV", raising=False)
    trace = "105445aa7843bc8bf206b12000100000"
    sent = {"X-Cloud-Trace-Context": f"{trace}/1;o=1", "X-Request-Id": "chosen-by-the-caller"}
    answered = {client.get("/healthz", headers=sent).headers["X-Request-Id"] for _ in range(2)}
    assert len(answered) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", a) and a != trace for a in answered)


def test_the_library_never_imports_flask():
    import subprocess
    import sys

    code = (
        "import sys, sheets_sync.cli, sheets_sync.sync, sheets_sync.backends.gsheets.backend, "
        "sheets_emulator.server; print('flask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
