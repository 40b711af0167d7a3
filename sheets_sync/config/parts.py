"""The settings' parts a sync reads: the database, the files, the spreadsheets, the
locks, the pricing guardrails, the run machinery and Cloud Tasks.

Each part is a small frozen dataclass whose field names are the settings' own
names (``SHEETS_SYNC_`` + the name in capitals is its variable), so a function
takes only the part it uses and a grep for a setting's name finds it everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sheets_sync.config.env import DEFAULT_CONFIG_FILE, ENV_PREFIX
from sheets_sync.errors import ConfigError

_QUEUE_PATH = re.compile(r"^projects/[\w.:\-]+/locations/[\w\-]+/queues/[A-Za-z0-9\-]+$")


def _packaged_templates_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit beside the package."""
    here = Path(__file__).resolve().parents[1]
    packaged = here / "_templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the data lives (docs/design.md §10)."""

    database_url: str = "sqlite:///tradein.db"
    sql_echo: bool = False

    def validate(self) -> None:
        if "://" not in self.database_url:
            raise ConfigError(
                f"{ENV_PREFIX}DATABASE_URL={self.database_url!r} is not a database URL; "
                "use e.g. sqlite:///tradein.db or postgresql+psycopg://user@host:5432/db"
            )


@dataclass(frozen=True)
class FilesSettings:
    """What a sync is told to do: the tab templates and the spreadsheet registry."""

    templates_dir: Path = field(default_factory=_packaged_templates_dir)
    config_file: Path = DEFAULT_CONFIG_FILE
    """The spreadsheet registry, ``sheets-sync.yaml`` (:mod:`sheets_sync.registry`)."""

    def validate(self) -> None:
        """Nothing to check before use: a missing file is reported where it is read."""


@dataclass(frozen=True)
class SheetsSettings:
    """Writing a spreadsheet: Google's Sheets API and how much one sync may remove."""

    sheets_api_url: str | None = None
    payload_cap_bytes: int = 2_000_000
    retry_deadline_seconds: float = 120.0
    request_timeout_seconds: float = 60.0
    max_shrink_share: float = 0.5
    """A sync removing more than this share of a keyed tab's rows stops (``--allow-shrink``)."""
    quota_reads_per_minute: int = 54
    """Sheets read requests the service account may send per minute, all processes and
    instances together (sheets_sync/quota/): Google's 60 per user less a tenth, for other
    tools calling as the account and clocks that disagree. 0: reads are not governed."""
    quota_writes_per_minute: int = 54
    """The same for write requests, counted apart as Google counts them."""
    quota_window_seconds: float = 60.0
    """The quota's window, Google's minute; shorter only against the emulator (tests, benches)."""
    quota_wait_seconds: float = 300.0
    """The longest one run (a sync, a pricing push) may wait for quota in all before it fails:
    below the 600 s App Engine and Cloud Tasks give the request running it."""

    def validate(self) -> None:
        self._validate_quota()
        if self.payload_cap_bytes < 10_000:
            raise ConfigError(f"{ENV_PREFIX}PAYLOAD_CAP_BYTES must be at least 10000 bytes")
        if not 0 < self.max_shrink_share <= 1:
            raise ConfigError(
                f"{ENV_PREFIX}MAX_SHRINK_SHARE={self.max_shrink_share} must be a share "
                "between 0 and 1, e.g. 0.5 (a sync may remove at most half of a tab's rows)"
            )
        if self.sheets_api_url and not self.sheets_api_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{ENV_PREFIX}SHEETS_API_URL={self.sheets_api_url!r} must start with "
                "http:// or https:// (e.g. http://127.0.0.1:8765 for the emulator)"
            )

    def _validate_quota(self) -> None:
        for kind in ("reads", "writes"):
            value = getattr(self, f"quota_{kind}_per_minute")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                raise ConfigError(
                    f"{ENV_PREFIX}QUOTA_{kind.upper()}_PER_MINUTE={value!r} must be a whole "
                    f"number from 0 to 1000: the Sheets {kind[:-1]} requests per minute the "
                    "service account may send (Google's default quota is 60: e.g. 54), "
                    "or 0 to leave them to the 429 backoff alone"
                )
        if not 0 < self.quota_window_seconds <= 3600:
            raise ConfigError(
                f"{ENV_PREFIX}QUOTA_WINDOW_SECONDS={self.quota_window_seconds} must be above 0 "
                "and at most 3600: the quota's window in seconds (Google's is 60)"
            )
        if not 0 < self.quota_wait_seconds <= 3600:
            raise ConfigError(
                f"{ENV_PREFIX}QUOTA_WAIT_SECONDS={self.quota_wait_seconds} must be above 0 and "
                "at most 3600: how long a run may wait for Sheets quota before it fails, "
                "e.g. 300 (App Engine gives a request 600)"
            )


