"""``sheets-sync doctor`` against the emulator, real SQLite/PostgreSQL, a Slack-like
receiver and a local SMTP server (aiosmtpd): every check green, each failure as its
``✖`` line with the fix, nothing written with ``--read-only``, nothing sent to Slack
or by email, and the scratch sheet gone afterwards even when the read-back fails.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account
from helpers import order
from kpi_data import load
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from sheets_emulator.client import emulator_client
from sheets_emulator.server import EmulatorServer
from sheets_sync import schema
from sheets_sync.cli import main

AUDIENCE = "1234-apps-script.apps.googleusercontent.com"
SECRET = "0123456789abcdef" * 4
LIVE, DEAD = "/services/T0/B0/live-s3cr3t", "/services/T0/B0/dead-s3cr3t"
DRIVE_FILE = "https://www.googleapis.com/drive/v3/files/%s"
BOT = "sync-bot@tradein-ops.iam.gserviceaccount.com"
DAY = dt.datetime(2024, 3, 4, 10, 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slack:
    """An incoming webhook as Slack answers one: no text is ``400 no_text`` (live path)
    or ``404 no_service`` (revoked path); a message with text would be posted (recorded)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if self.path != LIVE:
                    status, text = 404, b"no_service"
                elif not body.get("text") and not body.get("blocks"):
                    status, text = 400, b"no_text"
                else:
                    receiver.posted.append(body)
                    status, text = 200, b"ok"
                self.send_response(status)
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Any] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 accepted"


@pytest.fixture
def slack() -> Iterator[Slack]:
    receiver = Slack()
    yield receiver
    receiver.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.controller.stop()


@pytest.fixture
def facts_engine(engine: Engine) -> Engine:
    """A database with a few orders, so the facts hold rows to compare."""
    load(engine, [order(f"O{i}", DAY - dt.timedelta(days=i)) for i in range(5)])
    return engine


