"""Who may do what on which spreadsheet: the registry's ``members`` and ``pricers`` (docs/design.md §8).

:mod:`webhook.auth` says who the caller is; this module says what that caller
may do with a registered spreadsheet, by kind of caller:

- **a person** (``oidc``, a verified Google ID token): a member of the sheet
  (:meth:`~sheets_sync.registry.RegisteredSheet.admits`: the entry has no
  ``members``, or lists them, or lists them as a pricer) reads its runs and
  alerts and refreshes it; a pricer
  (:meth:`~sheets_sync.registry.RegisteredSheet.prices`) also pushes its prices.
  An entry without ``pricers`` accepts no push.
- **a trusted system** (``hmac``): reads and refreshes every registered sheet;
  never pushes prices, which needs a person's verified identity.
- **the scheduler** (``cron``: App Engine cron, or an ID token of
  ``SHEETS_SYNC_CRON_CALLERS``) is the only caller of ``GET /cron/nightly``,
  with ``local``; HMAC and people are refused there.
- **local** (``SHEETS_SYNC_AUTH=disabled``, loopback only): no identity to
  check, so every rule lets it through.

A refusal is a 403 whose ``error`` says why and what to ask for, and whose
``reason`` (``not_a_member``, ``not_a_pricer``, ``no_pricers``,
``hmac_cannot_price``, ``scheduler_only``) lets the add-on tell them apart. A
run of a sheet the caller may not read is a 404, as an unknown run is, so its
existence does not leak. Each refusal is logged with who, what and which sheet.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue

from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.registry import RegisteredSheet, Registry, Scope
from sheets_sync.registry.fields import matches
from webhook.auth import Caller
from webhook.runtime import REGISTRY_KEY

log = logging.getLogger(__name__)

TRUSTED_READERS = ("hmac", "local")
"""Caller kinds that read and refresh every registered spreadsheet."""
ADMIN = "the service's administrator"


class Forbidden(Exception):
    """An authenticated caller not allowed this action: 403 with ``message`` and ``reason``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _caller() -> Caller:
    caller: Caller = g.caller
    return caller


def may_read(sheet: RegisteredSheet) -> bool:
    """Whether the caller may read ``sheet``'s runs and alerts, and refresh it."""
    caller = _caller()
    if caller.kind in TRUSTED_READERS:
        return True
    return caller.kind == "oidc" and caller.email is not None and sheet.admits(caller.email)


def require_member(sheet: RegisteredSheet, action: str) -> None:
    """403 unless the caller is a member of ``sheet`` (or a trusted system)."""
    if may_read(sheet):
        return
    caller = _caller()
    who = caller.email or caller.kind
    _refuse(
        sheet,
        action,
        "not_a_member",
        f"{who} is not a member of this spreadsheet; ask {ADMIN} to add you to its "
        "`members` in sheets-sync.yaml",
    )


def require_pricer(scope: Scope) -> None:
    """403 unless the caller may push the sheet's prices (a pricer, or local): the
    registry says whether a person may (:attr:`Scope.may_price`); this, why not."""
    caller, sheet = _caller(), scope.sheet
    if caller.kind == "local":
        return
    if caller.kind == "hmac":
        _refuse(
            sheet,
            "push prices",
            "hmac_cannot_price",
            "a signed (HMAC) caller may not push prices: a push needs a person's verified "
            "Google identity (an ID token), which is audited as the price's author",
        )
    require_member(sheet, "push prices")
    if not sheet.pricers:
        _refuse(
            sheet,
            "push prices",
            "no_pricers",
            "this spreadsheet accepts no price push: it lists no `pricers` in sheets-sync.yaml "
            f"(ask {ADMIN} to list who may push its prices)",
        )
    if caller.email is None or not scope.may_price:
        _refuse(
            sheet,
            "push prices",
            "not_a_pricer",
            f"{caller.email} may refresh this spreadsheet but not push its prices; ask {ADMIN} "
            "to add you to its `pricers` in sheets-sync.yaml",
        )


def require_scheduler() -> None:
    """403 unless the caller is the scheduler (or local): the nightly run is its alone."""
    caller = _caller()
    if caller.kind in ("cron", "local"):
        return
    who = caller.email or caller.kind
    log.warning("access refused (scheduler_only): %s may not start the nightly run", who)
    raise Forbidden(
        "scheduler_only",
        "the nightly run is started only by the scheduler: App Engine cron, or an account "
        f"listed in {ENV_PREFIX}CRON_CALLERS",
    )


def _refuse(sheet: RegisteredSheet, action: str, reason: str, message: str) -> None:
    caller = _caller()
    who = caller.email or caller.kind
    log.warning("access refused (%s): %s may not %s %s (%r)", reason, who, action, sheet.id,
                sheet.name)  # fmt: skip
    raise Forbidden(reason, message)


def _forbidden(error: Forbidden) -> ResponseReturnValue:
    return jsonify(error=error.message, reason=error.reason), 403


# --- start-up ----------------------------------------------------------------------------------


def warn_about(registry: Registry, settings: Settings) -> None:
    """One warning per open entry (no ``members``), and per entry naming people the global
    allowlists refuse (they get 403 before their membership counts)."""
    if settings.webhook.auth == "disabled":
        return  # no identity is checked at all; auth.init_app says so loudly
    for sheet in registry.sheets:
        if sheet.is_open:
            log.warning(
                "spreadsheet %r (%s) lists no `members` in sheets-sync.yaml: every caller "
                "%sALLOWED_EMAILS / %sALLOWED_DOMAINS admit may read its runs and alerts and "
                "refresh it",
                sheet.name,
                sheet.id,
                ENV_PREFIX,
                ENV_PREFIX,
            )
        outside = [
            p for p in (*(sheet.members or ()), *sheet.pricers) if not _admitted(p, settings)
        ]
        if outside:
            log.warning(
                "spreadsheet %r (%s) lists %s, whom %sALLOWED_EMAILS / %sALLOWED_DOMAINS do not "
                "(all) admit: they are refused (403) before their membership counts",
                sheet.name,
                sheet.id,
                ", ".join(dict.fromkeys(outside)),
                ENV_PREFIX,
                ENV_PREFIX,
            )


def _admitted(pattern: str, settings: Settings) -> bool:
    """Whether the global allowlists admit everyone ``pattern`` names."""
    domains = tuple(f"*@{d.lower()}" for d in settings.webhook.allowed_domains)
    if pattern.startswith("*@"):
        return pattern in domains
    return matches(pattern, domains + tuple(e.lower() for e in settings.webhook.allowed_emails))


def init_app(app: Flask) -> None:
    """Answer :class:`Forbidden` as 403; warn about the registry's open entries (after
    :func:`webhook.runtime.init_app` has loaded it)."""
    app.register_error_handler(Forbidden, _forbidden)
    warn_about(app.extensions[REGISTRY_KEY], app.config["SETTINGS"])
