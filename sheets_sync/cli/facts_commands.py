"""``facts``: the daily fact table the KPI tabs roll up (docs/scaling.md).

Every sync refreshes the facts itself before computing tabs (only the changes
logged since the last run); these commands are for operators: ``refresh`` does
that step alone, ``rebuild`` recomputes the facts from every order (after a
restore, or to repair), ``check`` refreshes then compares the stored facts with
a full computation and exits 1 naming the differing rows.
"""

from __future__ import annotations

import click

from sheets_sync import db, facts
from sheets_sync.cli.app import AppContext, CLIGroup, database_option, main, pass_app
from sheets_sync.facts import RefreshReport


@main.group("facts", cls=CLIGroup)
def facts_group() -> None:
    """Maintain the daily KPI facts (refresh, rebuild, check).

    \b
    Example:
        sheets-sync facts check
    """


def _describe(report: RefreshReport) -> str:
    what = {"none": "already up to date", "incremental": "refreshed incrementally",
            "full": "rebuilt in full"}[report.mode]  # fmt: skip
    return f"Facts {what} ({report.changes:,} logged change(s)) in {report.seconds:.2f} s."


@facts_group.command("refresh")
@database_option
@pass_app
def refresh_command(app: AppContext) -> None:
    """Apply the order changes logged since the last run (what a sync does first)."""
    db.require_schema(app.engine)
    click.echo(_describe(facts.refresh(app.engine)))


@facts_group.command("rebuild")
@database_option
@pass_app
def rebuild_command(app: AppContext) -> None:
    """Recompute the facts from every order, in one transaction."""
    db.require_schema(app.engine)
    click.echo(_describe(facts.rebuild(app.engine)))


@facts_group.command("check")
@database_option
@pass_app
def check_command(app: AppContext) -> None:
    """Refresh, then compare the facts with a full computation (exit 1 on a difference)."""
    db.require_schema(app.engine)
    reports = facts.check(app.engine)
    for report in reports:
        if report.equal:
            click.echo(f"{report.table}: identical to a full rebuild.")
            continue
        click.echo(f"{report.table}: {report.missing:,} row(s) missing, {report.extra:,} extra.")
        for sample in report.samples:
            click.echo(f"  {sample}")
    if not all(report.equal for report in reports):
        raise click.ClickException(
            "the facts differ from the orders. Fix: run `sheets-sync facts rebuild`, and check "
            "that the kpi_facts_* triggers exist (`sheets-sync init-db` recreates them)"
        )
