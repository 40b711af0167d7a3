"""A real, unmodified gspread client pointed at a running emulator.

The emulator speaks Google's URLs under its own base URL, so the client only
needs a ``requests.Session`` that rewrites Google's hosts; the product has
exactly that session (it reaches any Sheets API base URL the same way), and
this helper reuses it rather than keeping a second copy of the rewriting.
"""

from __future__ import annotations

import gspread
from google.auth.credentials import Credentials

from sheets_sync.backends.gsheets.session import google_session


def emulator_client(base_url: str, credentials: Credentials | None = None) -> gspread.Client:
    """A gspread client whose Sheets, Drive and token calls go to ``base_url``."""
    session = google_session(base_url, credentials)
    return gspread.Client(auth=None, session=session)  # type: ignore[arg-type]
