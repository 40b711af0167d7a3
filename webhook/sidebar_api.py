"""What the add-on's sidebar reads: a spreadsheet's last runs and its alerts (docs/design.md §8).

``GET /runs?spreadsheet_id=ID&limit=N`` lists the runs of one registered
spreadsheet, newest first, each the object ``GET /runs/<id>`` returns;
``GET /alerts?spreadsheet_id=ID`` its active and recently resolved alerts,
a market team's sheet seeing only its markets' (:mod:`sheets_sync.kpis.alerts_tab`),
each with the words every channel says it in (where by name, value and
threshold in their unit), which the sidebar shows as they come.
Both are authenticated like every endpoint, read only, answer 404 for a
spreadsheet that is not registered, as the others do, and 403 to a caller who
is not a member of it (:mod:`webhook.access`). The queries are the
library's; this module only reads the query string and shapes the answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from sheets_sync.alerts.speech import Seller, alert_of
from sheets_sync.clock import utcnow
from sheets_sync.jobs.runs import recent_runs
from sheets_sync.kpis.alerts_tab import recent_alerts
from sheets_sync.vocabulary.alert_voice import say
from webhook import access, runtime
from webhook.auth import requires_auth
from webhook.errors import BadRequest
from webhook.jobs_api import GSHEETS, caller_scope, registered, run_json, timestamp

bp = Blueprint("sidebar", __name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
ALERT_TIMES = ("first_seen", "last_seen", "resolved_at")


def spreadsheet_param() -> str:
    """The ``spreadsheet_id`` query parameter, required and non-empty."""
    value = request.args.get("spreadsheet_id", "").strip()
    if not value:
        raise BadRequest("spreadsheet_id", "missing; add ?spreadsheet_id=<the sheet's id>")
    return value


def limit_param() -> int:
    """``limit``: a whole number from 1 to :data:`MAX_LIMIT`, :data:`DEFAULT_LIMIT` if absent."""
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest("limit", f"{raw!r} is not a whole number from 1 to {MAX_LIMIT}")
    return int(text)


@bp.get("/runs")
@requires_auth()
def list_runs() -> ResponseReturnValue:
    """The last runs (syncs and pricing pushes) of a registered spreadsheet, newest first."""
    sheet = registered(spreadsheet_param())
    access.require_member(sheet, "read the runs of")
    limit = limit_param()
    rows = recent_runs(runtime.get_db(), GSHEETS + sheet.id, limit)
    return jsonify(runs=[run_json(row, sheet.id) for row in rows])


@bp.get("/alerts")
@requires_auth()
def list_alerts() -> ResponseReturnValue:
    """Active and recently resolved alerts relevant to a registered spreadsheet."""
    sheet = registered(spreadsheet_param())
    access.require_member(sheet, "read the alerts of")
    rows = recent_alerts(runtime.get_db(), caller_scope(sheet).countries, utcnow())
    return jsonify(alerts=[alert_json(row) for row in rows])


def alert_json(row: dict[str, Any]) -> dict[str, Any]:
    """One alert: its columns, times in UTC, and the words the sidebar shows as they are.

    ``where``, ``value_text`` and ``threshold_text`` are the library's voice
    (:mod:`sheets_sync.vocabulary.alert_voice`), as Slack, the e-mail and the
    Alerts tab say them; ``value`` and ``threshold`` stay the raw figures (a rate
    as 0.7125) beside their ``unit``.
    """
    said = say(alert_of(row, Seller(row["scope_name"], None)))
    shown = {**row, **{name: timestamp(row[name]) for name in ALERT_TIMES}}
    for name in ("value", "threshold"):
        shown[name] = round(float(row[name]), 6)
    shown.update(where=said.where, value_text=said.value, threshold_text=said.threshold)
    return shown
