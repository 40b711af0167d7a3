"""``push-pricing``: the team's `New price` edits go live (docs/design.md §7).

Exit 0 when the push ran, whatever rows were rejected or conflicted (each
row's outcome is in its `Status` cell and in the summary); 1 with one line
when it could not run or could not write its results back (library errors
are turned into that line by :class:`sheets_sync.cli.app.CLIGroup`).

``--user`` defaults to the local identity ``$USER@hostname``: a push from a
terminal is made by whoever is logged in there, recorded as such in
``price_grid.updated_by``, ``price_changes.changed_by`` and ``sync_runs``;
give your e-mail address to match what the add-on records for you.
"""

from __future__ import annotations

import json
import socket

import click

from sheets_sync.cli.app import AppContext, database_option, main, pass_app
from sheets_sync.cli.params import DestinationType, os_user
from sheets_sync.destinations import Destination
from sheets_sync.pricing.model import Kind, describe_key
from sheets_sync.pricing.push import PushSummary, not_written_note, push_pricing
from sheets_sync.registry import load_registry, scope_of
from sheets_sync.sync import load_all_templates

MAX_USER_CHARS = 200


def local_identity() -> str:
    """``$USER@hostname``, the default ``--user``."""
    return f"{os_user() or 'unknown'}@{socket.gethostname() or 'localhost'}"


class UserType(click.ParamType):
    """Who the push is made for: any non-blank identity, usually an e-mail address."""

    name = "email"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        if not text or len(text) > MAX_USER_CHARS or "\n" in text:
            self.fail(
                f"{value!r} is not a user; give your e-mail address, e.g. --user ana@example.com",
                param,
                ctx,
            )
        return text


@main.command("push-pricing")
@click.option(
    "--from",
    "source",
    type=DestinationType(),
    required=True,
    metavar="KIND:TARGET",
    help="The sheet holding the edited Pricing tab: xlsx:PATH or gsheets:SPREADSHEET_ID.",
)
@click.option("--dry-run", is_flag=True, help="Report what the push would do; change nothing.")
@click.option(
    "--user",
    type=UserType(),
    default=None,
    help="Who makes the push, recorded on every change (default: $USER@hostname).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@database_option
@pass_app
def push_pricing_command(
    app: AppContext, source: Destination, dry_run: bool, user: str | None, as_json: bool
) -> None:
    """Push the New price edits of the Pricing tab to the database, and each row's outcome
    back to its Status cell.

    Valid edits are applied together in one transaction; rejected rows and
    conflicts keep what was typed and say why. Pushing again never applies an
    edit twice.

    \b
    Example:
        sheets-sync push-pricing --from gsheets:1AbC... --user ana@example.com
        sheets-sync push-pricing --from xlsx:tradein-ops.xlsx --dry-run
    """
    summary = push_pricing(
        app.engine, app.settings, str(source), user or local_identity(), dry_run=dry_run,
        countries=markets_of(app, source),
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_summary(summary)


def markets_of(app: AppContext, source: Destination) -> tuple[str, ...] | None:
    """A registered spreadsheet's markets: the CLI prices only them, as the webhook does."""
    if source.kind != "gsheets":
        return None
    registered = load_registry(app.settings, lambda: load_all_templates(app.settings)).get(
        source.target
    )
    return scope_of(registered).countries if registered is not None else None


def print_summary(summary: PushSummary) -> None:
    """One line of counts, a preview's expected effect, then one line per row that did not
    go through."""
    if summary.dry_run:
        head = f"Preview of {summary.destination} (nothing changed): would apply {summary.applied}"
    else:
        head = f"Pushed {summary.destination} as {summary.user}: {summary.applied} applied"
    click.echo(
        f"{head}, {summary.rejected} rejected, {summary.conflicts} conflicts, "
        f"{summary.unchanged} unchanged."
    )
    effect = summary.effect
    if effect is not None and (effect.edits or effect.missing):
        click.echo(effect.describe())
    for outcome in summary.outcomes:
        where = f"row {outcome.row_now or outcome.row.row} ({describe_key(outcome.key)})"
        note = not_written_note(outcome)
        if note is not None:
            click.echo(f"  {where}: {note}")
        elif outcome.kind in (Kind.REJECTED, Kind.CONFLICT):
            click.echo(f"  {where}: {outcome.status()}")
