"""The Google Sheets backend (gspread + google-auth).

:mod:`sheets_sync.gsheets.session` points gspread at another base URL (the
emulator) via an injected ``requests.Session``.
"""

from sheets_sync.gsheets.backend import GoogleSheetsBackend
from sheets_sync.gsheets.http import RetryingHTTPClient, RetryPolicy

__all__ = ["GoogleSheetsBackend", "RetryPolicy", "RetryingHTTPClient"]
