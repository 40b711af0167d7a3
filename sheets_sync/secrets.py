"""Secrets given as Secret Manager references, read once when the settings load.

docs/design.md §10. App Engine standard cannot put a secret in ``app.yaml``
without writing it in the repository, so a secret setting may instead hold a
reference: ``SHEETS_SYNC_HMAC_SECRET=sm://projects/P/secrets/NAME/versions/V``
(``/versions/V`` optional: ``latest``). :func:`resolve` replaces each reference
by the secret's value with Google's ``google-cloud-secret-manager`` client (the
``server`` extra), through Application Default Credentials — the service
account needs ``roles/secretmanager.secretAccessor`` on the secret.

- Only :data:`SECRET_FIELDS` may be references (a secret anywhere else would be
  a misconfiguration); the client is imported only when one is present.
- A reference that cannot be read stops the load with a :class:`ConfigError`
  naming the variable and the fix; neither the value nor the payload is ever
  put in a message or a log.
- The payload's CRC32C, which Google sends, is checked, as Google advises; one
  trailing newline (``echo … | gcloud secrets create``) is dropped.

``client`` is injectable (a ``SecretManagerServiceClient`` on any transport), as
gspread takes an authorised session; tests give it a channel to a stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sheets_sync.errors import ConfigError

PREFIX = "sm://"
SECRET_FIELDS = ("database_url", "hmac_secret", "slack_webhook_url", "smtp_password")
ACCESS_TIMEOUT_SECONDS = 15.0
_REFERENCE = re.compile(
    r"^projects/([a-z0-9][a-z0-9\-:.]{0,99})/secrets/([A-Za-z0-9_\-]{1,255})"
    r"(?:/versions/(latest|[1-9][0-9]{0,18}))?$"
)
EXAMPLE = "sm://projects/PROJECT_ID/secrets/NAME/versions/latest"


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def references(values: Mapping[str, Any]) -> dict[str, str]:
    """The secret fields of ``values`` that are references (field → reference)."""
    return {name: values[name] for name in SECRET_FIELDS if is_reference(values.get(name))}


def resolve(values: Mapping[str, Any], variable: Any, client: Any = None) -> dict[str, Any]:
    """``values`` with every reference replaced by its secret; ``variable(field)`` names it."""
    found = {name: version_name(variable(name), ref) for name, ref in references(values).items()}
    if not found:
        return dict(values)
    if client is None:
        client = default_client(variable(next(iter(found))))
    resolved = dict(values)
    for name, version in found.items():
        resolved[name] = access(client, variable(name), version)
    return resolved


def version_name(variable: str, reference: str) -> str:
    """``projects/P/secrets/N/versions/V`` from ``sm://…``; the version defaults to latest."""
    match = _REFERENCE.match(reference.removeprefix(PREFIX))
    if match is None:
        raise ConfigError(
            f"{variable} is not a valid Secret Manager reference; write {EXAMPLE} "
            "(the secret's resource name after sm://, /versions/N optional)"
        )
    project, secret, version = match.groups()
    return f"projects/{project}/secrets/{secret}/versions/{version or 'latest'}"


def default_client(variable: str) -> Any:
    """Google's client with Application Default Credentials."""
    try:
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import secretmanager
    except ImportError:
        raise ConfigError(
            f"{variable} is a Secret Manager reference but google-cloud-secret-manager is not "
            "installed; install the server extra: pip install 'tradein-ops-sheets[server]'"
        ) from None
    try:
        return secretmanager.SecretManagerServiceClient()
    except DefaultCredentialsError:
        raise ConfigError(
            f"{variable} is a Secret Manager reference but no Google credentials were found; "
            "on App Engine they come with the service account, elsewhere run "
            "'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from None


def access(client: Any, variable: str, version: str) -> str:
    """The secret's text; a :class:`ConfigError` saying what to fix when it cannot be read."""
    from google.api_core import exceptions

    try:
        response = client.access_secret_version(
            request={"name": version}, timeout=ACCESS_TIMEOUT_SECONDS
        )
    except exceptions.GoogleAPICallError as error:
        raise ConfigError(_why(variable, version, error)) from None
    data = bytes(response.payload.data)
    checked = "data_crc32c" in response.payload
    if checked and response.payload.data_crc32c != crc32c(data):
        raise ConfigError(f"{variable}: {version} arrived corrupted (CRC32C mismatch); retry")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{variable}: {version} is not UTF-8 text; store the value as text"
        ) from None
    return text[:-1] if text.endswith("\n") else text


def _why(variable: str, version: str, error: Any) -> str:
    """What went wrong and the fix, by the API's status; never the payload."""
    from google.api_core import exceptions

    base = f"{variable}: cannot read {version} from Secret Manager ({type(error).__name__})"
    if isinstance(error, exceptions.NotFound):
        return (
            f"{base}: no such secret or version; check the name with 'gcloud secrets versions list'"
        )
    if isinstance(error, exceptions.PermissionDenied):
        return (
            f"{base}: the service's account may not read it; grant it "
            "roles/secretmanager.secretAccessor on the secret (README, Deployment)"
        )
    if isinstance(error, exceptions.FailedPrecondition):
        return f"{base}: the version is disabled or destroyed; enable it or name another version"
    return f"{base}: Secret Manager did not answer; retry, or check the service's network access"


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Secret Manager sends with a payload."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF
