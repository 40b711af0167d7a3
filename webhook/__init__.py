"""The Flask webhook service (docs/design.md §8): an application factory over the library.

Configuration is layered as in Flask's tutorial: the library's typed
:class:`~sheets_sync.config.Settings` (defaults → ``SHEETS_SYNC_*`` environment),
then an optional test override. The library never imports Flask; this
package is the thin HTTP layer: platform endpoints (:mod:`webhook.health`),
refresh / run status / nightly cron (:mod:`webhook.jobs_api`), the pricing
push (:mod:`webhook.pricing_api`), the sidebar's lists of runs and alerts
(:mod:`webhook.sidebar_api`), the Cloud Tasks delivery endpoint
(:mod:`webhook.tasks_api`), authentication
(:mod:`webhook.auth`), who may do what on which spreadsheet
(:mod:`webhook.access`), JSON errors (:mod:`webhook.errors`), JSON logs
(:mod:`webhook.logs`) and the request id every response carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from sheets_sync.config import Settings
from webhook import (
    access,
    auth,
    errors,
    health,
    jobs_api,
    logs,
    pricing_api,
    request_ids,
    runtime,
    sidebar_api,
    tasks_api,
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides Flask settings and, under ``SETTINGS``, ours."""
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=256 * 1024, JSON_SORT_KEYS=False)
    overrides = dict(config or {})
    settings = overrides.pop("SETTINGS", None)
    app.config["SETTINGS"] = settings if isinstance(settings, Settings) else Settings.load()
    app.config.update(overrides)
    logs.init_app(app)
    request_ids.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    runtime.init_app(app)
    access.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(jobs_api.bp)
    app.register_blueprint(pricing_api.bp)
    app.register_blueprint(sidebar_api.bp)
    app.register_blueprint(tasks_api.bp)
    return app
