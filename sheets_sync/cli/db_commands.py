"""Database commands: ``init-db``, ``demo-data`` and ``demo``."""

from __future__ import annotations

import datetime as dt

import click

from sheets_sync import db
from sheets_sync.cli import AppContext, database_option, main, pass_app


@main.command("init-db")
@database_option
@pass_app
def init_db(app: AppContext) -> None:
    """Create the tables (idempotent: existing tables and data are kept).

    \b
    Example:
        sheets-sync init-db --database-url postgresql+psycopg://postgres@127.0.0.1:5432/tradein
    """
    db.init_db(app.engine)
    click.echo(f"Schema ready in {db.describe(app.engine)}.")
