"""``sheets-sync push-pricing`` end to end: sync the Pricing tab, edit it as the team would,
push from the command line, check the database, the audit trail and the sheet."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from gspread.utils import rowcol_to_a1
from pricing_data import USER, changes, grid, key, load_pricing
from pricing_sheets import TITLE, TeamSheet, settings_for
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.cli import main

GOOD, CRACKED = key(), key(grade="cracked")


@pytest.fixture(params=["xlsx", "gsheets"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def destination_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Any]:
    """The destination and, for Google, its spreadsheet (emulator URL in the environment)."""
    if kind == "xlsx":
        return f"xlsx:{tmp_path / 'ops.xlsx'}", None
    emulator = request.getfixturevalue("emulator")
    request.getfixturevalue("monkeypatch").setenv("SHEETS_SYNC_SHEETS_API_URL", emulator.url)
    spreadsheet = request.getfixturevalue("gspread_client").create("Trade-In Ops")
    return f"gsheets:{spreadsheet.id}", spreadsheet


def cli(runner: CliRunner, db_url: str, *args: str) -> Result:
    return runner.invoke(main, [*args, "--database-url", db_url])


@pytest.fixture
def team(
    kind: str, runner: CliRunner, engine: Engine, db_url: str, request: pytest.FixtureRequest,
    tmp_path: Path,
) -> TeamSheet:  # fmt: skip
    load_pricing(engine)
    destination, spreadsheet = destination_for(kind, request, tmp_path)
    synced = cli(runner, db_url, "sync", "--to", destination, "--tabs", TITLE)
    assert synced.exit_code == 0, synced.output
    emulator = request.getfixturevalue("emulator") if spreadsheet else None
    ws = spreadsheet.worksheet(TITLE) if spreadsheet else None
    return TeamSheet(destination, settings_for(db_url, emulator), ws)


def test_push_applies_edits_and_prints_one_line_per_problem(
    runner: CliRunner, engine: Engine, db_url: str, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125,50", (CRACKED, "New price"): "=SUM(1,2)"})
    result = cli(runner, db_url, "push-pricing", "--from", team.destination, "--user", USER)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"Pushed {team.destination} as {USER}: 1 applied, 1 rejected, 0 conflicts, 0 unchanged."
    )
    cracked_row = team.row_number(CRACKED)
    assert lines[1].startswith(
        f"  row {cracked_row} (S1 × P1 × cracked × FR): ✖ rejected: a formula"
    )
    assert grid(engine)[GOOD] == (Decimal("125.50"), 2, USER)
    assert team.cell(GOOD, "Status").startswith("✔ applied ")
    assert team.cell(CRACKED, "New price") == "=SUM(1,2)"


def test_json_summary(runner: CliRunner, engine: Engine, db_url: str, team: TeamSheet) -> None:
    team.type({(GOOD, "New price"): 126})
    args = ["push-pricing", "--from", team.destination, "--user", USER, "--json"]
    result = cli(runner, db_url, *args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["applied"], summary["rejected"], summary["dry_run"]) == (1, 0, False)
    [row] = summary["rows"]
    assert (row["row"], row["grade"], row["outcome"], row["price"], row["version"]) == (
        team.row_number(GOOD), "good", "applied", "126", 2,
    )  # fmt: skip
    assert summary["request_id"] == changes(engine)[0]["request_id"]


def test_dry_run_changes_nothing(
    runner: CliRunner, engine: Engine, db_url: str, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125"})
    table, prices = team.table(), grid(engine)
    result = cli(runner, db_url, "push-pricing", "--from", team.destination, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"Preview of {team.destination} (nothing changed): would apply 1"
    )
    assert team.table() == table and grid(engine) == prices and changes(engine) == []


def test_the_default_user_is_the_local_identity(
    runner: CliRunner, engine: Engine, db_url: str, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125"})
    result = cli(runner, db_url, "push-pricing", "--from", team.destination)
    identity = f"{getpass.getuser()}@{socket.gethostname()}"
    assert f" as {identity}: 1 applied" in result.output
    assert changes(engine)[0]["changed_by"] == identity


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--user", " "], "is not a user; give your e-mail address"),
        (["--from", "xlsx:ops.txt"], "a workbook path must end in .xlsx"),
        ([], "Missing option '--from'"),
    ],
)
def test_bad_options_are_usage_errors(
    runner: CliRunner, db_url: str, args: list[str], says: str
) -> None:
    base = ["--from", "xlsx:ops.xlsx"] if "--from" not in args and args else []
    result = cli(runner, db_url, "push-pricing", *base, *args)
    assert result.exit_code == 2 and says in result.output


def test_a_push_that_cannot_run_exits_1_with_one_line(
    runner: CliRunner, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load_pricing(engine)
    workbook = f"xlsx:{tmp_path / 'ops.xlsx'}"
    assert cli(runner, db_url, "sync", "--to", workbook, "--tabs", "Sync Status").exit_code == 0
    result = cli(runner, db_url, "push-pricing", "--from", workbook)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert (
        line.startswith("Error: ")
        and "has no 'Pricing' tab made by sheets-sync; run `sheets-sync sync" in line
    )


def test_a_lost_write_back_exits_1_then_a_new_push_reports_applied_once(
    runner: CliRunner, engine: Engine, db_url: str, request: pytest.FixtureRequest,
    tmp_path: Path, controls: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    load_pricing(engine)
    destination, spreadsheet = destination_for("gsheets", request, tmp_path)
    assert cli(runner, db_url, "sync", "--to", destination, "--tabs", TITLE).exit_code == 0
    sheet = TeamSheet(destination, settings_for(db_url, request.getfixturevalue("emulator")),
                      spreadsheet.worksheet(TITLE))  # fmt: skip
    sheet.type({(GOOD, "New price"): "125"})
    monkeypatch.setenv("SHEETS_SYNC_RETRY_DEADLINE_SECONDS", "1")
    controls.fault(
        kind="500", request_kind="spreadsheets.values.batchUpdateByDataFilter", times=1000
    )
    failed = cli(runner, db_url, "push-pricing", "--from", destination, "--user", USER)
    assert failed.exit_code == 1
    [line] = failed.output.splitlines()
    assert "1 new price(s) are live in the database, but" in line and "push again" in line
    requests.delete(f"{controls.url}/faults", timeout=10).raise_for_status()
    again = cli(runner, db_url, "push-pricing", "--from", destination, "--user", USER)
    assert again.exit_code == 0, again.output
    assert "1 applied, 0 rejected, 0 conflicts" in again.output
    assert len(changes(engine)) == 1
    assert sheet.cell(GOOD, "Status").startswith("✔ applied ")
    assert (sheet.cell(GOOD, "Version"), sheet.cell(GOOD, "New price")) == (2, None)


EDITS = 5000


def load_big_grid(engine: Engine) -> None:
    """5,000 listings of one seller in FR: 1,250 products × 4 grades, in grade order."""
    created = dt.datetime(2024, 1, 1)
    products = [f"P{i:04d}" for i in range(1250)]
    ladder = {"flawless": 400, "good": 300, "used": 200, "cracked": 100}
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [{"seller_id": "S1", "name": "Big", "country": "FR",
                     "status": "active", "created_at": created, "onboarded_at": created}])  # fmt: skip
        conn.execute(insert(schema.products), [
            {"product_id": p, "category": "smartphone", "brand": "Apple", "model": p,
             "storage_gb": 128, "release_year": 2022} for p in products])  # fmt: skip
        conn.execute(insert(schema.price_grid), [
            {"seller_id": "S1", "product_id": p, "grade": g, "country": "FR",
             "price": Decimal(price), "currency": "EUR", "version": 1, "updated_at": created,
             "updated_by": "loader"} for p in products for g, price in ladder.items()])  # fmt: skip


def type_new_prices(kind: str, destination: str, spreadsheet: Any) -> None:
    """Every row's New price = Current price + 1, typed in one go."""
    if kind == "xlsx":
        from openpyxl import load_workbook

        path = Path(destination.removeprefix("xlsx:"))
        wb = load_workbook(path)
        ws = wb[TITLE]
        header = [c.value for c in ws[1]]
        current, new = header.index("Current price") + 1, header.index("New price") + 1
        for row in range(2, EDITS + 2):
            ws.cell(row=row, column=new).value = ws.cell(row=row, column=current).value + 1
        wb.save(path)
        return
    ws = spreadsheet.worksheet(TITLE)
    header = ws.row_values(1)
    current = ws.col_values(
        header.index("Current price") + 1, value_render_option="UNFORMATTED_VALUE"
    )
    new_column = header.index("New price") + 1
    values = [[price + 1] for price in current[1:]]
    ws.update(
        values, f"{rowcol_to_a1(2, new_column)}:{rowcol_to_a1(EDITS + 1, new_column)}", raw=True
    )


