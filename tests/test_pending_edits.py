"""The team's unpushed edits on the Pricing tab survive a sync, and keep their conflict check.

A `New price` typed but not pushed yet is pending work: a sync must neither
erase it (the workbook rebuilds the tab) nor refresh the row's `Version`
(``hold_while_pending``), or a change someone else pushed in between would be
silently overwritten by the team's push instead of reported as a conflict.
Also here: the option's validation, and the tab's row order (grades best first).
Both backends end to end: a workbook with openpyxl, Google through the
emulator with real gspread; both databases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import shipped_template
from openpyxl import load_workbook
from pricing_data import UPDATED_AT, USER, grid, key, load_pricing
from pricing_sheets import TITLE, TeamSheet, settings_for
from sqlalchemy import and_, delete, insert, update
from sqlalchemy.engine import Engine
from test_xlsx_safety import move_column

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing import push_pricing
from sheets_sync.tab_templates import load_template

GOOD, CRACKED, FLAWLESS = key(), key(grade="cracked"), key(grade="flawless")
OFFLINE, S2_GOOD = key("S1", "P2"), key("S2")
BOB = "bob@example.com"


def synced_sheet(
    request: pytest.FixtureRequest, engine: Engine, kind: str, db_url: str, path: Path
) -> TeamSheet:
    """The Pricing tab synced to a new destination of ``kind`` (``xlsx`` or ``gsheets``)."""
    if kind == "xlsx":
        sheet = TeamSheet(f"xlsx:{path}", settings_for(db_url), None)
        sync(engine, sheet)
        return sheet
    emulator = request.getfixturevalue("emulator")
    spreadsheet = request.getfixturevalue("gspread_client").create(path.stem)
    sheet = TeamSheet(f"gsheets:{spreadsheet.id}", settings_for(db_url, emulator), None)
    sync(engine, sheet)
    sheet.ws = spreadsheet.worksheet(TITLE)
    return sheet


def sync(engine: Engine, sheet: TeamSheet) -> None:
    sync_now(engine, sheet.settings, sheet.destination, tabs=[TITLE])


@pytest.fixture(params=["xlsx", "gsheets"])
def team(request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path) -> TeamSheet:
    """The Pricing tab synced from the pricing dataset, ready for the team's edits."""
    load_pricing(engine)
    return synced_sheet(request, engine, request.param, db_url, tmp_path / "team.xlsx")


def move_version_first(sheet: TeamSheet) -> None:
    """The team moves `Version` to the far left (column A)."""
    at = sheet.table()[0].index("Version")
    if sheet.ws is None:
        move_column(Path(sheet.destination.removeprefix("xlsx:")), TITLE, at + 1, 1)
        return
    source = {"sheetId": sheet.ws.id, "dimension": "COLUMNS", "startIndex": at, "endIndex": at + 1}
    sheet.ws.spreadsheet.batch_update(
        {"requests": [{"moveDimension": {"source": source, "destinationIndex": 0}}]}
    )


def change_in_db(engine: Engine, listing: tuple[str, ...], price: str) -> None:
    """Someone changes a listing's price straight in the database (version + 1)."""
    g = schema.price_grid.c
    where = and_(*(c == v for c, v in zip((g.seller_id, g.product_id, g.grade, g.country),
                                         listing, strict=True)))  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            update(schema.price_grid).where(where).values(
                price=Decimal(price), version=g.version + 1, updated_by=BOB,
                updated_at=dt.datetime(2025, 7, 1, 9, 30),
            )
        )  # fmt: skip