@pytest.fixture
def team_sheet(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    """The team's spreadsheet, with a cell of theirs the doctor must never touch."""
    sh = gspread_client.create("Trade-In Ops")
    sh.sheet1.update([["Team note", "keep me"]], "A1")
    return sh


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, db_url: str, emulator: EmulatorServer, slack: Slack,
    mailbox: Mailbox, facts_engine: Engine,
) -> dict[str, str]:  # fmt: skip
    """A deployment that passes every check (a test changes one thing to break one)."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    return {
        "SHEETS_SYNC_DATABASE_URL": db_url, "SHEETS_SYNC_SHEETS_API_URL": emulator.url,
        "SHEETS_SYNC_OIDC_AUDIENCES": AUDIENCE, "SHEETS_SYNC_ALLOWED_DOMAINS": "example.com",
        "SHEETS_SYNC_HMAC_SECRET": SECRET, "SHEETS_SYNC_SLACK_WEBHOOK_URL": slack.base + LIVE,
        "SHEETS_SYNC_SMTP_HOST": "127.0.0.1", "SHEETS_SYNC_SMTP_PORT": str(mailbox.port),
        "SHEETS_SYNC_SMTP_FROM": "alerts@example.com", "SHEETS_SYNC_SMTP_TO": "ops@example.com",
        "SHEETS_SYNC_SMTP_STARTTLS": "false", "SHEETS_SYNC_RETRY_DEADLINE_SECONDS": "1",
    }  # fmt: skip


def doctor(runner: CliRunner, env: dict[str, str], *args: str) -> Result:
    return runner.invoke(main, ["doctor", *args], env=env, catch_exceptions=False)


def lines(result: Result) -> dict[str, str]:
    """Each line by its check (the text between the mark and the first colon)."""
    found = {}
    for line in result.output.splitlines():
        check = line[2:].split(": ", 1)[0]
        found[check] = line
    return found


def titles(sh: gspread.Spreadsheet) -> list[str]:
    return [ws.title for ws in sh.worksheets(exclude_hidden=False)]


# -- all green -----------------------------------------------------------------------------------


def test_a_ready_deployment_passes_every_check(runner, env, team_sheet, slack, mailbox):
    before = titles(team_sheet)
    result = doctor(runner, env, "--to", f"gsheets:{team_sheet.id}")
    assert result.exit_code == 0, result.output
    by_check = lines(result)
    target = f"gsheets:{team_sheet.id}"
    expected = ["settings", "database", "schema", "facts", "templates", "registry",
                "Google credentials", f"{target} reachable", f"{target} editor",
                f"{target} scratch write", "Slack", "SMTP", "webhook auth"]  # fmt: skip
    assert list(by_check) == expected
    assert all(line.startswith("✔ ") for line in by_check.values()), result.output
    assert "“Trade-In Ops” opens as anonymous" in by_check[f"{target} reachable"]
    # The team's sheets and cells as they were; nothing posted, no mail.
    assert titles(team_sheet) == before
    assert team_sheet.sheet1.get_all_values() == [["Team note", "keep me"]]
    assert slack.posted == [] and mailbox.messages == []
    assert SECRET not in result.output and LIVE not in result.output


def test_all_checks_every_registered_spreadsheet(runner, env, gspread_client, tmp_path):
    ids = [gspread_client.create(name).id for name in ("Benelux", "Iberia")]
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(
        "spreadsheets:\n"
        + "".join(
            f"  - id: {sid}\n    name: {name}\n"
            for sid, name in zip(ids, ("Benelux", "Iberia"), strict=True)
        )
    )
    result = doctor(runner, {**env, "SHEETS_SYNC_CONFIG_FILE": str(registry)}, "--all")
    assert result.exit_code == 0, result.output
    by_check = lines(result)
    assert "2 spreadsheet(s) registered" in by_check["registry"]
    for sid, name in zip(ids, ("Benelux", "Iberia"), strict=True):
        assert by_check[f"{name} (gsheets:{sid}) scratch write"].startswith("✔ ")


# -- each failure: its ✖ line with the fix, exit 1, the other checks still reported -----------


def _unreachable_db(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "SHEETS_SYNC_DATABASE_URL":
            f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/tradein"}  # fmt: skip


def _empty_db(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    return {**env, "SHEETS_SYNC_DATABASE_URL": f"sqlite:///{path}"}


def _no_credentials(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**env, "SHEETS_SYNC_SHEETS_API_URL": "https://sheets.example.com",
            "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "key.json")}  # fmt: skip


FAILURES = {
    "bad setting": (lambda e, p: {**e, "SHEETS_SYNC_JOB_WORKERS": "0"}, "settings",
                    "SHEETS_SYNC_JOB_WORKERS=0 must be 1 or more", "correct that variable"),
    "short HMAC secret": (lambda e, p: {**e, "SHEETS_SYNC_HMAC_SECRET": "short"}, "settings",
                          "HMAC_SECRET is 5 characters; use at least 32", "correct that variable"),
    "unreachable database": (_unreachable_db, "database", "cannot connect to PostgreSQL",
                             "correct SHEETS_SYNC_DATABASE_URL or start the server"),
    "schema missing": (_empty_db, "schema", "has no table(s)", "run `sheets-sync init-db`"),
    "credentials missing": (_no_credentials, "Google credentials",
                            "GOOGLE_APPLICATION_CREDENTIALS=", "to the service account's JSON key"),
    "SMTP refusing": (lambda e, p: {**e, "SHEETS_SYNC_SMTP_PORT": str(free_port())}, "SMTP",
                      "unreachable", "check SHEETS_SYNC_SMTP_HOST and SHEETS_SYNC_SMTP_PORT"),
    "Slack dead URL": (lambda e, p: {**e, "SHEETS_SYNC_SLACK_WEBHOOK_URL": e[
        "SHEETS_SYNC_SLACK_WEBHOOK_URL"].replace(LIVE, DEAD)}, "Slack",
        "is dead (HTTP 404 no_service)", "create a new incoming webhook"),
    "no audience": (lambda e, p: {**e, "SHEETS_SYNC_OIDC_AUDIENCES": ""}, "webhook auth",
                    "OIDC_AUDIENCES is empty", "the add-on's OAuth client id"),
    "no allowlist": (lambda e, p: {**e, "SHEETS_SYNC_ALLOWED_DOMAINS": ""}, "webhook auth",
                     "ALLOWED_DOMAINS are empty", "set SHEETS_SYNC_ALLOWED_DOMAINS"),
    "a secret that is not random": (lambda e, p: {**e, "SHEETS_SYNC_HMAC_SECRET": "ab" * 20},
                                    "webhook auth", "2 distinct characters", "token_hex(32)"),
    "auth disabled off loopback": (lambda e, p: {**e, "SHEETS_SYNC_AUTH": "disabled",
                                   "SHEETS_SYNC_BIND_HOST": "0.0.0.0"}, "webhook auth",
                                   "not loopback", "unset SHEETS_SYNC_AUTH"),
}  # fmt: skip


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_is_its_line_with_the_fix(runner, env, team_sheet, tmp_path, slack, case):
    broken, check, problem, fix = FAILURES[case]
    result = doctor(runner, broken(env, tmp_path), "--to", f"gsheets:{team_sheet.id}")
    assert result.exit_code == 1, result.output
    line = lines(result)[check]
    found, _, fixed = line.partition(" — ")
    assert found.startswith(f"✖ {check}: ") and problem in found and fix in fixed, line
    failures = [x for x in result.output.splitlines() if x.startswith("✖")]
    assert failures == [line], result.output  # one cause, one ✖: the rest pass or skip
    assert lines(result).keys() >= {"settings", "SMTP", "webhook auth"}  # none hidden
    assert slack.posted == []
    assert SECRET not in result.output and "s3cr3t" not in result.output


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_database_password_never_reaches_the_output(runner, env):
    """The library's URL error quotes the URL; the doctor's output does not."""
    url = "postgresql+psycopg://ops:pa55-w0rd-x@db.example.com:54x32/tradein"
    result = doctor(runner, {**env, "SHEETS_SYNC_DATABASE_URL": url}, "--json")
    database = next(c for c in json.loads(result.output) if c["check"] == "database")
    assert database["status"] == "failed" and "port is not a number" in database["detail"]
    assert "pa55-w0rd-x" not in result.output and "ops:***@" in database["detail"]


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_failed_check_skips_those_that_need_it(runner, env, tmp_path):
    result = doctor(runner, _unreachable_db(env, tmp_path))
    by_check = lines(result)
    assert by_check["schema"] == "○ schema: skipped — needs the database check, which failed"
    assert by_check["facts"] == "○ facts: skipped — needs the schema check, which was skipped"
    assert by_check["templates"].startswith("✔ ") and by_check["Slack"].startswith("✔ ")


def test_facts_differing_from_the_orders_are_stale(runner, env, facts_engine):
    from sheets_sync import facts

    facts.refresh(facts_engine)
    with facts_engine.begin() as conn:  # a change that escaped the log (triggers dropped)
        conn.execute(delete(schema.kpi_daily_facts))
    result = doctor(runner, env)
    assert result.exit_code == 1
    line = lines(result)["facts"]
    assert line.startswith("✖ facts: the daily facts differ from the orders (kpi_daily_facts: ")
    assert "— run `sheets-sync facts rebuild`" in line


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_an_unknown_spreadsheet_says_to_share_it(runner, env):
    target = "gsheets:NoSuchSpreadsheet0123"
    result = doctor(runner, env, "--to", target)
    assert result.exit_code == 1
    by_check = lines(result)
    assert by_check[f"{target} reachable"] == (
        f"✖ {target} reachable: not found anonymous (404) — share it with the service account "
        "the app runs as as Editor (Share → add the address → Editor), and check the id "
        "against the sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit)"
    )
    assert by_check[f"{target} scratch write"].startswith("○ ")


def share(client: gspread.Client, sid: str, **permission: str) -> None:
    """Drive v3 ``permissions.create`` (gspread's ``share`` still sends v2's ``withLink``)."""
    client.http_client.request("post", DRIVE_FILE % sid + "/permissions", json=permission)


def _bot_credentials(emulator: EmulatorServer, tmp_path: Path) -> service_account.Credentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {"type": "service_account", "project_id": "tradein-ops", "private_key_id": "k1",
            "private_key": pem, "client_email": BOT, "client_id": "1",
            "token_uri": f"{emulator.url}/token"}  # fmt: skip
    return service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_spreadsheet_shared_read_only_says_to_share_as_editor(
    runner, env, emulator, controls, tmp_path
):
    """Owned by another account, viewable by anyone with the link: not editable by us."""
    owner = emulator_client(emulator.url, _bot_credentials(emulator, tmp_path))
    sh = owner.create("Someone else's")
    share(owner, sh.id, type="anyone", role="reader")
    target = f"gsheets:{sh.id}"
    result = doctor(runner, env, "--to", target)
    assert result.exit_code == 1
    by_check = lines(result)
    assert by_check[f"{target} reachable"].startswith("✔ ")
    assert by_check[f"{target} editor"].startswith(
        f"✖ {target} editor: anonymous may only view it (Drive capabilities.canEdit is false) — "
        "share it with the service account the app runs as as Editor"
    )
    assert by_check[f"{target} scratch write"].startswith("○ ")
    assert titles(sh) == ["Sheet1"]


# -- writing nothing, and cleaning up ------------------------------------------------------------


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_read_only_writes_nothing(runner, env, team_sheet, controls, emulator):
    requests.post(f"{emulator.url}/_emulator/counters/reset", timeout=10).raise_for_status()
    result = doctor(runner, env, "--read-only", "--to", f"gsheets:{team_sheet.id}")
    assert result.exit_code == 0, result.output
    assert lines(result)[f"gsheets:{team_sheet.id} scratch write"] == (
        f"○ gsheets:{team_sheet.id} scratch write: skipped — --read-only: nothing written"
    )
    counters = controls.counters()
    assert counters["cells_written"] == 0 and counters["batch_requests"] == {}
    assert set(counters["by_kind"]) == {"spreadsheets.get", "drive.files.get"}


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "500", "request_kind": "spreadsheets.values.get", "times": 100},
        {"kind": "500_after_apply", "request_kind": "spreadsheets.batchUpdate"},
        {"kind": "500", "request_kind": "spreadsheets.values.update", "times": 100},
    ],
    ids=["read-back fails", "addSheet answer lost", "write fails"],
)
def test_the_scratch_sheet_is_deleted_even_when_a_step_fails(
    runner, env, team_sheet, controls, emulator, fault
):
    before = titles(team_sheet)
    controls.fault(**fault)
    result = doctor(runner, env, "--to", f"gsheets:{team_sheet.id}")
    assert result.exit_code == 1
    line = lines(result)[f"gsheets:{team_sheet.id} scratch write"]
    assert line.startswith(f"✖ gsheets:{team_sheet.id} scratch write: ") and "500" in line
    assert "left behind" not in line
    requests.delete(f"{emulator.url}/_emulator/faults", timeout=10).raise_for_status()
    assert titles(team_sheet) == before
    assert team_sheet.sheet1.get_all_values() == [["Team note", "keep me"]]


# -- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_json_lists_every_check(runner, env, team_sheet):
    result = doctor(runner, {**env, "SHEETS_SYNC_SMTP_PORT": str(free_port())}, "--json",
                    "--read-only", "--to", f"gsheets:{team_sheet.id}")  # fmt: skip
    assert result.exit_code == 1
    checks = json.loads(result.output)
    assert all(set(c) == {"check", "target", "status", "ok", "detail", "fix"} for c in checks)
    by_name = {c["check"]: c for c in checks}
    assert by_name["settings"] == {"check": "settings", "target": None, "status": "ok",
                                   "ok": True, "detail": by_name["settings"]["detail"],
                                   "fix": None}  # fmt: skip
    smtp = by_name["SMTP"]
    assert smtp["status"] == "failed" and smtp["ok"] is False and "SMTP_PORT" in smtp["fix"]
    scratch = by_name[f"gsheets:{team_sheet.id} scratch write"]
    assert scratch["status"] == "skipped" and scratch["ok"] is None
    assert scratch["target"] == f"gsheets:{team_sheet.id}"


# -- the emulator answers Drive's capabilities as Google does -----------------------------------


def _can_edit(client: gspread.Client, sid: str, fields: str = "capabilities(canEdit)") -> Any:
    return client.http_client.request("get", DRIVE_FILE % sid, params={"fields": fields}).json()


def test_drive_capabilities_follow_the_callers_permission(emulator, tmp_path, gspread_client):
    bot = emulator_client(emulator.url, _bot_credentials(emulator, tmp_path))
    sh = bot.create("Bot's")
    assert _can_edit(bot, sh.id) == {"capabilities": {"canEdit": True}}  # the owner
    assert _can_edit(gspread_client, sh.id) == {"capabilities": {"canEdit": True}}  # unshared
    share(bot, sh.id, type="anyone", role="reader")
    assert _can_edit(gspread_client, sh.id) == {"capabilities": {"canEdit": False}}
    share(bot, sh.id, type="user", role="writer", emailAddress="ANONYMOUS")
    assert _can_edit(gspread_client, sh.id) == {"capabilities": {"canEdit": True}}
    full = _can_edit(bot, sh.id, "capabilities")["capabilities"]
    assert full["canDelete"] is True and full["canComment"] is True
    assert "capabilities" not in _can_edit(bot, sh.id, "id,name")
