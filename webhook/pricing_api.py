"""``POST /hooks/pricing``: NOT BUILT YET — answers 501.

The pricing push (docs/design.md §8: ``{spreadsheet_id, dry_run?}`` → the push
summary, ``changed_by`` = the verified user) needs the pricing library entry
point, which is being written on its own branch (``sheets_sync/pricing/``)
and is not in this code base yet. Until it is, the route exists, is
authenticated and validates its body like the others, then says plainly that
the push is not available — never a made-up summary.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from webhook.auth import requires_auth
from webhook.body import Field, json_body
from webhook.jobs_api import registered

bp = Blueprint("pricing", __name__)

PRICING_BODY = {"spreadsheet_id": Field("string", required=True), "dry_run": Field("boolean")}


@bp.post("/hooks/pricing")
@requires_auth()
def pricing() -> ResponseReturnValue:
    body = json_body(PRICING_BODY)
    registered(body["spreadsheet_id"].strip())
    return jsonify(error="pricing push is not available yet"), 501
