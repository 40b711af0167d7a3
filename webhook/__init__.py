"""The Flask webhook service (docs/design.md §8): an application factory over the library.

Configuration is layered as in Flask's tutorial: the library's typed
:class:`~sheets_sync.config.Settings` (defaults → ``SHEETS_SYNC_*`` environment),
then an optional test override. The library never imports Flask; this
package is the thin HTTP layer. The job endpoints (refresh, pricing, runs,
cron) and their authentication come with their own issue; what is here is
the factory, the platform endpoints and the request id every response carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from sheets_sync.config import Settings
from webhook import auth, health, request_ids


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides Flask settings and, under ``SETTINGS``, ours."""
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=256 * 1024, JSON_SORT_KEYS=False)
    overrides = dict(config or {})
    settings = overrides.pop("SETTINGS", None)
    app.config["SETTINGS"] = settings if isinstance(settings, Settings) else Settings.load()
    app.config.update(overrides)
    request_ids.init_app(app)
    auth.init_app(app)
    app.register_blueprint(health.bp)
    return app
