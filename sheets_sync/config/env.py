"""How a setting is named and read from the environment: ``SHEETS_SYNC_`` + its name.

Kept apart from the settings' parts so every part, and every message naming a
variable elsewhere (the webhook, ``doctor``), spells a variable one way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sheets_sync.errors import ConfigError

ENV_PREFIX = "SHEETS_SYNC_"
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
DEFAULT_CONFIG_FILE = Path("sheets-sync.yaml")
"""The spreadsheet registry's default path; only at this default may the file be absent."""


def variable(name: str) -> str:
    """The environment variable of a setting: ``database_url`` → ``SHEETS_SYNC_DATABASE_URL``."""
    return ENV_PREFIX + name.upper()


def parse(name: str, raw: str, annotation: Any) -> Any:
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