def their_push(request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Bob, in a workbook of his own synced from the same database, pushes 140 for GOOD."""
    bob = synced_sheet(request, engine, "xlsx", db_url, tmp_path / "bob.xlsx")
    bob.type({(GOOD, "New price"): 140})
    assert push_pricing(engine, bob.settings, bob.destination, user=BOB).applied == 1


# -- a sync between someone else's change and the team's push ---------------------------


@pytest.mark.parametrize("layout", ["as synced", "Version moved first"])
@pytest.mark.parametrize("elsewhere", ["their push", "in the database"])
def test_a_sync_before_the_push_still_reports_someone_elses_change_as_a_conflict(
    request: pytest.FixtureRequest,
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    team: TeamSheet,
    elsewhere: str,
    layout: str,
) -> None:
    if layout == "Version moved first":
        move_version_first(team)
    team.type({(GOOD, "New price"): 130, (GOOD, "Reason"): "match S2"})
    if elsewhere == "their push":
        their_push(request, engine, db_url, tmp_path)
    else:
        change_in_db(engine, GOOD, "140.00")
    change_in_db(engine, CRACKED, "55.00")  # no pending edit on that row

    sync(engine, team)
    assert team.cell(GOOD, "Version") == 1  # held: the version the edit was typed against
    assert team.cell(GOOD, "Current price") == 140  # the rest of the row is refreshed
    assert (team.cell(GOOD, "New price"), team.cell(GOOD, "Reason")) == (130, "match S2")
    assert (team.cell(CRACKED, "Version"), team.cell(CRACKED, "Current price")) == (2, 55)
    assert team.cell(S2_GOOD, "Version") == 1

    summary = push_pricing(engine, team.settings, team.destination, user=USER)
    assert (summary.conflicts, summary.applied) == (1, 0)
    assert team.cell(GOOD, "Status").startswith(
        "⚠ conflict: changed since this sheet was synced: now 140.00 (version 2, this row "
        f"shows 1), by {BOB} at "
    )
    assert grid(engine)[GOOD] == (Decimal("140.00"), 2, BOB)


def test_once_the_edit_is_cleared_a_sync_refreshes_the_version(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): 130})
    change_in_db(engine, GOOD, "140.00")
    sync(engine, team)
    assert team.cell(GOOD, "Version") == 1
    team.type({(GOOD, "New price"): ""})  # the team clears it (the API skips a null)
    sync(engine, team)
    assert (team.cell(GOOD, "Version"), team.cell(GOOD, "Current price")) == (2, 140)


# -- the workbook keeps what the team typed ----------------------------------------------


def reshuffle(engine: Engine) -> None:
    """A listing appears above the team's rows (BE sorts before FR), another one leaves."""
    g = schema.price_grid.c
    with engine.begin() as conn:
        conn.execute(insert(schema.price_grid).values(
            seller_id="S1", product_id="P1", grade="good", country="BE", price=Decimal("99.00"),
            currency="EUR", version=1, updated_at=UPDATED_AT, updated_by="loader",
        ))  # fmt: skip
        conn.execute(
            delete(schema.price_grid).where(and_(g.seller_id == "S1", g.product_id == "P2"))
        )


@pytest.mark.parametrize("rows", ["in place", "moved"])
def test_a_workbook_resync_keeps_the_pending_edits_on_their_rows(
    request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path, rows: str
) -> None:
    load_pricing(engine)
    team = synced_sheet(request, engine, "xlsx", db_url, tmp_path / "team.xlsx")
    team.type({
        (GOOD, "New price"): "125,50", (GOOD, "Reason"): "price war",
        (CRACKED, "New price"): "=B2*2",
        (S2_GOOD, "New price"): 119,
        (FLAWLESS, "Reason"): "waiting for the new model",
    })  # fmt: skip
    before = {k: team.row_number(k) for k in (GOOD, CRACKED, S2_GOOD, FLAWLESS)}
    if rows == "moved":
        reshuffle(engine)
    sync(engine, team)
    after = {k: team.row_number(k) for k in before}
    assert (after == before) is (rows == "in place")

    assert (team.cell(GOOD, "New price"), team.cell(GOOD, "Reason")) == ("125,50", "price war")
    assert (team.cell(S2_GOOD, "New price"), team.cell(S2_GOOD, "Reason")) == (119, None)
    assert (team.cell(FLAWLESS, "New price"), team.cell(FLAWLESS, "Reason")) == (
        None, "waiting for the new model",
    )  # fmt: skip
    ws = load_workbook(tmp_path / "team.xlsx")[TITLE]
    formula = ws.cell(after[CRACKED], team.table()[0].index("New price") + 1)
    assert (formula.value, formula.data_type) == ("=B2*2", "f")  # still the team's formula
    edited = {GOOD, CRACKED, S2_GOOD, FLAWLESS}
    others = [k for k in grid(engine) if k not in edited]
    assert others and all(team.cell(k, "New price") is None for k in others)
    assert all(team.cell(k, "Reason") is None for k in others)

    summary = push_pricing(engine, team.settings, team.destination, user=USER)
    assert (summary.applied, summary.rejected) == (2, 1)
    assert grid(engine)[GOOD][:2] == (Decimal("125.50"), 2)


# -- the template option ------------------------------------------------------------------

BASE = """\
title: Held
query: pricing
key: [Seller ID]
columns:
  - {header: Seller ID}
  - {header: New price, type: money, editable: true}
  - {header: Version, type: integer}
"""


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            BASE.replace("type: integer}", "type: integer, hold_while_pending: yes please}"),
            ":7: columns[2].hold_while_pending: 'yes please' is not true/false. "
            "Fix: write `true` or `false`",
        ),
        (
            BASE.replace("editable: true}", "editable: true, hold_while_pending: true}"),
            ":6: columns[1].hold_while_pending: 'New price' is editable, and a sync keeps what "
            "the team types. Fix: remove `hold_while_pending:` or `editable: true`",
        ),
        (
            BASE.replace(", editable: true}", "}").replace(
                "type: integer}", "type: integer, hold_while_pending: true}"
            ),
            ":7: columns[2].hold_while_pending: the tab has no editable column, so no row can "
            "have a pending edit. Fix: mark the column",
        ),
        (
            BASE.replace("key: [Seller ID]\n", "").replace(
                "type: integer}", "type: integer, hold_while_pending: true}"
            ),
            ":6: columns[2].hold_while_pending: the tab has no `key`, so a held cell cannot "
            "follow its row. Fix: give the tab a `key:`",
        ),
    ],
    ids=["not a boolean", "on an editable column", "no editable column", "no key"],
)
def test_a_bad_hold_while_pending_fails_at_load_naming_file_line_and_fix(
    tmp_path: Path, yaml: str, message: str
) -> None:
    path = tmp_path / "held.yaml"
    path.write_text(yaml, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}{message}")


