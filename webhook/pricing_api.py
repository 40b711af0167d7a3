"""``POST /hooks/pricing``: push the Pricing tab's edits of a registered spreadsheet.

The add-on's "Preview pricing changes" (``dry_run: true``) and "Push pricing
changes" call it; it runs the library's one entry point,
:func:`sheets_sync.pricing.push_pricing`, in the request (a push is short and
the user waits for its summary), with ``changed_by`` the verified caller and
the request id stored on every ``price_changes`` row.

A market team's sheet (``countries`` in ``sheets-sync.yaml``) may push prices
only for its markets. The pricing library has no market filter, so the
webhook previews the push first and refuses (403) one touching another
market, naming the rows. The preview and the push read the sheet twice: a
row typed in the seconds between the two is not re-checked — a known limit
until :func:`push_pricing` takes the markets itself.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from flask.typing import ResponseReturnValue

from sheets_sync.pricing import PushSummary, push_pricing
from sheets_sync.registry import RegisteredSheet
from webhook import runtime
from webhook.auth import requires_auth
from webhook.body import Field, json_body
from webhook.jobs_api import GSHEETS, TRIGGERS, caller_name, registered
from webhook.request_ids import current_request_id

bp = Blueprint("pricing", __name__)

PRICING_BODY = {"spreadsheet_id": Field("string", required=True), "dry_run": Field("boolean")}


@bp.post("/hooks/pricing")
@requires_auth()
def pricing() -> ResponseReturnValue:
    """The push summary: applied, rejected, conflicts and unchanged rows, with reasons."""
    body = json_body(PRICING_BODY)
    sheet = registered(body["spreadsheet_id"].strip())
    dry_run = bool(body.get("dry_run", False))
    if sheet.countries:
        preview = push(sheet, dry_run=True)
        outside = outside_markets(sheet, preview)
        if outside:
            return jsonify(error=outside), 403
        if dry_run:
            return jsonify(preview.to_dict())
    return jsonify(push(sheet, dry_run=dry_run).to_dict())


def push(sheet: RegisteredSheet, *, dry_run: bool) -> PushSummary:
    return push_pricing(
        runtime.engine(),
        runtime.settings(),
        GSHEETS + sheet.id,
        caller_name(),
        request_id=current_request_id(),
        dry_run=dry_run,
        trigger=TRIGGERS[g.caller.kind],
    )


def outside_markets(sheet: RegisteredSheet, preview: PushSummary) -> str | None:
    """The refusal of edits outside ``sheet.countries``, naming the rows; None if all inside."""
    markets = sheet.countries or ()
    rows = [o for o in preview.outcomes if o.key[3] not in markets]
    if not rows:
        return None
    listed = ", ".join(f"row {o.row.row} ({o.key[3]})" for o in rows[:10])
    return (
        f"this sheet may push prices only for {', '.join(markets)}; {listed} "
        "belong to other markets: clear their New price, or push them from their market's sheet"
    )
