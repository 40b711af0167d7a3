"""The audit id is the service's: a pricing push stores the id the service made, never one a
caller sent; the platform's trace id is kept beside it, on App Engine only.

Off App Engine anyone can send ``X-Cloud-Trace-Context`` (or an ``X-Request-Id``):
before, the trace header became ``X-Request-Id`` and ``price_changes.request_id``,
so a caller chose its own audit id. A real push: the app from the factory, a real
ID token, the Pricing tab synced by real gspread to the Sheets emulator, both
databases.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_sync import load_small_dataset
from fixtures_webhook import bearer, service_settings, token
from pricing_sheets import TeamSheet
from sqlalchemy import select

from sheets_sync import schema
from sheets_sync.db import make_engine
from sheets_sync.jobs.run import sync_now
from sheets_sync.registry import RegisteredSheet
from webhook import create_app, runtime
from webhook.runtime import ENGINE_KEY

EMAIL = "lea@tradein.example"  # the ID token's (fixtures_webhook.token)
TRACE = "105445aa7843bc8bf206b12000100000"
FR_GOOD = ("S1", "P1", "good", "FR")


@pytest.fixture
def sheet_id(gspread_client: Any) -> str:
    return str(gspread_client.create("Ops").id)


@pytest.fixture
def app(engine, db_url, emulator, certs, tmp_path: Path, sheet_id: str) -> Iterator[Any]:
    load_small_dataset(engine)
    registry = tmp_path / "sheets-sync.yaml"
    entry = f"spreadsheets:\n  - id: {sheet_id}\n    name: Ops team\n"
    if "pricers" in {f.name for f in dataclasses.fields(RegisteredSheet)}:
        entry += f"    pricers: [{EMAIL}]\n"  # where the registry says who may push
    registry.write_text(entry)
    settings = service_settings(db_url, certs, registry, sheets_api_url=emulator.url)
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    sync_now(engine, settings, f"gsheets:{sheet_id}", tabs=["Pricing"])
    yield app
    pool = app.extensions.pop(runtime.EXECUTOR_KEY, None)
    if pool is not None:
        pool.shutdown()
    app.extensions[ENGINE_KEY].dispose()


def audit(app: Any) -> list[dict[str, Any]]:
    engine = make_engine(app.config["SETTINGS"].database.database_url)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(select(schema.price_changes))]
    engine.dispose()
    return found


@pytest.mark.parametrize("gae_env", ["standard", None], ids=["app-engine", "elsewhere"])
def test_a_push_is_audited_under_the_services_id_with_the_platform_trace_beside_it(
    app, gspread_client, sheet_id, monkeypatch, gae_env
) -> None:
    if gae_env:
        monkeypatch.setenv("GAE_ENV", gae_env)
    else:
        monkeypatch.delenv("GAE_ENV", raising=False)
    ws = gspread_client.open_by_key(sheet_id).worksheet("Pricing")
    TeamSheet(f"gsheets:{sheet_id}", app.config["SETTINGS"], ws).type(
        {(FR_GOOD, "New price"): "125"}
    )
    chosen = {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1", "X-Request-Id": "chosen-by-the-caller"}
    response = app.test_client().post(
        "/hooks/pricing", json={"spreadsheet_id": sheet_id}, headers={**bearer(token()), **chosen}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["applied"] == 1
    request_id = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id) and request_id != TRACE
    (change,) = audit(app)
    assert change["request_id"] == request_id == response.get_json()["request_id"]
    assert change["trace_id"] == (TRACE if gae_env else None)
    lines = [json.loads(line) for line in app.config["LOG_STREAM"].getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    traced = [line for line in mine if "logging.googleapis.com/trace" in line]
    assert mine and (traced == mine if gae_env else traced == [])
    assert all(line["logging.googleapis.com/trace"].endswith(TRACE) for line in traced)
