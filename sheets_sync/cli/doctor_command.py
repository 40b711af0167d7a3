"""``sheets-sync doctor``: is this deployment ready? One line per check (sheets_sync/doctor)."""

from __future__ import annotations

import json

import click

from sheets_sync import doctor
from sheets_sync.cli.app import main
from sheets_sync.cli.params import DestinationType
from sheets_sync.destinations import Destination


@main.command("doctor")
@click.option(
    "--to",
    "targets",
    type=DestinationType(),
    multiple=True,
    help="A spreadsheet to check, gsheets:SPREADSHEET_ID (or xlsx:PATH); repeatable.",
)
@click.option("--all", "all_registered", is_flag=True,
              help="Check every spreadsheet of the registry (sheets-sync.yaml).")  # fmt: skip
@click.option("--read-only", is_flag=True,
              help="Write nothing: no scratch sheet is added to the spreadsheets.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {check, target, status, ok, detail, fix}.")  # fmt: skip
def doctor_command(
    targets: tuple[Destination, ...], all_registered: bool, read_only: bool, as_json: bool
) -> None:
    """Check a deployment before trusting it: settings, database, templates, Google, alerts.

    Each check prints ✔, ✖ with the fix, or ○ skipped with why; exit 1 on any ✖.
    Nothing is sent to Slack or by email; on each spreadsheet a hidden scratch
    sheet is added, written, read back and deleted (unless --read-only).

    \b
    Example:
        sheets-sync doctor --to gsheets:1AbC... --all
    """
    options = doctor.Options(targets, all_registered, read_only)
    results = []
    for result in doctor.run(options):
        results.append(result)
        if not as_json:
            click.echo(result.line())
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False))
    if any(r.ok is False for r in results):
        raise SystemExit(1)
