"""Platform endpoints: cheap, unauthenticated, and never call the Sheets API.

``/openapi.yaml`` serves the document describing every endpoint, kept beside
this module (tests check that it and the app's routes match).
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, jsonify
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


@bp.get("/openapi.yaml")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 document of this service, for client generators and the schema tests."""
    document = files("webhook").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(document, mimetype="application/yaml")