@dataclass(frozen=True)
class LocksSettings:
    """How runs writing one spreadsheet (sync, pricing push, alert evaluation) wait."""

    lock_wait_seconds: float = 30.0
    lock_lease_seconds: float = 120.0

    def validate(self) -> None:
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


@dataclass(frozen=True)
class PricingSettings:
    """The pricing push's guardrails, which the Pricing tab's suggestions keep to (§7)."""

    price_ceiling: float = 5000.0
    """The highest price a pricing push accepts (docs/design.md §7)."""
    price_max_change: float = 0.30
    """A pushed price moving more than this share from the current one needs a reason."""

    @property
    def price_guardrails(self) -> tuple[Decimal, Decimal]:
        """``(price_ceiling, price_max_change)`` as exact decimals, as the pricing push
        compares prices (``Rules.from_settings``) and the Pricing tab's suggestions keep
        to them (docs/design.md §7): ``0.1`` is ``Decimal("0.1")``, not the float's binary
        neighbour."""
        return Decimal(str(self.price_ceiling)), Decimal(str(self.price_max_change))

    def validate(self) -> None:
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


@dataclass(frozen=True)
class JobsSettings:
    """The webhook's in-process executor and the queued runs' liveness (sheets_sync/jobs/)."""

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
    memory_budget_mb: int = 360
    """What the syncs running at once on one instance may hold together, in MB; a sync that
    would not fit waits (sheets_sync/jobs/memory.py). The default fits app.yaml's F2 (768 MB)
    less the gunicorn master, its worker after a day of pushes, a push's own peak and the sync
    processes' fork server, measured (docs/scaling.md, "Memory"). 0: no budget."""
    sync_memory_mb: int = 400
    """The peak of one sync of every tab in its process, in MB (measured at 1,000,000 orders:
    398 MB RSS, the next day's sync with the win model and Pricing opportunities); a sync of
    fewer tabs counts its tabs' share (jobs/memory.py)."""
    memory_budget_dir: Path | None = None
    """The folder where the processes of one instance note their syncs' memory (its own
    disk, never shared between instances); default: the temporary folder's
    ``sheets-sync-memory``."""

    def validate(self) -> None:
        self._validate_memory()
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

    def _validate_memory(self) -> None:
        if self.memory_budget_mb < 0:
            raise ConfigError(
                f"{ENV_PREFIX}MEMORY_BUDGET_MB={self.memory_budget_mb} must be 0 (no budget) or "
                "the MB the syncs running at once on one instance may use together, e.g. 450 "
                "on an F2 instance (768 MB)"
            )
        if self.sync_memory_mb < 1:
            raise ConfigError(
                f"{ENV_PREFIX}SYNC_MEMORY_MB={self.sync_memory_mb} must be 1 or more (the peak "
                "of one sync of every tab, in MB, e.g. 300; bench/sync_memory.py measures it)"
            )
        folder = self.memory_budget_dir
        if folder is not None and not folder.is_absolute():
            raise ConfigError(
                f"{ENV_PREFIX}MEMORY_BUDGET_DIR={str(folder)!r} must be an absolute folder that "
                "every process of the instance sees, e.g. /tmp/sheets-sync-memory"
            )


@dataclass(frozen=True)
class TasksSettings:
    """The Cloud Tasks executor (docs/design.md §8, sheets_sync/jobs/cloud_tasks.py): on when
    the queue is set."""

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

    @property
    def task_queue_name(self) -> str | None:
        """The queue's short name (``Q``), as App Engine's ``X-AppEngine-QueueName`` gives it."""
        return self.tasks_queue.rsplit("/", 1)[-1] if self.tasks_queue else None

    @property
    def task_audience(self) -> str | None:
        return self.tasks_audience or self.tasks_target_url

    def validate(self) -> None:
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
