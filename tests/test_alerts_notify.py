"""Notifications reach a local Slack-like HTTP receiver and a local SMTP server (aiosmtpd).

Both run on loopback in fixtures; "down" means nothing listens on the port
(connection refused), "back" means the receiver listens again on the same
port. A notification that could not be delivered is delivered by a later run,
exactly once.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from alerts_data import AS_OF, NOON, NOW, insert_rows, inspected, write_rules
from kpi_data import load
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.alerts.notify import deliver
from sheets_sync.alerts.run import evaluate_and_notify
from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError

RULES = """
rules:
  - id: co_high
    description: Counter-offers above 30%
    metric: counter_offer_rate
    scope: seller
    window: 7
    condition: {above: 0.3}
    severity: critical
    notify: [slack, email]
"""
SECRET_PATH = "/services/T000/B000/s3cr3t-token"
SHEET_URL = "https://docs.google.com/spreadsheets/d/abc123/edit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlackReceiver:
    """An incoming-webhook stand-in: records JSON bodies, answers ``statuses`` in turn then 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECRET_PATH}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                    receiver.paths.append(self.path)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Mailbox:
    """aiosmtpd on loopback, keeping every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[tuple[list[str], Message]] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def firing(engine: Engine) -> Engine:
    """S1 (40%) and S2 (50%) above the 30% counter-offer threshold."""
    load(
        engine,
        inspected("A", 10, NOON, counter=4) + inspected("B", 10, NOON, counter=5, seller_id="S2"),
    )
    return engine


@pytest.fixture
def settings(tmp_path: Path, db_url: str, slack: SlackReceiver, mailbox: Mailbox) -> Settings:
    folder = tmp_path / "templates"
    folder.mkdir()
    write_rules(folder, RULES)
    return Settings.load(
        environ={}, database_url=db_url, templates_dir=folder, slack_webhook_url=slack.url,
        smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_from="alerts@example.com",
        smtp_to="ops@example.com, lead@example.com", smtp_starttls=False,
        alerts_spreadsheet_url=SHEET_URL, alert_notify_attempts=1,
    )  # fmt: skip


def run(engine: Engine, settings: Settings, hours: int = 0) -> Any:
    return evaluate_and_notify(engine, settings, as_of=AS_OF, now=NOW + dt.timedelta(hours=hours))


def outbox(engine: Engine) -> list[Any]:
    n = schema.alert_notifications
    with engine.connect() as conn:
        return list(conn.execute(select(n).order_by(n.c.notification_id)))


def test_slack_gets_one_block_kit_digest(firing, settings, slack):
    summary = run(firing, settings)
    assert summary.delivery.delivered == 2 and summary.delivery.errors == []
    (body,) = slack.bodies
    assert slack.paths == [SECRET_PATH]
    assert body["text"] == "Trade-in alerts: 2 raised, 0 resolved"
    header, first, second, link = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": body["text"]}}
    assert first == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*[CRITICAL] Counter-offers above 30%*\nWhere: seller Recommerce Pro (S1)\n"
            "Value: 40.0 % (threshold 30.0 %)\nSince 2025-06-11 06:00 UTC\n"
            f"Look: <{SHEET_URL}|Alerts tab>",
        },
    }
    where = 'Where: seller =IMPORTXML("http://example.com","//a") (S2)\nValue: 50.0 %'
    assert where in second["text"]["text"]  # a formula-like name is only text to Slack
    assert link["text"]["text"] == f"<{SHEET_URL}|Open the spreadsheet (Alerts tab)>"


def test_email_is_one_digest_to_every_recipient(firing, settings, mailbox):
    run(firing, settings)
    ((recipients, message),) = mailbox.messages
    assert recipients == ["ops@example.com", "lead@example.com"]
    assert message["Subject"] == "Trade-in alerts: 2 raised, 0 resolved"
    assert message["From"] == "alerts@example.com"
    assert message["Message-ID"].startswith("<alert-notification-")
    text = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert (
        "[CRITICAL] Counter-offers above 30%\nWhere: seller Recommerce Pro (S1)\n"
        "Value: 40.0 % (threshold 30.0 %)\nSince 2025-06-11 06:00 UTC\n"
        f"Look: Alerts tab of {SHEET_URL}"
    ) in text
    assert text.rstrip().endswith(f"Spreadsheet (Alerts tab): {SHEET_URL}")


def test_resolution_is_announced_on_both_channels(firing, settings, slack, mailbox):
    run(firing, settings)
    with firing.begin() as conn:
        conn.execute(
            schema.tradein_orders.delete().where(schema.tradein_orders.c.seller_id == "S2")
        )
    run(firing, settings, hours=1)
    assert slack.bodies[1]["text"] == "Trade-in alerts: 0 raised, 1 resolved"
    assert "[RESOLVED] Counter-offers above 30%" in slack.bodies[1]["blocks"][1]["text"]["text"]
    assert mailbox.messages[1][1]["Subject"] == "Trade-in alerts: 0 raised, 1 resolved"


@pytest.mark.parametrize("channel", ["slack", "email"])
def test_a_receiver_down_then_back_gets_the_notification_once(
    firing, settings, slack, mailbox, channel
):
    receiver = slack if channel == "slack" else mailbox
    received = slack.bodies if channel == "slack" else mailbox.messages
    receiver.stop()
    down = run(firing, settings)
    assert (down.delivery.delivered, down.delivery.undelivered) == (1, 1)
    (error,) = down.delivery.errors
    assert error.startswith(f"{channel} notification ")
    pending = [r for r in outbox(firing) if r.channel == channel]
    assert pending[0].delivered_at is None and pending[0].attempts == 1
    assert pending[0].last_error and SECRET_PATH not in pending[0].last_error
    receiver.start()
    back = run(firing, settings, hours=1)  # nothing new fires: only the outbox is delivered
    assert (back.queued, back.delivery.delivered, back.delivery.undelivered) == (0, 1, 0)
    assert len(received) == 1
    again = run(firing, settings, hours=2)
    assert (again.delivery.delivered, len(received)) == (0, 1)
    (row,) = [r for r in outbox(firing) if r.channel == channel]
    assert row.delivered_at is not None and row.attempts == 2 and row.last_error is None


def test_a_server_error_is_retried_with_backoff_within_the_run(firing, settings, slack):
    slack.statuses = [503, 500]
    insert_rows(firing, schema.alert_notifications, [_note("slack", {"text": "hello"})])
    pauses: list[float] = []
    result = deliver(firing, settings.replace(alert_notify_attempts=3).alerts, sleep=pauses.append)
    assert (result.delivered, pauses, slack.bodies[-1]) == (1, [0.5, 1.0], {"text": "hello"})


def test_a_refused_payload_is_kept_without_retrying_this_run(firing, settings, slack):
    slack.statuses = [400]
    insert_rows(firing, schema.alert_notifications, [_note("slack", {"text": "x"})])
    pauses: list[float] = []
    result = deliver(firing, settings.replace(alert_notify_attempts=3).alerts, sleep=pauses.append)
    assert (result.delivered, result.undelivered, pauses) == (0, 1, [])
    assert result.errors == [
        "slack notification 1: Slack webhook answered HTTP 400: invalid_payload"
    ]
    assert deliver(firing, settings.alerts).delivered == 1  # the next run delivers it


@pytest.mark.parametrize(
    ("claimed_until", "delivered"),
    [
        (dt.datetime(2999, 1, 1), 0),  # another run is delivering it right now
        (dt.datetime(2000, 1, 1), 1),  # its run crashed: the lease expired, this run sends it
    ],
)
def test_a_claimed_notification_waits_for_its_lease(
    firing, settings, slack, claimed_until, delivered
):
    claimed = _note("slack", {"text": "x"}, claimed_until=claimed_until)
    insert_rows(firing, schema.alert_notifications, [claimed])
    assert (deliver(firing, settings.alerts).delivered, len(slack.bodies)) == (delivered, delivered)


def test_past_the_deadline_the_rest_waits_for_the_next_run(firing, settings, slack):
    notes = [_note("slack", {"text": str(i)}) for i in range(3)]
    insert_rows(firing, schema.alert_notifications, notes)
    ticks = iter([0.0, 1.0, 1.0, 25.0, 25.0, 25.0, 25.0])  # the deadline (20 s) passes after one
    result = deliver(firing, settings.alerts, clock=lambda: next(ticks))
    assert (result.delivered, result.undelivered, slack.bodies) == (1, 2, [{"text": "0"}])
    assert deliver(firing, settings.alerts).delivered == 2


def _note(channel: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "channel": channel, "payload": json.dumps(payload), "created_at": NOW,
        "attempts": 0, **fields,
    }  # fmt: skip


def test_secrets_stay_out_of_settings_repr():
    settings = Settings.load(
        environ={"SHEETS_SYNC_SLACK_WEBHOOK_URL": "https://hooks.slack.com" + SECRET_PATH},
        smtp_host="mail", smtp_from="a@b.c", smtp_to="d@e.f", smtp_user="u",
        smtp_password="hunter2",
    )  # fmt: skip
    assert settings.alerts.alert_channels == ("slack", "email")
    assert "s3cr3t" not in repr(settings) and "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"SLACK_WEBHOOK_URL": "hooks.slack.com/s3cr3t"},
            "SHEETS_SYNC_SLACK_WEBHOOK_URL is not an http(s) URL; paste the incoming webhook "
            "URL Slack gave you (https://hooks.slack.com/services/…)",
        ),
        (
            {"SMTP_HOST": "mail", "SMTP_TO": "ops@example.com"},
            "SHEETS_SYNC_SMTP_FROM must be the sender's address when SHEETS_SYNC_SMTP_HOST is "
            "set, e.g. alerts@example.com",
        ),
        (
            {"SMTP_HOST": "mail", "SMTP_FROM": "a@example.com", "SMTP_TO": "ops, x@example.com"},
            "SHEETS_SYNC_SMTP_TO must list the recipients' addresses separated by commas when "
            "SHEETS_SYNC_SMTP_HOST is set, e.g. ops@example.com,lead@example.com "
            "('ops' is not an address)",
        ),
        (
            {
                "SMTP_HOST": "mail",
                "SMTP_FROM": "a@example.com",
                "SMTP_TO": "b@example.com",
                "SMTP_USER": "me",
            },
            "SHEETS_SYNC_SMTP_USER and SHEETS_SYNC_SMTP_PASSWORD go together: set both to log "
            "in to the SMTP server, or neither",
        ),
        (
            {
                "SMTP_HOST": "mail",
                "SMTP_FROM": "a@example.com",
                "SMTP_TO": "b@example.com",
                "SMTP_PORT": "0",
            },
            "SHEETS_SYNC_SMTP_PORT=0 is not a port; use e.g. 587 (STARTTLS) or 25",
        ),
        (
            {"ALERT_NOTIFY_ATTEMPTS": "0"},
            "SHEETS_SYNC_ALERT_NOTIFY_ATTEMPTS must be 1 or more and "
            "SHEETS_SYNC_ALERT_NOTIFY_DEADLINE_SECONDS more than 0 (e.g. 3 and 20)",
        ),
    ],
)
def test_bad_notification_settings_name_the_variable(environ, message):
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={f"SHEETS_SYNC_{k}": v for k, v in environ.items()})
    assert str(caught.value) == message
