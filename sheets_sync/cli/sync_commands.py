"""Sync commands: ``sync`` (write tabs to a destination) and ``tabs`` (list templates)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from sheets_sync.backends.base import WrittenTab
from sheets_sync.cli.app import AppContext, database_option, main, pass_app
from sheets_sync.cli.params import DestinationType, PastDay, TabList, os_user
from sheets_sync.config import Settings
from sheets_sync.destinations import Destination, check_writable, open_destination
from sheets_sync.jobs.run import sync_now
from sheets_sync.registry import OutsideScope, RegisteredSheet, Scope, load_registry, scope_of
from sheets_sync.sync import Progress as ProgressCallback
from sheets_sync.sync import ProgressEvent, SyncResult, load_all_templates

DEFAULT_DESTINATION = "xlsx:tradein-ops.xlsx"


def _console() -> Console:
    """Plain, wide enough output when piped (logs, tests); rich output on a terminal."""
    terminal = sys.stdout.isatty()
    return Console(file=sys.stdout, highlight=False, width=None if terminal else 110)


@contextmanager
def sync_progress() -> Iterator[ProgressCallback | None]:
    """A rich progress bar over the tabs on a terminal; silent when piped or under tests."""
    if not sys.stdout.isatty():
        yield None
        return
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(),
    ) as bar:
        task = bar.add_task("Computing tabs", total=None)

        def report(event: ProgressEvent) -> None:
            if event.phase == "compute":
                bar.update(task, total=event.total, description=f"Computing {event.title}")
            elif event.phase == "computed":
                bar.update(task, completed=event.index)
            elif event.phase == "write":
                bar.update(task, description=f"Writing {event.title}"[:60])
            elif event.phase == "done":
                bar.update(task, description="Done")

        yield report


def run_and_report(
    engine: Engine,
    settings: Settings,
    destination: Destination,
    tabs: list[str] | None = None,
    as_of: dt.date | None = None,
    allow_shrink: bool = False,
    adopt: bool = False,
    filters: Mapping[str, tuple[str, ...]] | None = None,
) -> SyncResult:
    """Run a CLI sync with progress, then print the summary table (shared with ``demo``)."""
    check_writable(destination)
    backend = open_destination(destination, settings.sheets, engine)
    with sync_progress() as progress:
        result = sync_now(
            engine,
            settings,
            backend,
            tabs=tabs,
            trigger="cli",
            requested_by=os_user(),
            progress=progress,
            as_of=as_of,
            allow_shrink=allow_shrink,
            adopt=adopt,
            filters=filters,
        )
    print_summary(result)
    return result


def print_summary(result: SyncResult) -> None:
    table = Table(title=f"Synced to {result.destination} (data as of {result.as_of})")
    table.add_column("Tab")
    table.add_column("Rows", justify="right")
    table.add_column("Cells", justify="right")
    table.add_column("Seconds", justify="right")
    for tab in result.tabs:
        table.add_row(tab.title, _rows(tab), f"{tab.cells:,}", f"{tab.seconds:.2f}")
    table.add_section()
    table.add_row(
        "Total", f"{result.rows_written:,}", f"{result.cells_written:,}", f"{result.seconds:.2f}"
    )
    console = _console()
    console.print(table)
    for warning in result.warnings:
        console.print(f"Warning: {warning}")
    if result.quota_wait_seconds > 0:
        console.print(f"Waited {result.quota_wait_seconds:.1f} s for the shared Sheets quota.")
    console.print(f"Run {result.run_id} recorded in sync_runs.")


def _rows(tab: WrittenTab) -> str:
    """The rows the destination got; a pivot Google computes itself has none of ours."""
    if tab.rows is None:
        return "—"
    note = f" (cut from {tab.truncated_from:,})" if tab.truncated_from else ""
    return f"{tab.rows:,}{note}"


@main.command("sync")
@click.option(
    "--to",
    "destination",
    type=DestinationType(),
    default=DEFAULT_DESTINATION,
    show_default=True,
    metavar="KIND:TARGET",
    help="Where to write: xlsx:PATH or gsheets:SPREADSHEET_ID.",
)
@click.option(
    "--tabs", type=TabList(), default=None, help='Only these tabs, e.g. "KPI Daily,Pricing".'
)
@click.option(
    "--as-of",
    type=PastDay("as-of", "the data's last day"),
    default=None,
    help="Last day included, YYYY-MM-DD, at most yesterday (UTC); default: the data's last day.",
)
@click.option(
    "--allow-shrink",
    is_flag=True,
    help="Let a keyed tab lose more than the allowed share of its rows (default: stop).",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Take over sheets titled like a managed tab that this product did not create.",
)
@click.option(
    "--all",
    "sync_all",
    is_flag=True,
    help="Sync every spreadsheet of sheets-sync.yaml, each with its own tabs and countries.",
)
@database_option
@pass_app
@click.pass_context
def sync(
    ctx: click.Context,
    app: AppContext,
    destination: Destination,
    tabs: list[str] | None,
    as_of: dt.date | None,
    allow_shrink: bool,
    adopt: bool,
    sync_all: bool,
) -> None:
    """Compute the tabs in the database and write them to a workbook or a spreadsheet.

    Every run is recorded in sync_runs (see the Sync Status tab). A spreadsheet
    listed in sheets-sync.yaml ($SHEETS_SYNC_CONFIG_FILE) gets only its
    registered tabs and countries.

    \b
    Examples:
        sheets-sync sync --to xlsx:tradein-ops.xlsx
        sheets-sync sync --to xlsx:report.xlsx --tabs "KPI Daily,Pricing" --as-of 2025-06-30
        sheets-sync sync --all
    """
    if sync_all:
        if ctx.get_parameter_source("destination") != click.core.ParameterSource.DEFAULT or tabs:
            raise click.UsageError(
                "--all syncs every registered spreadsheet with its own tabs; "
                "leave out --to and --tabs, or sync one spreadsheet with --to gsheets:ID"
            )
        sync_registered(app, as_of, allow_shrink, adopt)
        return
    filters: dict[str, tuple[str, ...]] = {}
    if destination.kind == "gsheets":
        registered = load_registry(app.settings, lambda: load_all_templates(app.settings)).get(
            destination.target
        )
        if registered is not None:
            scope = _scope(registered, tabs)
            tabs, filters = list(scope.tabs) if scope.tabs else None, scope.filters
    run_and_report(app.engine, app.settings, destination, tabs, as_of, allow_shrink, adopt, filters)


def _scope(sheet: RegisteredSheet, tabs: list[str] | None) -> Scope:
    """The registry's scope of ``sheet``: ``--tabs`` may narrow its tabs, not widen them."""
    _console().print(f"Scope of {sheet.name!r} from the registry: {sheet.describe()}")
    try:
        return scope_of(sheet, tabs)
    except OutsideScope as outside:
        raise click.UsageError(
            f"{outside} not registered for {sheet.name!r} (its tabs: "
            f"{', '.join(outside.allowed)}); add it to sheets-sync.yaml or leave it out"
        ) from None


