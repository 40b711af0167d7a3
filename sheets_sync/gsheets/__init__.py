"""The Google Sheets backend (gspread + google-auth).

:mod:`sheets_sync.gsheets.session` points gspread at another base URL (the
emulator) via an injected ``requests.Session``.
"""
