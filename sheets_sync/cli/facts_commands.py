"""``facts``: the daily fact table the KPI tabs roll up (docs/scaling.md).

Every sync refreshes the facts itself before computing tabs (only the changes
logged since the last run); these commands are for operators: ``refresh`` does
that step alone, ``rebuild`` recomputes the facts from every order (after a
restore, or to repair), ``check`` refreshes then compares the stored facts with
a full computation and exits 1 naming the differing rows; ``check --quick``
compares daily totals per measure over a recent window instead (seconds where
the full check takes minutes at 10 M orders), what the nightly alert
``facts_drift`` evaluates.
"""

from __future__ import annotations

import datetime as dt

import click

from sheets_sync import db, facts
from sheets_sync.cli.app import AppContext, CLIGroup, database_option, main, pass_app
from sheets_sync.cli.params import PastDay
from sheets_sync.facts import RefreshReport
from sheets_sync.facts.quick import QUICK_DAYS, quick_check, window
from sheets_sync.guards import as_of_day

REBUILD_FIX = (
    "Fix: run `sheets-sync facts rebuild`, and check that the kpi_facts_* triggers exist "
    "(`sheets-sync init-db` recreates them)"
)


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
@click.option(
    "--quick",
    is_flag=True,
    help="Compare daily totals per measure over the last --days days instead of every row.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=None,
    help=f"With --quick: how many days, ending on the as-of day, to compare ({QUICK_DAYS} "
    "if left out).",
)
@click.option(
    "--as-of",
    type=PastDay("as-of", "the data's last day"),
    default=None,
    help="With --quick: the window's last day, YYYY-MM-DD (default: the data's last day).",
)
@database_option
@pass_app
def check_command(app: AppContext, quick: bool, days: int | None, as_of: dt.date | None) -> None:
    """Refresh, then compare the facts with a full computation (exit 1 on a difference).

    \b
    --quick refreshes too, then compares totals instead: per day and measure,
    the facts against the orders (seconds where the full comparison takes
    minutes on a large database; the nightly alert facts_drift runs it).
    """
    if not quick and (days is not None or as_of is not None):
        raise click.UsageError("--days and --as-of only apply to `facts check --quick`")
    db.require_schema(app.engine)
    if quick:
        _quick(app, days or QUICK_DAYS, as_of)
        return
    reports = facts.check(app.engine)
    for report in reports:
        if report.equal:
            click.echo(f"{report.table}: identical to a full rebuild.")
            continue
        click.echo(f"{report.table}: {report.missing:,} row(s) missing, {report.extra:,} extra.")
        for sample in report.samples:
            click.echo(f"  {sample}")
    if not all(report.equal for report in reports):
        raise click.ClickException(f"the facts differ from the orders. {REBUILD_FIX}")


def _quick(app: AppContext, days: int, as_of: dt.date | None) -> None:
    """``check --quick``: every differing measure-day listed, exit 1 if any."""
    with app.engine.connect() as conn:
        first, last = window(as_of_day(conn, as_of), days)
    differences = quick_check(app.engine, first, last)
    span = f"{first.isoformat()} to {last.isoformat()}"
    if not differences:
        click.echo(f"Daily totals of every measure, {span}: the facts equal the orders.")
        return
    click.echo(f"Daily totals, {span}: {len(differences):,} measure-day(s) differ.")
    for difference in differences:
        click.echo(f"  {difference}")
    raise click.ClickException(f"the facts differ from the orders. {REBUILD_FIX}")