def test_a_push_of_5000_edits(
    kind: str, runner: CliRunner, engine: Engine, db_url: str, request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:  # fmt: skip
    load_big_grid(engine)
    destination, spreadsheet = destination_for(kind, request, tmp_path)
    assert cli(runner, db_url, "sync", "--to", destination, "--tabs", TITLE).exit_code == 0
    type_new_prices(kind, destination, spreadsheet)
    if spreadsheet is not None:
        controls = request.getfixturevalue("controls")
        requests.post(f"{controls.url}/counters/reset", timeout=10).raise_for_status()
    result = cli(runner, db_url, "push-pricing", "--from", destination, "--user", USER, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["applied"], summary["rejected"], summary["conflicts"]) == (EDITS, 0, 0)
    if spreadsheet is not None:
        assert request.getfixturevalue("controls").counters()["requests"] <= 4
    prices = grid(engine)
    assert all(version == 2 for _, version, _ in prices.values())
    assert prices[("S1", "P0000", "good", "FR")][0] == Decimal("301")
    assert len(changes(engine)) == EDITS
    table = TeamSheet(destination, settings_for(db_url), None)
    rows = (table.backend if kind == "xlsx" else _google(request, destination, db_url)).read_tab(
        TITLE
    )
    header = rows[0]
    status, new, version = (header.index(h) for h in ("Status", "New price", "Version"))
    assert all(str(r[status]).startswith("✔ applied") for r in rows[1:])
    assert all(r[new] in (None, "") and r[version] == 2 for r in rows[1:])


def _google(request: pytest.FixtureRequest, destination: str, db_url: str) -> Any:
    return TeamSheet(
        destination, settings_for(db_url, request.getfixturevalue("emulator")), None
    ).backend


def test_a_registered_market_sheet_prices_only_its_markets_from_the_cli_too(
    runner: CliRunner, engine: Engine, db_url: str, request: pytest.FixtureRequest,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The same per-row rule as the webhook: another market's row is that row's rejection."""
    load_pricing(engine)
    destination, spreadsheet = destination_for("gsheets", request, tmp_path)
    registry = tmp_path / "markets.yaml"
    registry.write_text(
        f"spreadsheets:\n  - id: {spreadsheet.id}\n    name: DACH team\n    countries: [DE]\n"
    )
    assert cli(runner, db_url, "sync", "--to", destination, "--tabs", TITLE).exit_code == 0
    sheet = TeamSheet(destination, settings_for(db_url, request.getfixturevalue("emulator")),
                      spreadsheet.worksheet(TITLE))  # fmt: skip
    sheet.type({(GOOD, "New price"): "125"})
    monkeypatch.setenv("SHEETS_SYNC_CONFIG_FILE", str(registry))
    result = cli(runner, db_url, "push-pricing", "--from", destination, "--user", USER)
    assert result.exit_code == 0, result.output
    assert "0 applied, 1 rejected" in result.output
    assert "this sheet prices only DE; FR is another market" in result.output
    assert grid(engine)[GOOD][:2] == (Decimal("120.00"), 1)
