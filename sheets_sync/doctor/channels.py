"""Slack and SMTP reached without sending anything, and the webhook's auth settings.

Slack: an incoming webhook answers a POST whose JSON has no message with
``400 no_text`` / ``invalid_payload`` while it is live, and with 403/404/410
(``invalid_token``, ``no_service``, ``no_team``, ``channel_not_found``,
``channel_is_archived``, ``action_prohibited``) once it is revoked or its
channel is gone (api.slack.com's incoming-webhook errors), so the empty post
tells the two apart and nothing reaches the channel. SMTP: connect, EHLO,
STARTTLS and login as configured, QUIT — no ``MAIL FROM``. The webhook URL and
the password are secrets: only the host and the variable names are shown.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from urllib.parse import urlsplit

import requests

from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.config.service import is_loopback
from sheets_sync.doctor.result import (
    NETWORK_TIMEOUT_SECONDS,
    Result,
    State,
    failed,
    ok,
    skipped,
)

SLACK_LIVE = frozenset({"no_text", "invalid_payload", "missing_text_or_fallback_or_attachments"})
SLACK_NEW_HOOK = (
    "create a new incoming webhook (your Slack app → Incoming Webhooks → Add New Webhook) and "
    f"set {ENV_PREFIX}SLACK_WEBHOOK_URL to it"
)
_SLACK_CODE = re.compile(r"^[a-z_]{1,60}$")
MIN_DISTINCT_SECRET_CHARACTERS = 10
"""Fewer distinct characters than this in the HMAC secret is not a random secret."""


def _settings(state: State) -> Settings:
    assert state.settings is not None
    return state.settings


def check_slack(state: State) -> Result:
    url = _settings(state).alerts.slack_webhook_url
    if not url:
        return skipped("Slack", f"{ENV_PREFIX}SLACK_WEBHOOK_URL is not set")
    host = urlsplit(url).hostname or "the webhook host"
    try:
        answer = requests.post(url, json={}, timeout=NETWORK_TIMEOUT_SECONDS)
    except requests.RequestException as error:  # its message quotes the URL: the type only
        return failed(
            "Slack", f"{host} unreachable ({type(error).__name__})",
            f"check {ENV_PREFIX}SLACK_WEBHOOK_URL and that this machine may reach {host}",
        )  # fmt: skip
    code = answer.text.strip()
    code = code if _SLACK_CODE.match(code) else ""
    said = f"HTTP {answer.status_code} {code}".strip()
    if (answer.status_code == 400 and code in SLACK_LIVE) or answer.status_code == 200:
        return ok("Slack", f"the incoming webhook at {host} is live ({said} to an empty post)")
    if answer.status_code in (403, 404, 410):
        return failed("Slack", f"the incoming webhook at {host} is dead ({said})", SLACK_NEW_HOOK)
    return failed(
        "Slack", f"{host} answered {said}, not as a Slack incoming webhook does",
        f"check that {ENV_PREFIX}SLACK_WEBHOOK_URL is the incoming webhook URL Slack gave you; "
        "on a 5xx, try again later",
    )  # fmt: skip


def check_smtp(state: State) -> Result:
    settings = _settings(state)
    host, port = settings.alerts.smtp_host, settings.alerts.smtp_port
    if not host:
        return skipped("SMTP", f"{ENV_PREFIX}SMTP_HOST is not set")
    try:
        steps = _smtp_session(settings)
    except smtplib.SMTPAuthenticationError as error:
        return failed(
            "SMTP", f"{host}:{port} refused the login ({error.smtp_code})",
            f"correct {ENV_PREFIX}SMTP_USER and {ENV_PREFIX}SMTP_PASSWORD",
        )  # fmt: skip
    except smtplib.SMTPNotSupportedError:
        return failed(
            "SMTP", f"{host}:{port} offers no STARTTLS",
            f"use the server's submission port (587) or, on a trusted network only, "
            f"{ENV_PREFIX}SMTP_STARTTLS=false",
        )  # fmt: skip
    except (smtplib.SMTPException, OSError) as error:
        return failed(
            "SMTP", f"{host}:{port} unreachable ({error})",
            f"check {ENV_PREFIX}SMTP_HOST and {ENV_PREFIX}SMTP_PORT, and that the server "
            "accepts connections from this machine",
        )  # fmt: skip
    return ok("SMTP", f"{host}:{port} answers ({', '.join(steps)}; no message sent)")


def _smtp_session(settings: Settings) -> list[str]:
    """Connect, EHLO, STARTTLS and login as configured, QUIT: the steps done."""
    assert settings.alerts.smtp_host
    steps = ["EHLO"]
    with smtplib.SMTP(settings.alerts.smtp_host, settings.alerts.smtp_port,
                      timeout=NETWORK_TIMEOUT_SECONDS) as smtp:  # fmt: skip
        smtp.ehlo()
        if settings.alerts.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            steps.append("STARTTLS")
        if settings.alerts.smtp_user and settings.alerts.smtp_password:
            smtp.login(settings.alerts.smtp_user, settings.alerts.smtp_password)
            steps.append("login")
    return steps


def check_webhook_auth(state: State) -> Result:
    """What the service would refuse to start with, or start with yet refuse every caller."""
    settings = _settings(state)
    if settings.webhook.auth == "disabled":
        if is_loopback(settings.webhook.bind_host):
            return ok(
                "webhook auth", f"disabled, bound to {settings.webhook.bind_host}: development only"
            )
        return failed(
            "webhook auth", f"{ENV_PREFIX}AUTH=disabled, and the service is bound to "
            f"{settings.webhook.bind_host or 'an unknown host'}, not loopback (it refuses to start)",
            f"unset {ENV_PREFIX}AUTH; disabled is for `sheets-sync serve --host 127.0.0.1` only",
        )  # fmt: skip
    problems = _auth_problems(settings)
    if problems:
        return failed("webhook auth", "; ".join(p for p, _ in problems),
                      "; ".join(f for _, f in problems))  # fmt: skip
    return ok("webhook auth", _auth_summary(settings))


def _auth_problems(settings: Settings) -> list[tuple[str, str]]:
    problems = []
    if not settings.webhook.oidc_audiences:
        problems.append((
            f"{ENV_PREFIX}OIDC_AUDIENCES is empty: every Google ID token is refused (the "
            "add-on and Cloud Scheduler cannot call)",
            f"set {ENV_PREFIX}OIDC_AUDIENCES to the add-on's OAuth client id "
            "(….apps.googleusercontent.com), with Cloud Scheduler's audience if any",
        ))  # fmt: skip
    elif not settings.webhook.allowed_emails and not settings.webhook.allowed_domains:
        problems.append((
            f"{ENV_PREFIX}ALLOWED_EMAILS and {ENV_PREFIX}ALLOWED_DOMAINS are empty: every ID "
            "token is refused (403)",
            f"set {ENV_PREFIX}ALLOWED_DOMAINS to the team's domain (e.g. example.com) "
            f"and/or {ENV_PREFIX}ALLOWED_EMAILS",
        ))  # fmt: skip
    secret = settings.webhook.hmac_secret
    if secret is not None and len(set(secret)) < MIN_DISTINCT_SECRET_CHARACTERS:
        problems.append((
            f"{ENV_PREFIX}HMAC_SECRET has {len(set(secret))} distinct characters: not random",
            'generate one with: python -c "import secrets; print(secrets.token_hex(32))"',
        ))  # fmt: skip
    return problems


def _auth_summary(settings: Settings) -> str:
    allowed = len(settings.webhook.allowed_domains) + len(settings.webhook.allowed_emails)
    hmac = "HMAC on" if settings.webhook.hmac_secret else "HMAC off"
    nightly = (f"{len(settings.webhook.cron_callers)} scheduler account(s) or App Engine cron"
               if settings.webhook.cron_callers else "App Engine cron only")  # fmt: skip
    return (
        f"ID tokens for {len(settings.webhook.oidc_audiences)} audience(s), {allowed} allowlist "
        f"entr{'y' if allowed == 1 else 'ies'}; {hmac}; the nightly run by {nightly}"
    )
