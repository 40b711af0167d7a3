"""Delivering the outbox: Slack incoming webhook and SMTP, retried, never blocking a sync.

Each pending ``alert_notifications`` row is delivered on its own:

1. **claim** it (``claimed_until`` = now + a lease, in its own transaction), so
   two runs delivering at once never both send it;
2. **send** it, retrying with exponential backoff within
   ``alert_notify_attempts`` and the run's ``alert_notify_deadline_seconds``;
3. **mark** it delivered (``delivered_at``) in the transaction right after the
   send succeeded, or record ``attempts`` and ``last_error`` and release it.

A notification that could not be delivered stays in the outbox and the next
run delivers it: none is lost. The one gap is a crash between 2 and 3 (the
receiver has it, the row does not say so); the row is then sent again once its
lease expires. We chose **at-least-once** over at-most-once: a repeated
alert digest is a nuisance, a lost one is an incident nobody hears about. The
e-mail's ``Message-ID`` is fixed per notification so mail clients fold a
repeat into the original.

Errors are summarised without the webhook URL (a secret) or the password.
"""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import requests
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine, Row

from sheets_sync.clock import utcnow
from sheets_sync.config.service import AlertsSettings
from sheets_sync.schema import alert_notifications

LEASE_MARGIN_SECONDS = 60.0
"""A claim outlives the delivery deadline by this much before another run may take it."""
FIRST_BACKOFF_SECONDS = 0.5


class DeliveryFailed(Exception):
    """One try failed; ``retry`` says whether trying again this run can help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class Delivery:
    """What one delivery pass did: sent, left for a later run, and why."""

    delivered: int = 0
    undelivered: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(
    engine: Engine,
    alerts: AlertsSettings,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Delivery:
    """Deliver every pending notification of a configured channel, oldest first."""
    deadline = clock() + alerts.alert_notify_deadline_seconds
    result = Delivery()
    for row in _pending(engine, alerts):
        if clock() >= deadline or not _claim(engine, row.notification_id, alerts):
            result.undelivered += 1
            continue
        attempts, error = _send_with_retries(row, alerts, deadline, sleep, clock)
        _finish(engine, row.notification_id, attempts, error)
        if error is None:
            result.delivered += 1
        else:
            result.undelivered += 1
            result.errors.append(f"{row.channel} notification {row.notification_id}: {error}")
    return result


def _pending(engine: Engine, alerts: AlertsSettings) -> list[Row[Any]]:
    n = alert_notifications.c
    query = (
        select(alert_notifications)
        .where(n.delivered_at.is_(None), n.channel.in_(alerts.alert_channels))
        .order_by(n.created_at, n.notification_id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _claim(engine: Engine, notification_id: int, alerts: AlertsSettings) -> bool:
    """Take the row for this run unless another run holds it (or it was delivered meanwhile)."""
    now, n = utcnow(), alert_notifications.c
    lease = dt.timedelta(seconds=alerts.alert_notify_deadline_seconds + LEASE_MARGIN_SECONDS)
    free = or_(n.claimed_until.is_(None), n.claimed_until < now)
    with engine.begin() as conn:
        claimed = conn.execute(
            update(alert_notifications)
            .where(n.notification_id == notification_id, n.delivered_at.is_(None), free)
            .values(claimed_until=now + lease)
        )
    return claimed.rowcount == 1


def _finish(engine: Engine, notification_id: int, attempts: int, error: str | None) -> None:
    n = alert_notifications.c
    values: dict[str, Any] = {"attempts": n.attempts + attempts, "claimed_until": None}
    values.update(
        {"delivered_at": utcnow(), "last_error": None} if error is None else {"last_error": error}
    )
    with engine.begin() as conn:
        conn.execute(
            update(alert_notifications)
            .where(and_(n.notification_id == notification_id, n.delivered_at.is_(None)))
            .values(values)
        )


def _send_with_retries(
    row: Row[Any],
    alerts: AlertsSettings,
    deadline: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> tuple[int, str | None]:
    """(tries made, None on success or the last error)."""
    payload = json.loads(row.payload)
    error = "not tried: the delivery deadline had passed"
    for attempt in range(alerts.alert_notify_attempts):
        remaining = deadline - clock()
        if remaining <= 0:
            return attempt, error
        try:
            send(row.channel, payload, row.notification_id, alerts, timeout=min(remaining, 10))
            return attempt + 1, None
        except DeliveryFailed as failure:
            error = str(failure)
            backoff = FIRST_BACKOFF_SECONDS * 2**attempt
            last = attempt + 1 == alerts.alert_notify_attempts
            if not failure.retry or last or clock() + backoff >= deadline:
                return attempt + 1, error
            sleep(backoff)
    return alerts.alert_notify_attempts, error


def send(
    channel: str,
    payload: dict[str, Any],
    notification_id: int,
    alerts: AlertsSettings,
    timeout: float,
) -> None:
    """One try on one channel; DeliveryFailed when the receiver did not take it."""
    if channel == "slack":
        _post_slack(payload, alerts, timeout)
    else:
        _send_email(payload, notification_id, alerts, timeout)


def _post_slack(payload: dict[str, Any], alerts: AlertsSettings, timeout: float) -> None:
    assert alerts.slack_webhook_url
    try:
        response = requests.post(alerts.slack_webhook_url, json=payload, timeout=timeout)
    except requests.RequestException as err:
        # requests' messages quote the URL, which is the secret: name the failure only.
        raise DeliveryFailed(f"Slack webhook unreachable ({type(err).__name__})") from None
    if response.status_code != 200:
        retry = response.status_code == 429 or response.status_code >= 500
        body = response.text[:200].strip()
        raise DeliveryFailed(f"Slack webhook answered HTTP {response.status_code}: {body}", retry)


def _send_email(
    payload: dict[str, Any], notification_id: int, alerts: AlertsSettings, timeout: float
) -> None:
    assert alerts.smtp_host and alerts.smtp_from
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = alerts.smtp_from
    message["To"] = ", ".join(alerts.smtp_recipients)
    message["Date"] = formatdate(usegmt=True)
    domain = alerts.smtp_from.rsplit("@", 1)[-1]
    message["Message-ID"] = f"<alert-notification-{notification_id}@{domain}>"
    message.set_content(payload["body"])
    try:
        with smtplib.SMTP(alerts.smtp_host, alerts.smtp_port, timeout=timeout) as smtp:
            if alerts.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if alerts.smtp_user and alerts.smtp_password:
                smtp.login(alerts.smtp_user, alerts.smtp_password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryFailed(f"SMTP login refused ({err.smtp_code})", retry=False) from None
    except (smtplib.SMTPException, OSError) as err:
        raise DeliveryFailed(f"SMTP {alerts.smtp_host}:{alerts.smtp_port}: {err}") from None
