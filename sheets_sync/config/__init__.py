"""Typed settings, loaded once: defaults → ``SHEETS_SYNC_*`` environment → overrides.

Every field has a default that runs the embedded demo with no set-up. A bad
value is a :class:`ConfigError` naming the variable and what it expects.
Secrets are read from the environment only, never from files in the repo; a
secret's variable may hold a Secret Manager reference instead (``sm://…``,
:mod:`sheets_sync.secrets`), read once here.

:class:`Settings` holds one small part per concern (``settings.database``,
``settings.sheets``, ``settings.pricing``, …; :mod:`sheets_sync.config.parts`,
:mod:`sheets_sync.config.service`) so a function takes only the part it uses.
A setting keeps one flat name everywhere — its variable without the prefix, its
field in its part, and the keyword ``load`` and ``replace`` take, which route it
to its part (:func:`_by_part`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheets_sync import secrets
from sheets_sync.config.env import parse, variable
from sheets_sync.config.parts import (
    DatabaseSettings,
    FilesSettings,
    JobsSettings,
    LocksSettings,
    PricingSettings,
    SheetsSettings,
    TasksSettings,
)
from sheets_sync.config.service import AlertsSettings, WebhookSettings
from sheets_sync.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Everything the library needs to know about its surroundings, one part per concern.

    The parts are listed in the order their values are checked, so with several bad
    values the first message is the same on every start.
    """

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    files: FilesSettings = field(default_factory=FilesSettings)
    sheets: SheetsSettings = field(default_factory=SheetsSettings)
    locks: LocksSettings = field(default_factory=LocksSettings)
    pricing: PricingSettings = field(default_factory=PricingSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    tasks: TasksSettings = field(default_factory=TasksSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets_client: Any = None,
        **overrides: Any,
    ) -> Settings:
        """Layer the environment over the defaults, then explicit overrides over both.

        Overrides are flat names (``database_url=…``). A secret given as a Secret
        Manager reference (``sm://…``) is read here, once (:mod:`sheets_sync.secrets`;
        ``secrets_client`` replaces Google's).
        """
        values = _from_environment(os.environ if environ is None else environ)
        values.update({k: v for k, v in overrides.items() if v is not None})
        _by_part(values)  # refuses an unknown name before any secret is fetched
        if secrets.references(values):
            values = secrets.resolve(values, variable, secrets_client)
        settings = cls().replace(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Catch values that parse but cannot work, naming the variable."""
        for part in dataclasses.fields(self):
            getattr(self, part.name).validate()

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, each by its flat name (``database_url=…``),
        routed to its part (used by ``load``, tests and CLI overrides); not validated."""
        parts = {
            part: dataclasses.replace(getattr(self, part), **values)
            for part, values in _by_part(changes).items()
        }
        return dataclasses.replace(self, **parts)


def _flat_fields() -> dict[str, tuple[str, dataclasses.Field[Any]]]:
    """Each setting's flat name → the part holding it and its field (``database_url`` →
    ``database``), the one table ``load`` and ``replace`` route by."""
    defaults = Settings()
    return {
        setting.name: (part.name, setting)
        for part in dataclasses.fields(Settings)
        for setting in dataclasses.fields(getattr(defaults, part.name))
    }


_FLAT = _flat_fields()


def _by_part(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Group flat settings by their part; an unknown name is a :class:`ConfigError`."""
    unknown = set(values) - set(_FLAT)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    grouped: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        grouped.setdefault(_FLAT[name][0], {})[name] = value
    return grouped


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """Every ``SHEETS_SYNC_*`` variable set (and not empty), parsed by its field's type."""
    values: dict[str, Any] = {}
    for name, (_, setting) in _FLAT.items():
        raw = env.get(variable(name), "")
        if raw != "":
            values[name] = parse(variable(name), raw, setting.type)
    return values
