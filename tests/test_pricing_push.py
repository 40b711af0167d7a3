"""A pricing push end to end through the library entry point: sheet → database → sheet.

Each test syncs the real Pricing tab to a workbook or to the emulator (real
gspread over HTTP), types into it as the team would, pushes, and checks the
database, the audit trail, ``sync_runs`` and every written-back cell.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import INJECTION, FakeClock
from pricing_data import USER, changes, grid, key, load_pricing
from pricing_sheets import TITLE, TeamSheet, settings_for
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.errors import BusyError, PricingError
from sheets_sync.jobs.run import sync_now
from sheets_sync.locks import destination_lock
from sheets_sync.pricing.push import push_pricing

GOOD, CRACKED, OFFLINE = key(), key(grade="cracked"), key("S1", "P2")
S2_GOOD, S2_P2 = key("S2"), key("S2", "P2")


def push(engine: Engine, team: TeamSheet, **kwargs: Any) -> Any:
    kwargs.setdefault("user", USER)
    return push_pricing(engine, team.settings, team.destination, **kwargs)


def runs_of(engine: Engine) -> list[dict[str, Any]]:
    r = schema.sync_runs.c
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).where(r.kind == "pricing")).all()
    return [dict(row._mapping) for row in rows]


def test_a_push_applies_the_valid_edits_and_reports_every_row(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({
        (GOOD, "New price"): 130, (GOOD, "Reason"): INJECTION,
        (CRACKED, "New price"): "=B2*2",
        (S2_GOOD, "New price"): "-5",
        (S2_P2, "New price"): INJECTION,
        (OFFLINE, "New price"): "€ 80,50", (OFFLINE, "Reason"): "relisting",
    })  # fmt: skip
    summary = push(engine, team, request_id="req-42")
    assert (summary.applied, summary.rejected, summary.conflicts) == (2, 3, 0)

    assert grid(engine)[GOOD] == (Decimal("130.00"), 2, USER)
    assert grid(engine)[OFFLINE] == (Decimal("80.50"), 2, USER)
    assert grid(engine)[CRACKED] == (Decimal("50.00"), 1, "loader")
    audit = {(c["product_id"], c["grade"]): c for c in changes(engine)}
    assert set(audit) == {("P1", "good"), ("P2", "good")}
    assert audit[("P1", "good")]["reason"] == INJECTION
    assert {c["source"] for c in audit.values()} == {"sheet"}
    assert {c["request_id"] for c in audit.values()} == {"req-42"}

    at = audit[("P1", "good")]["changed_at"]
    assert team.cell(GOOD, "Status") == (
        f"✔ applied {at:%Y-%m-%d %H:%M} UTC by {USER}: 120.00 → 130.00"
    )
    assert (team.cell(GOOD, "Current price"), team.cell(GOOD, "Version")) == (130, 2)
    assert team.cell(GOOD, "New price") is None
    assert team.cell(GOOD, "Reason") is None  # cleared; the reason is kept in price_changes
    assert team.cell(CRACKED, "New price") == "=B2*2"  # kept, never evaluated
    assert team.cell(CRACKED, "Status") == (
        "✖ rejected: a formula ('=B2*2') is not a price; type the number alone, e.g. 123.45"
    )
    assert team.cell(S2_GOOD, "Status").startswith("✖ rejected: -5 is negative")
    assert team.cell(S2_P2, "New price") == INJECTION
    assert team.cell(S2_P2, "Status").startswith("✖ rejected: a formula ('=IMPORTXML(")
    assert (team.cell(S2_P2, "Current price"), team.cell(S2_P2, "Version")) == (300, 1)

    [run] = runs_of(engine)
    assert (run["status"], run["trigger"], run["requested_by"]) == ("succeeded", "cli", USER)
    assert run["tabs"] == "Pricing: 2 applied, 3 rejected, 0 conflicts, 0 unchanged"
    assert run["run_id"] == summary.run_id


def test_a_dry_run_reports_what_a_push_would_do_and_changes_nothing(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "abc"})
    table, prices = team.table(), grid(engine)
    preview = push(engine, team, dry_run=True)
    assert (preview.applied, preview.rejected) == (1, 1)
    assert team.table() == table and grid(engine) == prices
    assert changes(engine) == [] and runs_of(engine) == []
    real = push(engine, team)
    assert [(o.kind, o.detail) for o in real.outcomes] == [
        (o.kind, o.detail) for o in preview.outcomes
    ]


def test_pushing_again_applies_nothing_twice(engine: Engine, team: TeamSheet) -> None:
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "abc"})
    first = push(engine, team)
    status = team.cell(GOOD, "Status")
    second = push(engine, team)
    assert (first.applied, second.applied, second.rejected) == (1, 0, 1)
    assert len(changes(engine)) == 1 and grid(engine)[GOOD][1] == 2
    assert team.cell(GOOD, "Status") == status


def test_an_edit_on_a_row_changed_elsewhere_is_a_conflict(engine: Engine, team: TeamSheet) -> None:
    team.type({(GOOD, "New price"): "125"})
    push(engine, team, user="bob@example.com")
    team.type({(GOOD, "New price"): "128", (GOOD, "Version"): 1})  # an old copy of the row
    summary = push(engine, team)
    assert summary.conflicts == 1
    assert team.cell(GOOD, "Status").startswith(
        "⚠ conflict: changed since this sheet was synced: now 125.00 (version 2, this row "
        "shows 1), by bob@example.com at "
    )
    assert team.cell(GOOD, "New price") in (128, "128")
    assert grid(engine)[GOOD] == (Decimal("125.00"), 2, "bob@example.com")


def test_an_empty_push_writes_nothing(engine: Engine, team: TeamSheet) -> None:
    table = team.table()
    summary = push(engine, team)
    assert summary.outcomes == [] and summary.cells_written == 0
    assert team.table() == table
    [run] = runs_of(engine)
    assert run["tabs"] == "Pricing: nothing to push (no New price typed)"
    assert run["status"] == "succeeded"


def test_columns_are_found_wherever_they_are(engine: Engine, team: TeamSheet) -> None:
    team.insert_first_column("Team note")
    team.type({(GOOD, "New price"): "125"})
    summary = push(engine, team)
    assert summary.applied == 1
    assert (team.cell(GOOD, "Current price"), team.cell(GOOD, "Version")) == (125, 2)
    assert team.cell_at(team.row_number(GOOD), 1) is None


@pytest.mark.parametrize("header", ["New price", "Version", "Status", "Seller ID"])
def test_a_renamed_header_changes_nothing(engine: Engine, team: TeamSheet, header: str) -> None:
    """Columns are the product's by their tags, not their titles."""
    team.type({(GOOD, "New price"): "125"})
    team.rename_header(header, f"{header} (old)")
    assert push(engine, team).applied == 1
    assert grid(engine)[GOOD] == (Decimal("125.00"), 2, USER)


