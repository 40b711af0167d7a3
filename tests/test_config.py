"""Settings: defaults run the demo, the environment overrides them, bad values name the variable."""

from __future__ import annotations

import re
from operator import attrgetter
from pathlib import Path

import pytest

from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError


def test_defaults_need_no_environment():
    settings = Settings.load(environ={})
    assert settings.database.database_url == "sqlite:///tradein.db"
    assert settings.sheets.sheets_api_url is None
    assert (settings.files.templates_dir / "tabs").is_dir()


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        (
            "SHEETS_SYNC_DATABASE_URL",
            "postgresql+psycopg://u@h/db",
            "database.database_url",
            "postgresql+psycopg://u@h/db",
        ),
        (
            "SHEETS_SYNC_SHEETS_API_URL",
            "http://127.0.0.1:8765",
            "sheets.sheets_api_url",
            "http://127.0.0.1:8765",
        ),
        ("SHEETS_SYNC_PAYLOAD_CAP_BYTES", "500000", "sheets.payload_cap_bytes", 500_000),
        ("SHEETS_SYNC_RETRY_DEADLINE_SECONDS", "2.5", "sheets.retry_deadline_seconds", 2.5),
        ("SHEETS_SYNC_SQL_ECHO", "yes", "database.sql_echo", True),
        (
            "SHEETS_SYNC_TEMPLATES_DIR",
            "/srv/templates",
            "files.templates_dir",
            Path("/srv/templates"),
        ),
    ],
)
def test_environment_overrides_defaults(variable, raw, field, expected):
    assert attrgetter(field)(Settings.load(environ={variable: raw})) == expected


def test_explicit_override_beats_environment():
    settings = Settings.load(
        environ={"SHEETS_SYNC_DATABASE_URL": "sqlite:///env.db"}, database_url="sqlite:///cli.db"
    )
    assert settings.database.database_url == "sqlite:///cli.db"


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        (
            "SHEETS_SYNC_PAYLOAD_CAP_BYTES",
            "two megs",
            "SHEETS_SYNC_PAYLOAD_CAP_BYTES='two megs' is not a valid int",
        ),
        ("SHEETS_SYNC_SQL_ECHO", "maybe", "SHEETS_SYNC_SQL_ECHO='maybe' is not a valid bool"),
        (
            "SHEETS_SYNC_DATABASE_URL",
            "tradein.db",
            "SHEETS_SYNC_DATABASE_URL='tradein.db' is not a database URL",
        ),
        (
            "SHEETS_SYNC_SHEETS_API_URL",
            "127.0.0.1:8765",
            "SHEETS_SYNC_SHEETS_API_URL='127.0.0.1:8765' must start with http://",
        ),
        (
            "SHEETS_SYNC_PAYLOAD_CAP_BYTES",
            "10",
            "SHEETS_SYNC_PAYLOAD_CAP_BYTES must be at least 10000",
        ),
    ],
)
def test_bad_values_name_the_variable(variable, raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.load(environ={variable: raw})


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\): databse_url$"):
        Settings.load(environ={}, databse_url="sqlite://")


def test_a_flat_name_is_routed_to_its_part():
    """``load`` and ``replace`` take a setting by its flat name, the variable's without
    the prefix, and keep it in the part holding it; the other parts stay as they were."""
    settings = Settings.load(environ={}, price_ceiling=900.0)
    changed = settings.replace(smtp_port=25, lock_wait_seconds=0.0)
    assert settings.pricing.price_ceiling == 900.0
    assert (changed.alerts.smtp_port, changed.locks.lock_wait_seconds) == (25, 0.0)
    assert changed.pricing is settings.pricing and settings.alerts.smtp_port == 587


def test_unknown_replacement_is_refused():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\): databse_url$"):
        Settings().replace(databse_url="sqlite://")