def sync_registered(
    app: AppContext, as_of: dt.date | None, allow_shrink: bool, adopt: bool
) -> None:
    """Sync each registered spreadsheet in turn; one failing does not stop the others."""
    registry = load_registry(app.settings, lambda: load_all_templates(app.settings))
    if not registry.sheets:
        raise click.ClickException(
            f"no spreadsheet is registered in {app.settings.files.config_file}; list them under "
            "`spreadsheets:` (id, name, optional tabs and countries), see the README"
        )
    console, failed = _console(), []
    for sheet in registry.sheets:
        console.print(f"Syncing {sheet.name!r} (gsheets:{sheet.id}): {sheet.describe()}")
        scope = scope_of(sheet)
        tabs = list(scope.tabs) if scope.tabs else None
        try:
            run_and_report(
                app.engine, app.settings, Destination("gsheets", sheet.id), tabs, as_of,
                allow_shrink, adopt, scope.filters,
            )  # fmt: skip
        except Exception as error:  # reported; the next spreadsheet still runs
            console.print(f"Failed: {sheet.name!r} (gsheets:{sheet.id}): {error}")
            failed.append(sheet.name)
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(registry.sheets)} spreadsheets failed: "
            f"{', '.join(map(repr, failed))} (see the messages above)"
        )


@main.command("tabs")
@pass_app
def tabs(app: AppContext) -> None:
    """List the tab templates: title, query, columns, key and pivots.

    \b
    Example:
        SHEETS_SYNC_TEMPLATES_DIR=./my-templates sheets-sync tabs
    """
    table = Table(title=f"Templates in {app.settings.files.templates_dir}")
    for name in ("Title", "Query", "Columns", "Key", "Pivots"):
        table.add_column(name)
    for template in load_all_templates(app.settings).values():
        query = template.query or (template.sql_path.name if template.sql_path else "")
        table.add_row(
            template.title,
            query,
            str(len(template.columns)),
            ", ".join(template.key) or "—",
            "\n".join(p.title for p in template.pivots) or "—",  # one a line: kept whole
        )
    _console().print(table)
