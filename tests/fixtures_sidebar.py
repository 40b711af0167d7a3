"""The add-on sidebar's data: a webhook app with two registered sheets, runs and alerts.

Shared by the endpoint tests (tests/test_webhook_sidebar.py) and the browser
test of the sidebar (tests/test_addon_sidebar.py), which feeds the page the
bodies this app answers. Runs and alerts are rows as the runner and the
alert evaluation write them, times relative to now (the endpoints list
alerts resolved in the last 14 days before the wall clock).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_webhook import CertsServer, bearer, service_settings, token
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from webhook import create_app, runtime
from webhook.runtime import ENGINE_KEY

SHEET_ALL = "1SidebarAllMarkets0000000000"
SHEET_FR = "1SidebarFranceMarket00000000"
STRANGER = "1SidebarNotRegistered0000000"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
"""A seller name that is HTML: the sidebar must show it as text, never run it."""
RUN_ERROR = "Sheets said 403 <b>forbidden</b>: share the sheet with the service account"


def sidebar_settings(db_url: str, certs: CertsServer, folder: Path) -> Settings:
    registry = folder / "sheets-sync.yaml"
    registry.write_text(
        "spreadsheets:\n"
        f"  - id: {SHEET_ALL}\n    name: Ops team\n"
        f"  - id: {SHEET_FR}\n    name: France\n    countries: [FR]\n"
    )
    # The sidebar's endpoints never call Sheets: nothing listens at that address.
    return service_settings(db_url, certs, registry, sheets_api_url="http://127.0.0.1:9")


@pytest.fixture
def sidebar_app(db_url: str, certs: CertsServer, tmp_path: Path) -> Iterator[Any]:
    settings = sidebar_settings(db_url, certs, tmp_path)
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    yield app
    pool = app.extensions.get(runtime.EXECUTOR_KEY)
    if pool is not None:
        pool.shutdown()
    app.extensions[ENGINE_KEY].dispose()


def auth() -> dict[str, str]:
    return bearer(token())


def run_row(sheet: str, number: int, now: dt.datetime, **changes: Any) -> dict[str, Any]:
    """A finished menu sync, queued ``number`` minutes before now."""
    queued = now - dt.timedelta(minutes=number)
    row = {
        "run_id": f"00000000-0000-4000-8000-{number:012d}", "kind": "sync",
        "spreadsheet": f"gsheets:{sheet}", "trigger": "menu",
        "requested_by": "lea@tradein.example", "status": "succeeded",
        "queued_at": queued, "started_at": queued + dt.timedelta(seconds=1),
        "finished_at": queued + dt.timedelta(seconds=13), "duration_seconds": 12.5,
        "tabs": "KPI Daily, Pricing", "api_calls": 7 + number, "cells_written": 1000 + number,
        "bytes_sent": 52_000, "rows_written": 90, "error": None,
    }  # fmt: skip
    return {**row, **changes}


def seed_runs(engine: Engine, now: dt.datetime) -> list[str]:
    """12 runs of SHEET_ALL (ids newest first are returned), one of SHEET_FR, one of a file."""
    rows = [run_row(SHEET_ALL, n, now) for n in range(1, 13)]
    rows[1] |= {"status": "failed", "error": RUN_ERROR, "api_calls": 2, "cells_written": 0}
    rows[2] |= {"kind": "pricing", "trigger": "api", "tabs": "Pricing"}
    rows[0] |= {"status": "running", "finished_at": None, "duration_seconds": None}
    others = [run_row(SHEET_FR, 20, now), run_row("x", 21, now, spreadsheet="xlsx:ops.xlsx")]
    with engine.begin() as conn:
        conn.execute(insert(schema.sync_runs), rows + others)
    return [row["run_id"] for row in rows]


def alert_row(rule_id: str, scope: str, key: str, now: dt.datetime, **changes: Any) -> dict:
    row = {
        "rule_id": rule_id, "scope": scope, "scope_key": key, "metric": "inspection_sla_rate",
        "description": f"{rule_id} ({scope} {key})", "severity": "warning",
        "channels": "slack", "value": 0.7125, "threshold": 0.85, "status": "active",
        "first_seen": now - dt.timedelta(days=3), "last_seen": now - dt.timedelta(hours=1),
        "resolved_at": None, "notified": True, "resolved_notified": False,
    }  # fmt: skip
    return {**row, **changes}


def seed_alerts(engine: Engine, now: dt.datetime) -> None:
    """Sellers in FR and DE (the German one named like HTML) and alerts of every scope."""
    day = dt.timedelta(days=1)
    resolved = {"status": "resolved", "resolved_notified": True}
    rows = [
        alert_row("failed_sync", "overall", "all", now, metric="failed_syncs", value=2,
                  threshold=0, severity="critical", description="A sync failed in the last day"),
        alert_row("sla", "seller", "S_FR", now),
        alert_row("sla", "seller", "S_DE", now, first_seen=now - 5 * day),
        alert_row("orders_drop", "country", "FR", now, metric="orders_created", value=12,
                  threshold=40, severity="info"),
        alert_row("orders_drop", "country", "DE", now, metric="orders_created", severity="info"),
        alert_row("grade_mix", "category", "smartphone", now),
        alert_row("old_fr", "country", "FR", now, resolved_at=now - 2 * day, **resolved),
        alert_row("older_fr", "country", "FR", now, resolved_at=now - 20 * day, **resolved),
    ]  # fmt: skip
    sellers = [("S_FR", "Recommerce Pro", "FR"), ("S_DE", HOSTILE, "DE")]
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers),
            [{"seller_id": s, "name": n, "country": c, "status": "active",
              "created_at": now - 100 * day} for s, n, c in sellers],
        )  # fmt: skip
        conn.execute(insert(schema.alerts), rows)


@pytest.fixture
def seeded(sidebar_app: Any) -> list[str]:
    """The runs and alerts above in the app's database; returns SHEET_ALL's run ids, newest first."""
    engine = sidebar_app.extensions[ENGINE_KEY]
    now = utcnow()
    seed_alerts(engine, now)
    return seed_runs(engine, now)
