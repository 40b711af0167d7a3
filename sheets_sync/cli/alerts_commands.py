"""``alerts``: evaluate the alert rules now (docs/design.md §9).

The nightly job runs the same evaluation after syncing
(:func:`sheets_sync.alerts.run.evaluate_and_notify`); this command is for the
curious and for checking a rules change: ``--dry-run`` shows what would fire,
records nothing and notifies no one. Exit 0 whatever fires and whether or not
a receiver was reachable (undelivered notifications wait for the next run).
"""

from __future__ import annotations

import datetime as dt
import json

import click

from sheets_sync.alerts.run import evaluate_and_notify
from sheets_sync.alerts.speech import viewers
from sheets_sync.cli.app import AppContext, database_option, main, pass_app
from sheets_sync.cli.params import PastDay, os_user
from sheets_sync.registry import load_registry
from sheets_sync.sync import load_all_templates


@main.command("alerts")
@click.option("--dry-run", is_flag=True, help="Show what fires; record and notify nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--as-of",
    type=PastDay("as-of", "the data's last day"),
    default=None,
    help="Evaluate as of this day, YYYY-MM-DD (default: the data's last day, as the sync).",
)
@database_option
@pass_app
def alerts_command(app: AppContext, dry_run: bool, as_json: bool, as_of: dt.date | None) -> None:
    """Evaluate the rules of templates/alerts.yaml, record alerts and send notifications.

    Each alert is said with the seller's or market's name, its figures in
    their unit and a link to a registered spreadsheet whose Alerts tab shows
    it. An alert that stays active is notified once; one that clears is marked
    resolved and notified once more. Notifications go to Slack
    (SHEETS_SYNC_SLACK_WEBHOOK_URL) and/or e-mail (SHEETS_SYNC_SMTP_*).

    \b
    Example:
        sheets-sync alerts --dry-run
        sheets-sync alerts --json
    """
    user = os_user()
    owner = f"cli by {user}" if user else "cli"
    registry = load_registry(app.settings, lambda: load_all_templates(app.settings))
    summary = evaluate_and_notify(
        app.engine, app.settings, dry_run=dry_run, as_of=as_of, owner=owner,
        viewers=viewers(registry.sheets),
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in summary.lines():
            click.echo(line)
