"""Credentials for the Google backend, and the session that carries them.

A service-account key file (``GOOGLE_APPLICATION_CREDENTIALS``) or
Application Default Credentials (App Engine, ``gcloud auth application-default
login``), scoped to Sheets and to the Drive files the app uses. The emulator
on loopback needs none: the session goes out anonymous. Tokens never reach a
log or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import google.auth
import requests
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.config.parts import SheetsSettings
from sheets_sync.errors import ConfigError

SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive.file",
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_emulator(api_url: str | None) -> bool:
    """Only a loopback API URL may go without credentials: nothing else is our emulator."""
    return bool(api_url) and urlsplit(api_url or "").hostname in LOOPBACK_HOSTS


def load_credentials(
    sheets: SheetsSettings, environ: Mapping[str, str] | None = None
) -> Credentials | None:
    """The credentials to call the API with, or None for the local emulator."""
    if is_local_emulator(sheets.sheets_api_url):
        return None
    env = os.environ if environ is None else environ
    key_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file:
        return _from_key_file(key_file)
    try:
        credentials, _project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as error:
        raise ConfigError(
            "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
            "key file, run on App Engine, or `gcloud auth application-default login` "
            f"({_first_line(error)})"
        ) from error
    return credentials


def _from_key_file(path: str) -> Credentials:
    try:
        credentials: Credentials = service_account.Credentials.from_service_account_file(
            path, scopes=list(SCOPES)
        )
    except FileNotFoundError as error:
        raise ConfigError(
            f"GOOGLE_APPLICATION_CREDENTIALS={path!r}: no such file; point it at the "
            "service account's JSON key"
        ) from error
    except (ValueError, KeyError) as error:
        raise ConfigError(
            f"GOOGLE_APPLICATION_CREDENTIALS={path!r} is not a service-account JSON key "
            f"({_first_line(error)}); download a key of type 'service_account'"
        ) from error
    return credentials


def account_email(credentials: Credentials | None) -> str | None:
    """Who the spreadsheet must be shared with (None when anonymous or unknown)."""
    if credentials is None:
        return None
    email = getattr(credentials, "service_account_email", None)
    return str(email) if email and email != "default" else None


def make_session(sheets: SheetsSettings, credentials: Credentials | None) -> requests.Session:
    """Google's hosts, or the emulator's base URL when one is configured."""
    return google_session(sheets.sheets_api_url, credentials)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
