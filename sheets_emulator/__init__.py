"""A local, stateful Google Sheets API v4 emulator (plus the Drive v3 and OAuth
calls gspread makes), for tests, benchmarks and offline demos.

    from sheets_emulator import emulator_client, start_emulator
    server = start_emulator()            # 127.0.0.1, free port
    client = emulator_client(server.url) # real gspread, talking to it

See docs/emulator.md for what it implements and how it differs from Google.
"""

from sheets_emulator.client import emulator_client
from sheets_emulator.server import Emulator, EmulatorServer, start_emulator

__all__ = ["Emulator", "EmulatorServer", "emulator_client", "start_emulator"]
