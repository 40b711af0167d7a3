"""The settings' parts the service reads beyond a sync: the webhook's access rules and
the alert notifications (docs/design.md §8, §9).

Secrets here (the HMAC secret, the Slack webhook URL, the SMTP password) come from
the environment only and are kept out of ``repr()`` so they never reach a log.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from sheets_sync.config.env import ENV_PREFIX, GOOGLE_CERTS_URL
from sheets_sync.errors import ConfigError


@dataclass(frozen=True)
class WebhookSettings:
    """Who the webhook lets in, and where it listens (which decides if auth may be off)."""

    oidc_certs_url: str = GOOGLE_CERTS_URL
    """Where the webhook fetches the keys signing Google ID tokens (tests: a local server)."""
    oidc_audiences: tuple[str, ...] = ()
    """Accepted ``aud`` of ID tokens (comma list); empty refuses every token."""
    allowed_emails: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    cron_callers: tuple[str, ...] = ()
    """Emails whose ID tokens may call ``GET /cron/nightly`` (Cloud Scheduler's service
    account off App Engine); no person's token may (docs/design.md §8)."""
    hmac_secret: str | None = field(default=None, repr=False)
    auth: str = "enabled"
    """``disabled`` lets every request in as "local"; only while bound to loopback."""
    bind_host: str | None = None
    """The host the webhook listens on (``serve --host`` sets it); decides if auth may be off."""

    def validate(self) -> None:
        if self.auth not in {"enabled", "disabled"}:
            raise ConfigError(
                f"{ENV_PREFIX}AUTH={self.auth!r} must be enabled or disabled "
                "(disabled only for local development bound to 127.0.0.1)"
            )
        if not self.oidc_certs_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{ENV_PREFIX}OIDC_CERTS_URL={self.oidc_certs_url!r} must start with http:// "
                f"or https://; leave it unset for Google's ({GOOGLE_CERTS_URL})"
            )
        if self.hmac_secret is not None and len(self.hmac_secret) < 32:
            raise ConfigError(
                f"{ENV_PREFIX}HMAC_SECRET is {len(self.hmac_secret)} characters; use at least 32 "
                "random characters, e.g. the output of: python -c "
                '"import secrets; print(secrets.token_hex(32))"'
            )
        self._validate_callers()

    def _validate_callers(self) -> None:
        for email in self.allowed_emails:
            if email.count("@") != 1:
                raise ConfigError(
                    f"{ENV_PREFIX}ALLOWED_EMAILS: {email!r} is not an email address; write "
                    "addresses separated by commas, e.g. ana@example.com,ops@example.com"
                )
        for email in self.cron_callers:
            local, _, domain = email.rpartition("@")
            if email.count("@") != 1 or not local or "*" in email or "." not in domain:
                raise ConfigError(
                    f"{ENV_PREFIX}CRON_CALLERS: {email!r} is not an email address; write the "
                    "exact emails of the accounts that run the nightly sync, separated by "
                    "commas, e.g. scheduler@PROJECT.iam.gserviceaccount.com"
                )
        for domain in self.allowed_domains:
            if "@" in domain or "." not in domain:
                raise ConfigError(
                    f"{ENV_PREFIX}ALLOWED_DOMAINS: {domain!r} is not a domain; write domains "
                    "separated by commas, e.g. example.com (without @)"
                )


@dataclass(frozen=True)
class AlertsSettings:
    """Where alert digests go and how hard delivery tries (docs/design.md §9)."""

    slack_webhook_url: str | None = field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_to: str | None = None
    """Comma-separated recipients of the alert digest."""
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    alerts_spreadsheet_url: str | None = None
    """The spreadsheet holding the Alerts tab, linked from notifications when set."""
    alert_notify_attempts: int = 3
    """Tries per notification and run (with backoff) before it waits for the next run."""
    alert_notify_deadline_seconds: float = 20.0
    """Delivery stops trying after this long, so it never holds up the nightly job."""

    @property
    def alert_channels(self) -> tuple[str, ...]:
        """The notification channels configured: ``slack`` and/or ``email``."""
        return tuple(
            name
            for name, on in (("slack", self.slack_webhook_url), ("email", self.smtp_host))
            if on
        )

    @property
    def smtp_recipients(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in (self.smtp_to or "").split(",") if a.strip())

    def validate(self) -> None:
        # The webhook URL is a secret: messages name the variable, never its value.
        url = self.slack_webhook_url
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"{ENV_PREFIX}SLACK_WEBHOOK_URL is not an http(s) URL; paste the incoming "
                "webhook URL Slack gave you (https://hooks.slack.com/services/…)"
            )
        if self.smtp_host:
            self._validate_smtp()
        if self.alert_notify_attempts < 1 or self.alert_notify_deadline_seconds <= 0:
            raise ConfigError(
                f"{ENV_PREFIX}ALERT_NOTIFY_ATTEMPTS must be 1 or more and "
                f"{ENV_PREFIX}ALERT_NOTIFY_DEADLINE_SECONDS more than 0 (e.g. 3 and 20)"
            )

    def _validate_smtp(self) -> None:
        if not 0 < self.smtp_port < 65536:
            raise ConfigError(
                f"{ENV_PREFIX}SMTP_PORT={self.smtp_port} is not a port; use e.g. 587 (STARTTLS) "
                "or 25"
            )
        if not self.smtp_from or "@" not in self.smtp_from:
            raise ConfigError(
                f"{ENV_PREFIX}SMTP_FROM must be the sender's address when "
                f"{ENV_PREFIX}SMTP_HOST is set, e.g. alerts@example.com"
            )
        bad = [a for a in self.smtp_recipients if "@" not in a]
        if not self.smtp_recipients or bad:
            raise ConfigError(
                f"{ENV_PREFIX}SMTP_TO must list the recipients' addresses separated by commas "
                f"when {ENV_PREFIX}SMTP_HOST is set, e.g. ops@example.com,lead@example.com"
                + (f" ({bad[0]!r} is not an address)" if bad else "")
            )
        if bool(self.smtp_user) != bool(self.smtp_password):
            raise ConfigError(
                f"{ENV_PREFIX}SMTP_USER and {ENV_PREFIX}SMTP_PASSWORD go together: set both "
                "to log in to the SMTP server, or neither"
            )


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost): the rule
    ``SHEETS_SYNC_AUTH=disabled`` needs of ``bind_host`` (the webhook at start-up, the doctor)."""
    if not host:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False
