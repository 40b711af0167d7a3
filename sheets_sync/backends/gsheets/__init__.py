"""The Google Sheets backend (gspread + google-auth).

:mod:`sheets_sync.backends.gsheets.session` points gspread at another base URL (the
emulator) via an injected ``requests.Session``.
"""

from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy

__all__ = ["GoogleSheetsBackend", "RetryPolicy", "RetryingHTTPClient"]