def test_the_pricing_tab_holds_its_version_and_nothing_else() -> None:
    template = shipped_template("pricing")
    held = [template.columns[i].header for i in template.held_indexes]
    assert held == ["Version"]


# -- row order ------------------------------------------------------------------------------


def add_listings(engine: Engine, *listings: tuple[str, str, str, str]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.price_grid), [
            {"seller_id": s, "product_id": p, "grade": g, "country": c, "price": Decimal("10.00"),
             "currency": "EUR", "version": 1, "updated_at": UPDATED_AT, "updated_by": "loader"}
            for s, p, g, c in listings
        ])  # fmt: skip


def keys_in_order(sheet: TeamSheet) -> list[tuple[Any, ...]]:
    table = sheet.table()
    where = [table[0].index(h) for h in ("Seller ID", "Product ID", "Country", "Grade")]
    return [tuple(row[i] for i in where) for row in table[1:]]


@pytest.mark.parametrize("kind", ["xlsx", "gsheets"])
def test_pricing_rows_go_seller_product_country_then_best_grade_first(
    request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path, kind: str
) -> None:
    load_pricing(engine)
    add_listings(engine, ("S1", "P1", "cracked", "DE"), ("S1", "P1", "flawless", "DE"))
    sheet = synced_sheet(request, engine, kind, db_url, tmp_path / "order.xlsx")
    assert keys_in_order(sheet) == [
        ("S1", "P1", "DE", "flawless"), ("S1", "P1", "DE", "cracked"),
        ("S1", "P1", "FR", "flawless"), ("S1", "P1", "FR", "good"), ("S1", "P1", "FR", "cracked"),
        ("S1", "P2", "FR", "good"), ("S2", "P1", "FR", "good"), ("S2", "P2", "FR", "good"),
    ]  # fmt: skip
    add_listings(engine, ("S1", "P1", "used", "FR"), ("S1", "P1", "nf_cracked", "DE"))
    sync(engine, sheet)  # new rows take their place by grade on both backends
    assert keys_in_order(sheet) == [
        ("S1", "P1", "DE", "flawless"), ("S1", "P1", "DE", "cracked"),
        ("S1", "P1", "DE", "nf_cracked"),
        ("S1", "P1", "FR", "flawless"), ("S1", "P1", "FR", "good"), ("S1", "P1", "FR", "used"),
        ("S1", "P1", "FR", "cracked"),
        ("S1", "P2", "FR", "good"), ("S2", "P1", "FR", "good"), ("S2", "P2", "FR", "good"),
    ]  # fmt: skip
