"""``sheets-sync addon``: the Apps Script add-on, allowlisted for the team's service."""

from __future__ import annotations

from pathlib import Path

import click

from sheets_sync.addon import write_addon
from sheets_sync.cli.app import main


@main.command("addon")
@click.option("--url", "service_url", required=True,
              help="The service's address, as the script property SHEETS_SYNC_URL will say "
                   "(https://PROJECT_ID.ew.r.appspot.com).")  # fmt: skip
@click.option("--out", "out_dir", default="tradein-ops-addon", show_default=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Directory to write the add-on to (its other files, e.g. .clasp.json, stay).")  # fmt: skip
def addon(service_url: str, out_dir: Path) -> None:
    """Write the Apps Script add-on with its urlFetchWhitelist set to the service's URL.

    Apps Script needs the allowlist for a versioned deployment and fetches
    nothing it does not cover; the URL is checked against Google's rules
    (https://, a full domain).

    \b
    Example:
        sheets-sync addon --url https://tradein-ops.ew.r.appspot.com --out tradein-ops-addon
        clasp push    # with "rootDir": "tradein-ops-addon" in .clasp.json
    """
    written = write_addon(service_url, out_dir)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"urlFetchWhitelist: {service_url.strip().rstrip('/')}/ — set the script property "
        f"SHEETS_SYNC_URL to {service_url.strip().rstrip('/')} (README: Apps Script add-on)"
    )
