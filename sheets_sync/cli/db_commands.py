"""Database commands: ``init-db``, ``demo-data`` and ``demo``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from sheets_sync import db, db_init
from sheets_sync.cli.app import AppContext, database_option, main, pass_app
from sheets_sync.cli.params import PastDay
from sheets_sync.demo import DemoSpec, DemoSummary, ProgressCallback, generate, yesterday_utc
from sheets_sync.demo.spec import DEFAULT_DAYS, DEFAULT_ORDERS, DEFAULT_SEED, MAX_ORDERS


@main.command("init-db")
@database_option
@pass_app
def init_db(app: AppContext) -> None:
    """Create the tables (idempotent: existing tables and data are kept).

    \b
    Example:
        sheets-sync init-db --database-url postgresql+psycopg://postgres@127.0.0.1:5432/tradein
    """
    db_init.init_db(app.engine)
    click.echo(f"Schema ready in {db.describe(app.engine)}.")


DEMO_DATABASE_URL = "sqlite:///tradein.db"
"""Where ``sheets-sync demo`` puts its database: ``tradein.db`` in the working directory."""


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback | None]:
    """A rich progress bar on a terminal; nothing when piped or under tests."""
    if not sys.stderr.isatty():
        yield None
        return
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield report


def _load_demo(app: AppContext, spec: DemoSpec, replace: bool) -> DemoSummary:
    with _progress_bar() as progress:
        summary = generate(app.engine, spec, replace=replace, progress=progress)
    counts = summary.counts
    click.echo(
        f"Loaded {counts['tradein_orders']:,} orders, {counts['sellers']} sellers, "
        f"{counts['products']} products, {counts['price_grid']:,} prices, "
        f"{counts['targets']} targets into {summary.database} in {summary.seconds:.1f} s "
        f"({spec.start_date} to {spec.end_date}, seed {spec.seed}); the daily facts and the "
        f"win model's counts are built ({summary.prepare_seconds:.1f} s of it)."
    )
    return summary


def _demo_spec(orders: int, seed: int, end_date: dt.date | None, days: int) -> DemoSpec:
    return DemoSpec(orders=orders, seed=seed, end_date=end_date or yesterday_utc(), days=days)


_orders_option = click.option(
    "--orders",
    type=click.IntRange(0, MAX_ORDERS),
    default=DEFAULT_ORDERS,
    show_default=True,
    help="How many trade-in orders to generate.",
)
_seed_option = click.option(
    "--seed",
    type=click.IntRange(0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed and end date give the same data.",
)
_end_date_option = click.option(
    "--end-date",
    type=PastDay("the end date", "yesterday (UTC)"),
    default=None,
    help="Last day of data, YYYY-MM-DD (default: yesterday, UTC).",
)
_days_option = click.option(
    "--days",
    type=click.IntRange(7, 3660),
    default=DEFAULT_DAYS,
    show_default=True,
    help="How many days of orders, ending on the end date.",
)


@main.command("demo-data")
@_orders_option
@_seed_option
@_end_date_option
@_days_option
@click.option(
    "--replace", is_flag=True, help="Delete the existing data (all data tables) and reload."
)
@database_option
@pass_app
def demo_data(
    app: AppContext,
    orders: int,
    seed: int,
    end_date: dt.date | None,
    days: int,
    replace: bool,
) -> None:
    """Fill the database with realistic, deterministic demo data.

    Sellers, products, price grid, orders (the whole funnel, recent ones
    still in flight), onboarding and monthly targets. Creates the tables if
    needed; refuses to touch a database that already holds data unless
    --replace is given.

    \b
    Example:
        sheets-sync demo-data --orders 100000 --seed 7 --end-date 2025-06-30 --days 90
    """
    _load_demo(app, _demo_spec(orders, seed, end_date, days), replace)


@main.command("demo")
@_orders_option
@_seed_option
@pass_app
def demo(app: AppContext, orders: int, seed: int) -> None:
    """Build the demo in the current directory: tradein.db and tradein-ops.xlsx.

    Regenerates tradein.db (its data tables are replaced) so the demo can be
    run again; the data ends yesterday (UTC). Evaluates the default alert
    rules (nothing is sent: the demo configures no channel), then writes every
    tab into the workbook tradein-ops.xlsx (team columns of an existing one are
    kept).

    \b
    Example:
        mkdir tradein-demo && cd tradein-demo && sheets-sync demo
    """
    from sheets_sync.cli.sync_commands import DEFAULT_DESTINATION, run_and_report
    from sheets_sync.destinations import parse_destination

    app.close()
    app.settings = app.settings.replace(database_url=DEMO_DATABASE_URL)
    spec = _demo_spec(orders, seed, None, DEFAULT_DAYS)
    _load_demo(app, spec, replace=True)
    _evaluate_demo_alerts(app)
    run_and_report(app.engine, app.settings, parse_destination(DEFAULT_DESTINATION))


def _evaluate_demo_alerts(app: AppContext) -> None:
    """Fill the demo's Alerts tab with what the default rules find, sending nothing."""
    from sheets_sync.alerts.run import evaluate_and_notify

    quiet = app.settings.replace(slack_webhook_url=None, smtp_host=None)
    summary = evaluate_and_notify(app.engine, quiet)
    click.echo(f"Alerts: {len(summary.raised) + len(summary.ongoing)} active (see the Alerts tab)")
