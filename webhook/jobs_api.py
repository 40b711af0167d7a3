"""Refresh, run status and the nightly cron (docs/design.md §8).

A refresh is queued-or-joined (:mod:`sheets_sync.jobs.queue`) and answered at once
with 202 and the run's status URL; the sync runs on this process's executor
and outlives the request. Only registered spreadsheets (``sheets-sync.yaml``)
are served: anything else is 404. A refresh needs a member of the sheet, and a
run's status is shown only to one (else 404, as an unknown run);
:mod:`webhook.access` decides. The nightly run is the scheduler's alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from flask import Blueprint, g, jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync.alerts.speech import Viewer, viewers
from sheets_sync.config import Settings
from sheets_sync.jobs.executor import request_sync
from sheets_sync.jobs.queue import Ticket
from sheets_sync.jobs.run import Job
from sheets_sync.registry import OutsideScope, RegisteredSheet, Scope, scope_of
from sheets_sync.schema import sync_runs
from webhook import access, runtime
from webhook.auth import requires_auth
from webhook.body import Field, json_body
from webhook.errors import BadRequest
from webhook.request_ids import current_request_id

log = logging.getLogger(__name__)
bp = Blueprint("jobs", __name__)

REFRESH_BODY = {"spreadsheet_id": Field("string", required=True), "tabs": Field("string list")}
TRIGGERS = {"oidc": "menu", "hmac": "api", "local": "api", "cron": "cron", "task": "api"}
"""``sync_runs.trigger`` by caller kind: an ID token is the add-on's menu; HMAC is a tool."""
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GSHEETS = "gsheets:"


def caller_name() -> str:
    """``requested_by``: the verified email, else the kind of caller (cron, hmac, local)."""
    caller = g.caller
    return str(caller.email or caller.kind)


def registered(spreadsheet_id: str) -> RegisteredSheet:
    sheet = runtime.registry().get(spreadsheet_id)
    if sheet is None:
        raise NotRegistered(spreadsheet_id)
    return sheet


class NotRegistered(Exception):
    """A spreadsheet absent from ``sheets-sync.yaml``: 404, as if it did not exist."""


@bp.app_errorhandler(NotRegistered)
def _not_registered(error: NotRegistered) -> ResponseReturnValue:
    return jsonify(error=f"spreadsheet {error} is not registered with this service"), 404


def caller_scope(
    sheet: RegisteredSheet, asked: list[str] | None = None, titles: tuple[str, ...] | None = None
) -> Scope:
    """What the caller gets on ``sheet`` (the registry's answer): the asked tabs, each a
    tab of the sheet's scope or of ``titles`` (else a 400 naming the first that is not),
    or its scope."""
    try:
        return scope_of(sheet, asked, g.caller.email, titles)
    except OutsideScope as outside:
        index, title = outside.outside[0]
        raise BadRequest(
            f"tabs[{index}]",
            f"{title!r} is not a tab of this spreadsheet; use some of {list(outside.allowed)}",
        ) from None


def start(scope: Scope, trigger: str, who: str) -> Ticket:
    job = Job(
        "", GSHEETS + scope.sheet.id, scope.tabs or (), trigger, who, scope.filters,
        current_request_id(),
    )  # fmt: skip
    return request_sync(runtime.engine(), runtime.settings(), runtime.executor(), job)


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    url = url_for("jobs.run_status", run_id=ticket.run_id, _external=True)
    return {"run_id": ticket.run_id, "status_url": url, "joined": ticket.joined}


@bp.post("/hooks/refresh")
@requires_auth()
def refresh() -> ResponseReturnValue:
    """Queue a sync of one registered spreadsheet, or join the one on its way."""
    body = json_body(REFRESH_BODY)
    sheet = registered(body["spreadsheet_id"].strip())
    access.require_member(sheet, "refresh")  # before the tabs: a 400 would list them
    scope = caller_scope(sheet, body.get("tabs"), sheet.tabs or runtime.template_titles())
    ticket = start(scope, TRIGGERS[g.caller.kind], caller_name())
    return jsonify(ticket_json(ticket)), 202


@bp.get("/runs/<run_id>")
@requires_auth()
def run_status(run_id: str) -> ResponseReturnValue:
    """A run's status and figures, for runs of registered spreadsheets the caller may read
    (another sheet's run is a 404, as an unknown run: nothing says it exists)."""
    run = None
    if _RUN_ID.match(run_id):
        query = select(sync_runs).where(sync_runs.c.run_id == run_id)
        run = runtime.get_db().execute(query).mappings().first()
    spreadsheet = str(run["spreadsheet"]) if run else ""
    sheet_id = spreadsheet.removeprefix(GSHEETS)
    sheet = runtime.registry().get(sheet_id) if spreadsheet.startswith(GSHEETS) else None
    if run is None or sheet is None or not access.may_read(sheet):
        return jsonify(error=f"no run {run_id} of a registered spreadsheet"), 404
    return jsonify(run_json(run, sheet_id))


def run_json(run: Any, sheet_id: str) -> dict[str, Any]:
    figures = ("duration_seconds", "api_calls", "cells_written", "bytes_sent", "rows_written",
               "quota_wait_seconds")  # fmt: skip
    return {
        "run_id": run["run_id"],
        "kind": run["kind"],
        "spreadsheet_id": sheet_id,
        "status": run["status"],
        "trigger": run["trigger"],
        "requested_by": run["requested_by"],
        "tabs": run["tabs"].split(", ") if run["tabs"] else None,
        **{name: timestamp(run[name]) for name in ("queued_at", "started_at", "finished_at")},
        **{name: run[name] for name in figures},
        "error": run["error"],
        "warnings": run["warnings"].split("\n") if run["warnings"] else [],
    }


def timestamp(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


@bp.get("/cron/nightly")
@requires_auth("cron", "oidc", "hmac", "local")
def nightly() -> ResponseReturnValue:
    """Queue (or join) a sync of every registered spreadsheet, then evaluate the alerts.

    Only the scheduler starts it (App Engine cron, an account of ``SHEETS_SYNC_CRON_CALLERS``;
    ``local`` in development): a person's token or an HMAC signature is a 403.
    """
    access.require_scheduler()
    started = []
    for sheet in runtime.registry().sheets:
        ticket = start(scope_of(sheet), "cron", "cron")
        started.append({"spreadsheet_id": sheet.id, "name": sheet.name, **ticket_json(ticket)})
    engine, settings = runtime.engine(), runtime.settings()
    sheets = viewers(runtime.registry().sheets)  # where each alert's message links to
    run_ids = [run["run_id"] for run in started]
    runtime.executor().after(run_ids, "nightly alerts", lambda: _alerts(engine, settings, sheets))
    return jsonify(runs=started), 202


def _alerts(engine: Engine, settings: Settings, sheets: list[Viewer]) -> None:
    """docs/design.md §9: the rules are evaluated once the nightly syncs have ended.

    Two nightly calls joining the same runs each evaluate; the evaluation lock
    makes the second wait for the first and find nothing new to announce.
    """
    from sheets_sync.alerts.run import evaluate_and_notify

    summary = evaluate_and_notify(engine, settings, owner="nightly alerts (cron)", viewers=sheets)
    log.info("nightly alerts: %s", summary.lines()[0])
