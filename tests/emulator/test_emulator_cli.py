"""``sheets-sync emulator``: a port already taken is one clear error line; the
server starts without the client side (gspread, google-auth, the Google backend)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sheets_sync.cli import main


def test_busy_port_is_a_clear_error(runner: CliRunner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(main, ["emulator", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output


def test_help_shows_how_to_point_the_product_at_it(runner: CliRunner) -> None:
    result = runner.invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0 and "SHEETS_SYNC_SHEETS_API_URL" in result.output


@pytest.mark.parametrize(
    "client_module", ["gspread", "google.auth", "sheets_sync.backends.gsheets"]
)
def test_server_does_not_load_the_client_side(client_module: str) -> None:
    """The emulator process stays ~20 MB lighter; ``emulator_client`` is still importable."""
    code = (
        "import sys; from sheets_emulator import EmulatorServer; "
        f"loaded = {client_module!r} in sys.modules; "
        "from sheets_emulator import emulator_client; "
        f"print(loaded, {client_module!r} in sys.modules, callable(emulator_client))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
