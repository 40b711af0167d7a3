"""Sync Status shows the latest runs, newest first, as recorded, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import shipped_template
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.kpis import sync_status

AS_OF = dt.date(2026, 2, 1)
T0 = dt.datetime(2026, 1, 1, 6, 0)
TRIGGERS = ("cli", "menu", "cron", "api")


def make_runs(count: int) -> list[dict[str, Any]]:
    """Runs an hour apart, with the shapes a real history has (queued, running, failed, …)."""
    runs = []
    for n in range(count):
        queued = T0 + dt.timedelta(hours=n)
        kind = n % 5
        started = None if kind == 0 else queued + dt.timedelta(seconds=n % 7)
        finished = started + dt.timedelta(seconds=30 + n) if kind in (2, 3, 4) else None
        runs.append({
            "run_id": f"run-{n:03d}", "kind": "push" if n % 4 == 0 else "sync",
            "spreadsheet": f"gsheets:sheet{n % 3}", "trigger": TRIGGERS[n % 4],
            "requested_by": None if n % 6 == 0 else f"user{n}@example.com",
            "status": {0: "queued", 1: "running", 2: "succeeded", 3: "failed", 4: "succeeded"}[kind],
            "queued_at": queued, "started_at": started, "finished_at": finished,
            "duration_seconds": 12.5 + n if kind == 4 else None,
            "tabs": "KPI Daily,Pricing", "api_calls": n, "cells_written": 100 * n,
            "bytes_sent": 1000 * n, "error": f"boom {n} " + "x" * 3000 if kind == 3 else None,
            "warnings": f"careful {n}\n" + "w" * 3000 if kind == 4 else None,
            "quota_wait_seconds": 0.5 * n if kind in (2, 3, 4) else None,
        })  # fmt: skip
    return runs


def load(engine: Engine, runs: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.sync_runs), runs)


def run(engine: Engine, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sync_status.build(sync_status.QUERY.context(AS_OF, params=params))
        return [dict(row) for row in conn.execute(query).mappings()]


def reference(runs: list[dict[str, Any]], limit: int, max_error: int) -> list[dict[str, Any]]:
    """Sorted by when (started, else queued) then run id, both newest first; cut to limit."""
    shown = []
    for r in runs:
        measured = (
            (r["finished_at"] - r["started_at"]).total_seconds() if r["finished_at"] else None
        )
        shown.append({
            "run_id": r["run_id"], "when": r["started_at"] or r["queued_at"],
            "trigger": r["trigger"], "requested_by": r["requested_by"], "kind": r["kind"],
            "spreadsheet": r["spreadsheet"], "status": r["status"],
            "duration_seconds": r["duration_seconds"] if r["duration_seconds"] is not None
            else measured, "tabs": r["tabs"], "api_calls": r["api_calls"],
            "cells_written": r["cells_written"], "bytes_sent": r["bytes_sent"],
            "error": r["error"][:max_error] if r["error"] else None,
            "warnings": r["warnings"][:max_error] if r["warnings"] else None,
            "quota_wait_seconds": r["quota_wait_seconds"],
        })  # fmt: skip
    shown.sort(key=lambda r: (r["when"], r["run_id"]), reverse=True)
    return shown[:limit]


@pytest.mark.parametrize(("params", "limit"), [({}, 50), ({"limit": 7}, 7), ({"limit": 500}, 60)])
def test_latest_runs_newest_first(engine, params, limit):
    runs = make_runs(60)
    load(engine, runs)
    rows = run(engine, **params)
    assert len(rows) == limit
    assert rows == reference(runs, limit, 1000)


def test_same_moment_runs_are_ordered_by_run_id(engine):
    runs = make_runs(3)
    for r in runs:
        r.update(queued_at=T0, started_at=None, finished_at=None)
    load(engine, runs)
    assert [r["run_id"] for r in run(engine)] == ["run-002", "run-001", "run-000"]


def test_error_is_cut_to_the_configured_length(engine):
    runs = make_runs(5)
    load(engine, runs)
    failed = next(r for r in run(engine, max_error_chars=10) if r["status"] == "failed")
    assert failed["error"] == "boom 3 xxx"


def test_empty_history_is_an_empty_tab(engine):
    assert run(engine) == []


@pytest.mark.parametrize(("params", "key"), [({"limit": 0}, "limit"), ({"limit": "50"}, "limit"),
                                             ({"max_error_chars": -3}, "max_error_chars")])  # fmt: skip
def test_bad_params_name_the_key(params, key):
    with pytest.raises(TemplateError, match=rf"params\.{key}: .* Fix:"):
        sync_status.build(sync_status.QUERY.context(AS_OF, params=params))


def test_template_columns_and_limit():
    template = shipped_template("sync_status")
    assert template.headers[:12] == [
        "When", "Trigger", "Requested by", "Kind", "Spreadsheet", "Status", "Duration (s)",
        "Tabs", "API calls", "Cells written", "Bytes sent", "Error",
    ]  # fmt: skip
    assert template.headers[13] == "Quota wait (s)"  # after the contract's columns
    assert template.params["limit"] == 50
    assert template.window_days is None
    assert template.key == ("Run ID",)  # hidden; the team's cells follow their run
