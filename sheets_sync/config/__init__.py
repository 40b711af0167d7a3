"""Typed settings, loaded once: defaults → ``SHEETS_SYNC_*`` environment → overrides.

Every field has a default that runs the embedded demo with no set-up. A bad
value is a :class:`ConfigError` naming the variable and what it expects.
Secrets are read from the environment only, never from files in the repo; a
secret's variable may hold a Secret Manager reference instead (``sm://…``,
:mod:`sheets_sync.secrets`), read once here.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sheets_sync import secrets
from sheets_sync.errors import ConfigError

ENV_PREFIX = "SHEETS_SYNC_"
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
_QUEUE_PATH = re.compile(r"^projects/[\w.:\-]+/locations/[\w\-]+/queues/[A-Za-z0-9\-]+$")
DEFAULT_CONFIG_FILE = Path("sheets-sync.yaml")
"""The spreadsheet registry's default path; only at this default may the file be absent."""


def _packaged_templates_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit beside the package."""
    here = Path(__file__).resolve().parent
    packaged = here / "_templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


@dataclass(frozen=True)
class Settings:
    """Everything the library needs to know about its surroundings."""

    database_url: str = "sqlite:///tradein.db"
    sheets_api_url: str | None = None
    templates_dir: Path = field(default_factory=_packaged_templates_dir)
    payload_cap_bytes: int = 2_000_000
    retry_deadline_seconds: float = 120.0
    request_timeout_seconds: float = 60.0
    sql_echo: bool = False
    lock_wait_seconds: float = 30.0
    lock_lease_seconds: float = 120.0
    max_shrink_share: float = 0.5
    """A sync removing more than this share of a keyed tab's rows stops (``--allow-shrink``)."""
    price_ceiling: float = 5000.0
    """The highest price a pricing push accepts (docs/design.md §7)."""
    price_max_change: float = 0.30
    """A pushed price moving more than this share from the current one needs a reason."""
    config_file: Path = DEFAULT_CONFIG_FILE
    """The spreadsheet registry, ``sheets-sync.yaml`` (:mod:`sheets_sync.registry`)."""
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
    # Alerts (docs/design.md §9). Secrets (the webhook URL, the SMTP password) come from
    # the environment only and are kept out of repr() so they never reach a log.
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
    job_workers: int = 4
    """Threads of the webhook's in-process executor: syncs running at once per process."""
    job_processes: bool = False
    """Run those syncs in child processes at a lower CPU priority (sheets_sync/jobs/processes.py),
    so a sync never holds the GIL or the CPU that the requests need."""
    job_timeout_seconds: float = 900.0
    """A queued run not started within this is taken for dead and marked failed (jobs/queue.py)."""
    min_sync_interval_seconds: float = 0.0
    """The in-process executor starts a spreadsheet's next run no sooner than this after its
    last one started (app.yaml: 6, the pace queue.yaml gives Cloud Tasks); refreshes arriving
    meanwhile join the waiting run. 0: at once."""
    # Cloud Tasks executor (docs/design.md §8, sheets_sync/jobs/cloud_tasks.py): on when the
    # queue is set.
    tasks_queue: str | None = None
    """``projects/P/locations/L/queues/Q``: refreshes go through this queue."""
    tasks_target_url: str | None = None
    """The service's base URL for HTTP tasks with an OIDC token; unset = App Engine tasks."""
    tasks_service_account: str | None = None
    """The account Cloud Tasks signs OIDC tokens as; the only one the task endpoint admits."""
    tasks_audience: str | None = None
    """The OIDC tokens' audience (default: ``tasks_target_url``)."""
    tasks_emulator_host: str | None = None
    """``host:port`` of a Cloud Tasks emulator (plain gRPC, no credentials): development only."""

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets_client: Any = None,
        **overrides: Any,
    ) -> Settings:
        """Layer the environment over the defaults, then explicit overrides over both.

        A secret given as a Secret Manager reference (``sm://…``) is read here,
        once (:mod:`sheets_sync.secrets`; ``secrets_client`` replaces Google's).
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in env and env[name] != "":
                values[f.name] = _parse(name, env[name], f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if secrets.references(values):
            values = secrets.resolve(values, lambda name: ENV_PREFIX + name.upper(), secrets_client)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Catch values that parse but cannot work, naming the variable."""
        if "://" not in self.database_url:
            raise ConfigError(
                f"{ENV_PREFIX}DATABASE_URL={self.database_url!r} is not a database URL; "
                "use e.g. sqlite:///tradein.db or postgresql+psycopg://user@host:5432/db"
            )
        if self.payload_cap_bytes < 10_000:
            raise ConfigError(f"{ENV_PREFIX}PAYLOAD_CAP_BYTES must be at least 10000 bytes")
        if self.lock_wait_seconds < 0:
            raise ConfigError(
                f"{ENV_PREFIX}LOCK_WAIT_SECONDS={self.lock_wait_seconds} must be 0 or more "
                "(how long a run waits for another run on the same spreadsheet, e.g. 30)"
            )
        if self.lock_lease_seconds <= 0:
            raise ConfigError(
                f"{ENV_PREFIX}LOCK_LEASE_SECONDS={self.lock_lease_seconds} must be more than 0 "
                "(how soon a crashed run's lock on SQLite expires, e.g. 120)"
            )
        if not 0 < self.max_shrink_share <= 1:
            raise ConfigError(
                f"{ENV_PREFIX}MAX_SHRINK_SHARE={self.max_shrink_share} must be a share "
                "between 0 and 1, e.g. 0.5 (a sync may remove at most half of a tab's rows)"
            )
        self._validate_pricing()
        self._validate_auth()
        self._validate_alerts()
        self._validate_tasks()
        if self.job_workers < 1:
            raise ConfigError(
                f"{ENV_PREFIX}JOB_WORKERS={self.job_workers} must be 1 or more "
                "(syncs the webhook runs at once per process, e.g. 4)"
            )
        if self.job_timeout_seconds <= 0:
            raise ConfigError(
                f"{ENV_PREFIX}JOB_TIMEOUT_SECONDS={self.job_timeout_seconds} must be more than 0 "
                "(how long a queued run may wait before it is taken for dead, e.g. 900)"
            )
        if not 0 <= self.min_sync_interval_seconds < self.job_timeout_seconds:
            raise ConfigError(
                f"{ENV_PREFIX}MIN_SYNC_INTERVAL_SECONDS={self.min_sync_interval_seconds} must be "
                "0 or more and below JOB_TIMEOUT_SECONDS (seconds between two runs of one "
                "spreadsheet, e.g. 6)"
            )
        if self.sheets_api_url and not self.sheets_api_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{ENV_PREFIX}SHEETS_API_URL={self.sheets_api_url!r} must start with "
                "http:// or https:// (e.g. http://127.0.0.1:8765 for the emulator)"
            )

    @property
    def price_guardrails(self) -> tuple[Decimal, Decimal]:
        """``(price_ceiling, price_max_change)`` as exact decimals, as the pricing push
        compares prices (``Rules.from_settings``) and the Pricing tab's suggestions keep
        to them (docs/design.md §7): ``0.1`` is ``Decimal("0.1")``, not the float's binary
        neighbour."""
        return Decimal(str(self.price_ceiling)), Decimal(str(self.price_max_change))

    def _validate_pricing(self) -> None:
        if not 0 < self.price_ceiling < 100_000_000:
            raise ConfigError(
                f"{ENV_PREFIX}PRICE_CEILING={self.price_ceiling} must be a price above 0 and "
                "below 100000000 (prices are NUMERIC(10,2)), e.g. 5000"
            )
        if not 0 < self.price_max_change <= 10:
            raise ConfigError(
                f"{ENV_PREFIX}PRICE_MAX_CHANGE={self.price_max_change} must be a share above 0, "
                "e.g. 0.30 (a price moving more than 30% needs a reason)"
            )

    def _validate_auth(self) -> None:
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

    def _validate_tasks(self) -> None:
        queue = self.tasks_queue
        if queue and not _QUEUE_PATH.match(queue):
            raise ConfigError(
                f"{ENV_PREFIX}TASKS_QUEUE={queue!r} is not a queue path; use "
                "projects/PROJECT/locations/LOCATION/queues/QUEUE (gcloud tasks queues describe)"
            )
        url = self.tasks_target_url
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"{ENV_PREFIX}TASKS_TARGET_URL={url!r} must be the service's base URL, "
                "e.g. https://sheets-sync-abc123-ew.a.run.app"
            )
        account = self.tasks_service_account
        if url and (not account or account.count("@") != 1):
            raise ConfigError(
                f"{ENV_PREFIX}TASKS_SERVICE_ACCOUNT must be the email of the service account "
                f"Cloud Tasks signs its OIDC tokens as when {ENV_PREFIX}TASKS_TARGET_URL is set, "
                "e.g. sheets-sync-tasks@PROJECT.iam.gserviceaccount.com"
            )
        host = self.tasks_emulator_host
        if host and not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", host):
            raise ConfigError(
                f"{ENV_PREFIX}TASKS_EMULATOR_HOST={host!r} must be host:port of the emulator, "
                "e.g. 127.0.0.1:8123"
            )

    @property
    def task_queue_name(self) -> str | None:
        """The queue's short name (``Q``), as App Engine's ``X-AppEngine-QueueName`` gives it."""
        return self.tasks_queue.rsplit("/", 1)[-1] if self.tasks_queue else None

    @property
    def task_audience(self) -> str | None:
        return self.tasks_audience or self.tasks_target_url

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

    def _validate_alerts(self) -> None:
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

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by tests and CLI overrides)."""
        return dataclasses.replace(self, **changes)


def _parse(name: str, raw: str, annotation: Any) -> Any:
    """Parse one environment value by its field's annotation (kept as a string)."""
    kind = str(annotation)
    try:
        if kind.startswith("bool"):
            return _parse_bool(raw)
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("Path"):
            return Path(raw).expanduser()
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as err:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.split()[0]}") from err
    return raw


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)
