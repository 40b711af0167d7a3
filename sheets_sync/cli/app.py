"""The ``sheets-sync`` group and what every command shares: a thin click layer over the library.

Library errors become one clear line and a non-zero exit here, in one place
(:class:`CLIGroup`), so command functions stay free of try/except. Each
command family lives in its own module and registers itself on ``main``;
command modules import this module, never the package, whose ``__init__``
imports them all (so the package and its commands make no import circle).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine

from sheets_sync import __version__
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import SheetsSyncError

F = TypeVar("F", bound=Callable[..., Any])


class CLIGroup(click.Group):
    """Turns library errors into ``click.ClickException`` (one line, exit 1).

    The only such conversion: it also covers the group callback (loading the
    settings), so commands and helpers just let ``SheetsSyncError`` propagate.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SheetsSyncError as error:
            raise click.ClickException(str(error)) from error


class AppContext:
    """What every command needs: the settings (loaded once) and a lazy engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(
                self.settings.database.database_url, echo=self.settings.database.sql_echo
            )
        return self._engine

    def use_database(self, url: str) -> None:
        """Point at another database (the ``--database-url`` option)."""
        self.close()
        self.settings = self.settings.replace(database_url=url)
        self.settings.validate()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_app = click.make_pass_decorator(AppContext)


def database_option(func: F) -> F:
    """``--database-url`` on any command, overriding SHEETS_SYNC_DATABASE_URL."""

    @click.option(
        "--database-url",
        "database_url",
        default=None,
        help="Database URL (default: $SHEETS_SYNC_DATABASE_URL or sqlite:///tradein.db).",
    )
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, database_url: str | None, **kwargs: Any) -> Any:
        if database_url:
            ctx.find_object(AppContext).use_database(database_url)  # type: ignore[union-attr]
        return ctx.invoke(func, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(cls=CLIGroup)
@click.version_option(__version__, prog_name="sheets-sync")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep the Trade-In team's Google Sheets live and safe.

    \b
    Quick start (no Google account needed):
        sheets-sync demo
    """
    if ctx.invoked_subcommand == "doctor":
        return  # the doctor loads the settings itself: a bad one is a check among the others
    app = AppContext(Settings.load())
    ctx.obj = app
    ctx.call_on_close(app.close)
