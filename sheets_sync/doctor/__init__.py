"""``sheets-sync doctor``: every check a deployment must pass, one result each.

In order: the settings, the database (reachable, schema, facts), the
templates and the registry, the Google credentials, each spreadsheet named
(reachable, shared as editor, a scratch write), Slack and SMTP, the webhook's
auth settings. A check that needs one which did not pass is *skipped*,
naming it; no check hides the ones after it, so one run shows everything
to fix. The CLI prints the results as they come (:func:`run` is a generator).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator, Mapping

from sheets_sync.doctor import channels, google, local
from sheets_sync.doctor.result import (
    FAILED,
    SKIPPED,
    Options,
    Result,
    State,
    failed,
    skipped,
)

__all__ = ["Options", "Result", "run"]

_STEPS: tuple[tuple[str, Callable[[State], Result], tuple[str, ...]], ...] = (
    ("settings", local.check_settings, ()),
    ("database", local.check_database, ("settings",)),
    ("schema", local.check_schema, ("database",)),
    ("facts", local.check_facts, ("schema",)),
    ("templates", local.check_templates, ("settings",)),
    ("registry", local.check_registry, ("templates",)),
    ("Google credentials", google.check_credentials, ("settings",)),
)
_LAST_STEPS: tuple[tuple[str, Callable[[State], Result], tuple[str, ...]], ...] = (
    ("Slack", channels.check_slack, ("settings",)),
    ("SMTP", channels.check_smtp, ("settings",)),
    ("webhook auth", channels.check_webhook_auth, ("settings",)),
)


def run(options: Options, environ: Mapping[str, str] | None = None) -> Iterator[Result]:
    """Each check's result, in order (``environ`` defaults to the process environment)."""
    state = State(options, dict(os.environ if environ is None else environ))
    hidden = _secrets(state.environ)
    try:
        for result in _results(state):
            yield _redacted(result, hidden)
    finally:
        state.close()


def _results(state: State) -> Iterator[Result]:
    for name, check, needs in _STEPS:
        yield _step(state, name, check, needs)
    yield from _spreadsheets(state)
    for name, check, needs in _LAST_STEPS:
        yield _step(state, name, check, needs)


SECRET_VARIABLES = ("SHEETS_SYNC_HMAC_SECRET", "SHEETS_SYNC_SLACK_WEBHOOK_URL",
                    "SHEETS_SYNC_SMTP_PASSWORD")  # fmt: skip
_URL_PASSWORD = re.compile(r"://[^:/@]*:([^@]+)@")


def _secrets(environ: Mapping[str, str]) -> list[str]:
    """The secret values a message could quote (a library error may echo a setting)."""
    found = [environ[name] for name in SECRET_VARIABLES if environ.get(name)]
    password = _URL_PASSWORD.search(environ.get("SHEETS_SYNC_DATABASE_URL", ""))
    return found + ([password.group(1)] if password else [])


def _redacted(result: Result, hidden: list[str]) -> Result:
    """The last guard: no secret value reaches the output, whatever a check let through."""
    detail, fix = result.detail, result.fix
    for secret in hidden:
        detail = detail.replace(secret, "***")
        fix = fix.replace(secret, "***") if fix else fix
    return dataclasses.replace(result, detail=detail, fix=fix)


def _step(
    state: State, name: str, check: Callable[[State], Result], needs: tuple[str, ...]
) -> Result:
    result = _blocked(state, name, needs) or _guarded(state, name, check)
    state.outcomes[name] = result.status
    return result


def _blocked(state: State, name: str, needs: tuple[str, ...]) -> Result | None:
    for need in needs:
        status = state.outcomes.get(need)
        if status in (FAILED, SKIPPED):
            said = "failed" if status == FAILED else "was skipped"
            return skipped(name, f"needs the {need} check, which {said}")
    return None


def _guarded(state: State, name: str, check: Callable[[State], Result]) -> Result:
    """A check that breaks unexpectedly is its own failure, never the end of the report."""
    try:
        return check(state)
    except Exception as error:  # every other check must still run
        return failed(name, f"unexpected {type(error).__name__}: {google.brief(error)}",
                      "report this with the line above; the other checks still ran")  # fmt: skip


def _spreadsheets(state: State) -> Iterator[Result]:
    blocked = _blocked(state, "spreadsheets", ("Google credentials",))
    if blocked is None and state.options.all_registered:
        blocked = _blocked(state, "spreadsheets", ("registry",))
    if blocked is not None:
        yield blocked
        return
    try:
        yield from google.check_spreadsheets(state)
    except Exception as error:  # the channel and auth checks must still run
        yield failed("spreadsheets", f"unexpected {type(error).__name__}: {google.brief(error)}",
                     "report this with the line above; the other checks still ran")  # fmt: skip
