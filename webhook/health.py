"""Platform endpoints: cheap, unauthenticated, and never call the Sheets API."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from sheets_sync import __version__

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness for load balancers and uptime checks."""
    return jsonify(status="ok", version=__version__)


@bp.get("/_ah/warmup")
def warmup() -> ResponseReturnValue:
    """App Engine warm-up request: nothing to pre-load beyond importing the app."""
    return "", 200
