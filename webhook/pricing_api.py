"""``POST /hooks/pricing``: push the Pricing tab's edits of a registered spreadsheet.

The add-on's "Preview pricing changes" (``dry_run: true``) and "Push pricing
changes" call it; it runs the library's one entry point,
:func:`sheets_sync.pricing.push_pricing`, in the request (a push is short and
the user waits for its summary), with ``changed_by`` the verified caller and
the request id — the service's own (:mod:`webhook.request_ids`) — stored on
every ``price_changes`` row; on App Engine the platform's trace id is stored
beside it (``trace_id``), in the push's own transaction.

A push runs in the request, in a gunicorn worker that lives on: it reads the
whole Pricing tab (35–60 MB at 1,000,000 orders), and glibc would keep those
pages for the worker after the push freed them, so the worker hands them back
to the system after every push (:func:`sheets_sync.jobs.memory.give_back_freed`;
bench/soak.py saw each worker grow ~50 MB and stay there without it). It does
not reserve from the instance's memory budget: a preview would then wait
behind a sync that holds its reservation while it waits for its sheet's lock.

Only a pricer of the sheet (its ``pricers`` in ``sheets-sync.yaml``) may push
or preview, by a verified ID token: a member who is not one, a sheet without
``pricers`` and an HMAC caller are 403s (:mod:`webhook.access`), before any
Sheets call. A market team's sheet (``countries``) may push prices only for
its markets: the push gets them, and a row of another market is that row's
``✖ rejected:`` (as in the CLI), never a 403 of the whole push — 403 is
about callers, not rows.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from flask.typing import ResponseReturnValue

from sheets_sync.jobs.memory import give_back_freed
from sheets_sync.pricing import PushSummary, push_pricing
from sheets_sync.registry import Scope
from webhook import access, runtime
from webhook.auth import requires_auth
from webhook.body import Field, json_body
from webhook.jobs_api import GSHEETS, TRIGGERS, caller_name, caller_scope, registered
from webhook.request_ids import current_request_id, trace_id

bp = Blueprint("pricing", __name__)

PRICING_BODY = {"spreadsheet_id": Field("string", required=True), "dry_run": Field("boolean")}


@bp.post("/hooks/pricing")
@requires_auth()
def pricing() -> ResponseReturnValue:
    """The push summary: applied, rejected, conflicts and unchanged rows, with reasons."""
    body = json_body(PRICING_BODY)
    scope = caller_scope(registered(body["spreadsheet_id"].strip()))
    access.require_pricer(scope)  # a preview too: it reads the sheet's edits and prices
    dry_run = bool(body.get("dry_run", False))
    try:
        summary = push(scope, dry_run=dry_run)
    finally:
        give_back_freed()  # the worker lives on: the tab it read goes back to the system
    return jsonify(summary.to_dict())


def push(scope: Scope, *, dry_run: bool) -> PushSummary:
    return push_pricing(
        runtime.engine(),
        runtime.settings(),
        GSHEETS + scope.sheet.id,
        caller_name(),
        request_id=current_request_id(),
        dry_run=dry_run,
        trigger=TRIGGERS[g.caller.kind],
        countries=scope.countries,
        trace_id=trace_id(),
    )
