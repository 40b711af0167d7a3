"""``sheets-sync emulator``: serve the local Sheets API emulator in the foreground."""

from __future__ import annotations

import click

from sheets_sync.cli.app import main


@main.command("emulator")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0 picks a free one).")  # fmt: skip
@click.option("--read-quota", type=click.IntRange(1), default=None,
              help="Read requests per minute per user (default: unlimited).")  # fmt: skip
@click.option("--write-quota", type=click.IntRange(1), default=None,
              help="Write requests per minute per user (default: unlimited).")  # fmt: skip
@click.option("--lenient", is_flag=True,
              help="Serve requests Google's discovery documents refuse (unknown fields, "
                   "bad enums...); by default they are Google's 400s.")  # fmt: skip
def emulator(port: int, read_quota: int | None, write_quota: int | None, lenient: bool) -> None:
    """Serve a local Google Sheets API v4 (+ Drive files, OAuth token) on 127.0.0.1.

    \b
    Point the product (or any gspread client) at it:
        sheets-sync emulator --port 8765 &
        export SHEETS_SYNC_SHEETS_API_URL=http://127.0.0.1:8765
    Test controls live under http://127.0.0.1:PORT/_emulator/ (see docs/emulator.md).
    """
    from sheets_emulator.server import EmulatorServer

    try:
        server = EmulatorServer(port=port, strict=not lenient)
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}; choose another --port"
        ) from error
    server.emulator.controls.quotas.configure(
        {"read_per_minute": read_quota, "write_per_minute": write_quota}
    )
    click.echo(f"Sheets API emulator on {server.url}  (Ctrl+C to stop)")
    click.echo(f"  export SHEETS_SYNC_SHEETS_API_URL={server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