@pytest.mark.parametrize("header", ["New price", "Version", "Status", "Seller ID"])
def test_a_deleted_managed_column_stops_the_push_naming_it(
    engine: Engine, team: TeamSheet, header: str
) -> None:
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "55"})
    team.delete_column(header)
    with pytest.raises(PricingError, match=f"lost its column\\(s\\) '{header}'; run `sheets-sync"):
        push(engine, team)
    assert changes(engine) == []
    [run] = runs_of(engine)
    assert run["status"] == "failed" and header in run["error"]


def test_a_destination_without_the_tab_stops_the_push(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load_pricing(engine)
    settings = settings_for(db_url)
    sync_now(engine, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", tabs=["Sync Status"])
    with pytest.raises(
        PricingError, match="has no 'Pricing' tab made by sheets-sync; run `sheets-sync sync --to"
    ):
        push_pricing(engine, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", USER)


@pytest.mark.parametrize("user", ["", "   "])
def test_a_push_needs_a_user(engine: Engine, team: TeamSheet, user: str) -> None:
    with pytest.raises(PricingError, match="pass --user EMAIL"):
        push(engine, team, user=user)


def test_a_lost_write_back_then_a_new_push_reports_applied_once(
    engine: Engine, db_url: str, emulator: Any, gspread_client: Any, controls: Any
) -> None:
    """The database commits, the sheet write fails past the retry deadline (5xx on
    every write-back attempt, each read again first); the next push writes the results,
    applying nothing again."""
    load_pricing(engine)
    spreadsheet = gspread_client.create("Trade-In Ops")
    settings = settings_for(db_url, emulator, retry_deadline_seconds=5)
    sync_now(engine, settings, f"gsheets:{spreadsheet.id}", tabs=[TITLE])
    team = TeamSheet(f"gsheets:{spreadsheet.id}", settings, spreadsheet.worksheet(TITLE))
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "55"})
    controls.fault(
        kind="503", request_kind="spreadsheets.values.batchUpdateByDataFilter", times=1000
    )

    with pytest.raises(PricingError) as failed:
        push_pricing(engine, settings, fake_clock_backend(settings, spreadsheet.id), USER)
    assert str(failed.value).startswith("2 new price(s) are live in the database, but gsheets:")
    assert "push again: the sheet gets every row's Status and nothing is applied twice" in str(
        failed.value
    )
    assert len(changes(engine)) == 2
    assert team.cell(GOOD, "Status") is None and team.cell(GOOD, "Version") == 1
    [run] = runs_of(engine)
    assert run["status"] == "failed" and "2 new price(s) are live" in run["error"]

    requests.delete(f"{controls.url}/faults", timeout=10).raise_for_status()
    summary = push_pricing(engine, settings, team.destination, USER)
    assert (summary.applied, summary.conflicts) == (2, 0)
    assert all(o.earlier for o in summary.outcomes)
    assert len(changes(engine)) == 2
    first_at = changes(engine)[0]["changed_at"]
    assert (
        team.cell(GOOD, "Status")
        == f"✔ applied {first_at:%Y-%m-%d %H:%M} UTC by {USER}: 120.00 → 125.00"
    )
    assert (team.cell(GOOD, "Version"), team.cell(GOOD, "New price")) == (2, None)


def fake_clock_backend(settings: Any, spreadsheet_id: str) -> GoogleSheetsBackend:
    """Retries that sleep on a fake clock: the deadline passes without the test waiting."""
    clock = FakeClock()
    http = RetryingHTTPClient(
        google_session(settings.sheets.sheets_api_url),
        RetryPolicy(deadline_seconds=settings.sheets.retry_deadline_seconds),
        timeout=10, clock=clock, sleep=clock.sleep, draw=lambda: 1.0,
    )  # fmt: skip
    return GoogleSheetsBackend(settings.sheets, spreadsheet_id, http=http)


def test_a_push_waits_for_a_sync_of_the_same_sheet(engine: Engine, team: TeamSheet) -> None:
    """The run lock: while a sync holds the spreadsheet, a push that may not wait fails
    naming it, changes nothing and is recorded as failed."""
    team.type({(GOOD, "New price"): "125"})
    settings = team.settings.replace(lock_wait_seconds=0)
    lock = destination_lock(engine, team.destination, "cli by a sync", run_id="sync-run-1")
    with lock, pytest.raises(BusyError, match="sync-run-1"):
        push_pricing(engine, settings, team.destination, USER)
    assert changes(engine) == [] and grid(engine)[GOOD][1] == 1
    assert team.cell(GOOD, "New price") in (125, "125")
    [run] = runs_of(engine)
    assert run["status"] == "failed" and "sync-run-1" in run["error"]


def test_the_sync_status_tab_shows_the_push(engine: Engine, team: TeamSheet) -> None:
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "x"})
    push(engine, team)
    sync_now(engine, team.settings, team.destination, tabs=["Sync Status"])
    table = team.backend.read_tab("Sync Status")
    header = table[0]
    rows = [dict(zip(header, row, strict=False)) for row in table[1:]]
    [pushed] = [r for r in rows if r["Kind"] == "pricing"]
    assert pushed["Tabs"] == "Pricing: 1 applied, 1 rejected, 0 conflicts, 0 unchanged"
    assert (pushed["Status"], pushed["Requested by"]) == ("succeeded", USER)
