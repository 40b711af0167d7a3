"""Option types that parse and range-check a value once, as click reads it.

A bad value is a usage error naming the option (exit 2) before any database
or destination is touched, and the command receives the parsed value (a
:class:`Destination`, a date, a list of titles) instead of parsing it again.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

import click

from sheets_sync.destinations import Destination, parse_destination
from sheets_sync.errors import DestinationError

EARLIEST_AS_OF = dt.date(2000, 1, 1)
"""No trade-in data predates this; earlier days only overflow window arithmetic."""


class DestinationType(click.ParamType):
    """``xlsx:PATH`` or ``gsheets:SPREADSHEET_ID``, parsed into a :class:`Destination`."""

    name = "destination"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Destination):
            return value
        try:
            return parse_destination(str(value))
        except DestinationError as error:
            self.fail(str(error), param, ctx)


class PastDay(click.ParamType):
    """A ``YYYY-MM-DD`` day from :data:`EARLIEST_AS_OF` to today (UTC), never in the future.

    ``what`` names the day in messages ("as-of"); ``default`` says what leaving
    the option out gives.
    """

    name = "date"

    def __init__(self, what: str, default: str) -> None:
        self.what = what
        self.default = default

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            day = value
        else:
            try:
                day = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a day; write it as YYYY-MM-DD", param, ctx)
        return self._in_range(day, param, ctx)

    def _in_range(
        self, day: dt.date, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        today = dt.datetime.now(dt.UTC).date()
        if day > today:
            self.fail(
                f"{self.what} is in the future: {day} is after today ({today}, UTC); give a "
                f"day up to today, or leave the option out for {self.default}",
                param,
                ctx,
            )
        if day < EARLIEST_AS_OF:
            self.fail(
                f"{day} is before {EARLIEST_AS_OF}, earlier than any trade-in data; give a "
                f"day from {EARLIEST_AS_OF} to today ({today}, UTC)",
                param,
                ctx,
            )
        return day


class TabList(click.ParamType):
    """Comma-separated tab titles; naming none is a mistake, not "every tab"."""

    name = "titles"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        titles = [t.strip() for t in str(value).split(",") if t.strip()]
        if not titles:
            self.fail(
                f"{value!r} names no tab; give titles separated by commas, e.g. "
                '"KPI Daily,Pricing", or leave the option out to sync every tab',
                param,
                ctx,
            )
        return titles


def os_user() -> str | None:
    """Who runs the command, by the operating system's account (None when it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
