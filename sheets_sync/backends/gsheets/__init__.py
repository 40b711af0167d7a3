"""The Google Sheets backend (gspread + google-auth).

:mod:`sheets_sync.backends.gsheets.session` points gspread at another base URL (the
emulator) via an injected ``requests.Session``.

Importing this package imports none of its modules (the destination is
:class:`.backend.GoogleSheetsBackend`), so its modules may import each other
through it without a circle.
"""
