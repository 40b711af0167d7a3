"""The Sheets quota shared through the database (issue 26): processes wait their turn, not 429s.

The emulator enforces Google's per-user quotas over a shortened window
(``/_emulator/quotas``), and the governor is given the same window
(``SHEETS_SYNC_QUOTA_WINDOW_SECONDS``), so a minute of traffic takes seconds.
Every request is real: gspread's HTTP client over the network to the emulator,
SQLite files and PostgreSQL holding the shared window.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import gspread
import pytest
from fixtures_sync import load_small_dataset
from helpers import TEMPLATES
from pricing_data import load_pricing
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_emulator.kinds import READ_KINDS, request_kind
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.quota import governor, quota_kind
from sheets_sync.backends.gsheets.session import RewritingSession
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError, QuotaWaitError
from sheets_sync.jobs import runs
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing.push import push_pricing
from sheets_sync.quota import usage
from sheets_sync.quota.store import Bucket, settle, take
from sheets_sync.schema import sync_runs
from webhook.jobs_api import run_json

WINDOW = 1.5
"""The quota's window in these tests (Google's is a minute)."""
TABS = ["Onboarding", "Sync Status"]
"""A small sync: a handful of reads and writes."""


def quota_settings(db_url: str, api_url: str, **overrides: Any) -> Settings:
    return Settings.load(
        environ={}, database_url=db_url, sheets_api_url=api_url, templates_dir=TEMPLATES,
        **{"quota_window_seconds": WINDOW, **overrides},
    )  # fmt: skip


def counted_by_emulator(controls: Any) -> dict[str, int]:
    """The emulator's Sheets requests by the quota they count against."""
    by_kind = controls.counters()["by_kind"]
    counted = {"read": 0, "write": 0}
    for kind, count in by_kind.items():
        if kind.startswith("spreadsheets."):
            counted["read" if kind in READ_KINDS else "write"] += count
    return counted


def refused(controls: Any) -> int:
    return int(controls.counters()["by_status"].get("429", 0))


def granted(engine: Engine) -> dict[str, int]:
    return {row.kind: row.granted for row in usage(engine, WINDOW)}


# -- what is counted, and how ------------------------------------------------------------

SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
REQUESTS = [
    ("POST", SHEETS), ("GET", f"{SHEETS}/abc"), ("POST", f"{SHEETS}/abc:batchUpdate"),
    ("GET", f"{SHEETS}/abc/values/Sheet1%21A1"), ("PUT", f"{SHEETS}/abc/values/Sheet1%21A1"),
    ("POST", f"{SHEETS}/abc/values/Sheet1%21A1:append"),
    ("POST", f"{SHEETS}/abc/values/Sheet1%21A1:clear"), ("GET", f"{SHEETS}/abc/values:batchGet"),
    ("POST", f"{SHEETS}/abc/values:batchUpdate"), ("POST", f"{SHEETS}/abc/values:batchClear"),
    ("POST", f"{SHEETS}/abc/values:batchGetByDataFilter"),
    ("POST", f"{SHEETS}/abc/values:batchUpdateByDataFilter"),
    ("POST", f"{SHEETS}/abc/developerMetadata:search"),
    ("GET", f"{SHEETS}/abc/developerMetadata/7"), ("POST", f"{SHEETS}/abc/sheets/0:copyTo"),
    ("GET", "https://www.googleapis.com/drive/v3/files"),
    ("DELETE", "https://www.googleapis.com/drive/v3/files/abc"),
    ("POST", "https://oauth2.googleapis.com/token"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url"), REQUESTS)
def test_each_request_counts_against_the_quota_google_counts_it_against(
    method: str, url: str
) -> None:
    kind = request_kind(method, url.split(".com", 1)[1])
    expected = None if not kind.startswith("spreadsheets.") else (
        "read" if kind in READ_KINDS else "write"
    )  # fmt: skip
    assert quota_kind(method, url) == expected


def test_a_sync_and_a_push_draw_their_reads_and_writes_apart(
    engine: Engine, db_url: str, emulator: Any, controls: Any, gspread_client: gspread.Client
) -> None:
    load_pricing(engine)
    sheet = gspread_client.create("Trade-In Ops")
    controls._post("counters/reset", {})
    settings = quota_settings(db_url, emulator.url)
    sync_now(engine, settings, f"gsheets:{sheet.id}", tabs=[*TABS, "Pricing"])
    push_pricing(engine, settings, f"gsheets:{sheet.id}", "pricer@example.com")
    assert granted(engine) == counted_by_emulator(controls)
    assert granted(engine)["read"] > 0 and granted(engine)["write"] > 0


# -- many processes, one quota -----------------------------------------------------------


def hammer(db_url: str, api_url: str, sheet_id: str, worker: int, rounds: int) -> dict[str, Any]:
    """One process's traffic: ``rounds`` writes and reads of its own cells, each through
    the governor on this process's own engine."""
    engine = make_engine(db_url)
    settings = quota_settings(db_url, api_url, quota_reads_per_minute=5,
                              quota_writes_per_minute=8)  # fmt: skip
    http = RetryingHTTPClient(
        RewritingSession(api_url), RetryPolicy(deadline_seconds=60), timeout=30,
        quota=governor(engine, settings.sheets, None),
    )  # fmt: skip
    for n in range(rounds):
        cell = f"Sheet1!A{worker * rounds + n + 1}"
        body = {"values": [[f"w{worker}-{n}"]]}
        http.values_update(sheet_id, cell, params={"valueInputOption": "RAW"}, body=body)
        http.values_get(sheet_id, cell)
    engine.dispose()
    assert http.quota is not None
    return {"waited": http.quota.waited_seconds, "taken": dict(http.quota.taken),
            "retries": http.counters.retries}  # fmt: skip


def test_processes_sharing_the_quota_wait_their_turn_and_draw_no_429(
    engine: Engine, db_url: str, emulator: Any, controls: Any, gspread_client: gspread.Client
) -> None:
    workers, rounds = 3, 5
    sheet = gspread_client.create("Hammered")
    controls.quotas(read_per_minute=5, write_per_minute=8, window_seconds=WINDOW)
    controls._post("counters/reset", {})
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        jobs = [
            pool.apply_async(hammer, (db_url, emulator.url, sheet.id, worker, rounds))
            for worker in range(workers)
        ]
        results = [job.get(timeout=120) for job in jobs]

    assert refused(controls) == 0
    assert all(r["retries"] == 0 and r["taken"] == {"read": rounds, "write": rounds}
               for r in results)  # fmt: skip
    assert sum(r["waited"] for r in results) > 0  # 15 reads at 5 a window: someone waited
    assert granted(engine) == {"read": workers * rounds, "write": workers * rounds}
    controls.quotas(read_per_minute=None, write_per_minute=None)
    column = sheet.sheet1.col_values(1)
    assert sorted(column) == sorted(f"w{w}-{n}" for w in range(workers) for n in range(rounds))


def test_a_request_in_flight_keeps_its_place_until_its_answer_then_a_window_more(
    engine: Engine,
) -> None:
    bucket = Bucket("sync@example.iam.gserviceaccount.com", "write")
    first = take(engine, bucket, 1, WINDOW, hold_seconds=100)
    assert first.end is not None
    in_flight = take(engine, bucket, 1, WINDOW, hold_seconds=100)
    assert in_flight.end is None and not in_flight.exact  # it may answer any moment: poll
    settle(engine, bucket, first.end, WINDOW, lock_wait=5)
    answered = take(engine, bucket, 1, WINDOW, hold_seconds=100)
    assert answered.end is None and answered.exact and 0 < answered.wait_seconds <= WINDOW
    other = take(engine, Bucket(bucket.account, "read"), 1, WINDOW, hold_seconds=100)
    assert other.end is not None  # reads are another quota


# -- a run's record ------------------------------------------------------------------------


def test_a_run_that_waited_for_quota_says_how_long(
    engine: Engine, db_url: str, emulator: Any, controls: Any, gspread_client: gspread.Client
) -> None:
    load_small_dataset(engine)
    sheet = gspread_client.create("Trade-In Ops")
    destination = f"gsheets:{sheet.id}"
    roomy = quota_settings(db_url, emulator.url)
    calm = sync_now(engine, roomy, destination, tabs=TABS)
    controls.quotas(read_per_minute=1, write_per_minute=1, window_seconds=WINDOW)
    tight = quota_settings(db_url, emulator.url, quota_reads_per_minute=1,
                           quota_writes_per_minute=1)  # fmt: skip
    waited = sync_now(engine, tight, destination, tabs=TABS)  # 3 reads, 1 a window

    assert refused(controls) == 0
    assert runs.get_run(engine, calm.run_id)["quota_wait_seconds"] == 0
    record = runs.get_run(engine, waited.run_id)
    assert record["status"] == "succeeded"
    assert waited.quota_wait_seconds > 0
    assert record["quota_wait_seconds"] == pytest.approx(waited.quota_wait_seconds, abs=1e-3)
    assert run_json(record, sheet.id)["quota_wait_seconds"] == record["quota_wait_seconds"]


def test_a_push_that_waited_for_quota_says_how_long(
    engine: Engine, db_url: str, emulator: Any, gspread_client: gspread.Client
) -> None:
    load_pricing(engine)
    sheet = gspread_client.create("Trade-In Ops")
    destination = f"gsheets:{sheet.id}"
    sync_now(engine, quota_settings(db_url, emulator.url), destination, tabs=["Pricing"])
    tight = quota_settings(db_url, emulator.url, quota_reads_per_minute=1)
    summary = push_pricing(engine, tight, destination, "pricer@example.com")  # 2 reads

    assert summary.quota_wait_seconds > 0
    assert summary.run_id is not None
    record = runs.get_run(engine, summary.run_id)
    assert record["kind"] == "pricing" and record["status"] == "succeeded"
    assert record["quota_wait_seconds"] == pytest.approx(summary.quota_wait_seconds, abs=1e-3)


def test_a_run_that_cannot_get_quota_in_time_fails_saying_so(
    engine: Engine, db_url: str, emulator: Any, gspread_client: gspread.Client
) -> None:
    load_small_dataset(engine)
    sheet = gspread_client.create("Trade-In Ops")
    starved = quota_settings(
        db_url, emulator.url, quota_reads_per_minute=1, quota_window_seconds=600,
        quota_wait_seconds=0.5,
    )  # fmt: skip
    with pytest.raises(QuotaWaitError, match=r"SHEETS_SYNC_QUOTA_WAIT_SECONDS=0\.5") as raised:
        sync_now(engine, starved, f"gsheets:{sheet.id}", tabs=TABS)

    assert "read quota" in str(raised.value)
    assert raised.value.waited_seconds >= 0.5
    (record,) = all_runs(engine)
    assert record["status"] == "failed"
    assert "SHEETS_SYNC_QUOTA_READS_PER_MINUTE" in record["error"]
    assert record["quota_wait_seconds"] >= 0.5


def all_runs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(sync_runs)).mappings()]


# -- settings --------------------------------------------------------------------------------


def test_the_defaults_keep_a_margin_under_googles_quota() -> None:
    sheets = Settings.load(environ={}).sheets
    assert 0 < sheets.quota_reads_per_minute < 60 and 0 < sheets.quota_writes_per_minute < 60
    assert sheets.quota_window_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHEETS_SYNC_QUOTA_READS_PER_MINUTE", "-1"),
        ("SHEETS_SYNC_QUOTA_READS_PER_MINUTE", "lots"),
        ("SHEETS_SYNC_QUOTA_WRITES_PER_MINUTE", "2.5"),
        ("SHEETS_SYNC_QUOTA_WRITES_PER_MINUTE", "100000"),
        ("SHEETS_SYNC_QUOTA_WINDOW_SECONDS", "0"),
        ("SHEETS_SYNC_QUOTA_WAIT_SECONDS", "-5"),
    ],
)
def test_a_bad_quota_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.load(environ={variable: value})
