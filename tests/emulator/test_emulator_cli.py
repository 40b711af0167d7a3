"""``sheets-sync emulator``: a port already taken is one clear error line."""

from __future__ import annotations

import socket

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
