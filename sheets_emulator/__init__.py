"""A local, stateful Google Sheets API v4 emulator (plus the Drive v3 and OAuth
calls gspread makes), for tests, benchmarks and offline demos.

    from sheets_emulator import emulator_client, start_emulator
    server = start_emulator()            # 127.0.0.1, free port
    client = emulator_client(server.url) # real gspread, talking to it

See docs/emulator.md for what it implements and how it differs from Google.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sheets_emulator.server import Emulator, EmulatorServer, start_emulator

if TYPE_CHECKING:
    from sheets_emulator.client import emulator_client

__all__ = ["Emulator", "EmulatorServer", "emulator_client", "start_emulator"]


def __getattr__(name: str) -> Any:
    """Import the client on first use: the server (``sheets-sync emulator``) does not
    need gspread, google-auth or the product's Google backend, ~20 MB of its idle RSS."""
    if name == "emulator_client":
        from sheets_emulator.client import emulator_client

        return emulator_client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
