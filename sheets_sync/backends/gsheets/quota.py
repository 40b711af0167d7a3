"""Which quota a request to Google draws on, and the governor a deployment's clients share.

Google's Sheets quota counts read requests ("any method that retrieves data
from a spreadsheet, such as get or search") apart from write requests ("any
method that changes a spreadsheet, such as update, clear, or copyTo"), a
batch with all its subrequests as one request, per account
(developers.google.com/sheets/api/limits). Drive calls (creating, listing,
deleting files) and token refreshes are other services' quotas: not counted.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from google.auth.credentials import Credentials
from sqlalchemy.engine import Engine

from sheets_sync.backends.gsheets.auth import account_email
from sheets_sync.config.parts import SheetsSettings
from sheets_sync.quota import QuotaGovernor, QuotaRules

SHEETS_PATH = "/v4/spreadsheets"
READING_POSTS = (":batchGetByDataFilter", ":getByDataFilter", "/developerMetadata:search")
"""The POSTs that only read (their filters do not fit in a URL)."""
DEFAULT_ACCOUNT = "default"
"""The quota's account when the credentials name none: Application Default Credentials
before their first token, or the local emulator's anonymous caller."""


def quota_kind(method: str, url: str) -> str | None:
    """``read`` or ``write`` for a Sheets API request; None for any other (Drive, token)."""
    path = urlsplit(url).path
    if path != SHEETS_PATH and not path.startswith(SHEETS_PATH + "/"):
        return None
    verb = method.upper()
    if verb == "GET" or (verb == "POST" and path.endswith(READING_POSTS)):
        return "read"
    return "write"


def quota_account(credentials: Credentials | None) -> str:
    """Whose quota the requests draw on: the service account's email."""
    return account_email(credentials) or DEFAULT_ACCOUNT


def governor(
    engine: Engine | None, sheets: SheetsSettings, credentials: Credentials | None
) -> QuotaGovernor | None:
    """The shared quota a client's requests wait for (None without a database: only the
    429 backoff paces them)."""
    if engine is None:
        return None
    return QuotaGovernor(engine, quota_account(credentials), QuotaRules.from_settings(sheets))
