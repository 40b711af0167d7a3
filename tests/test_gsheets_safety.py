"""A sync never damages the team's spreadsheet (Google backend, issue 9).

The team works in the same spreadsheet the product writes: they insert,
delete, move and rename columns and sheets, type notes beside the rows, and
keep sheets of their own. Each test makes those edits with real gspread
against the emulator, syncs again through the real backend, and checks from
the outside that the team's cells survive (on their row, or in ``Archived
notes``) and that the managed tab still holds exactly the data. Expected
values are computed here in plain Python, never with the product's helpers.
"""

from __future__ import annotations

import datetime as dt
import weakref
from pathlib import Path
from typing import Any

import gspread
import kpi_data
import pytest
from helpers import (
    column,
    sheet_meta,
    shipped_template,
    tab,
    templates_with_daily_window,
)
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db
from sheets_sync.errors import DestinationError, ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now
from sheets_sync.tab_templates.model import ColumnType

EPOCH = dt.date(1899, 12, 30)
UNFORMATTED = {
    "value_render_option": "UNFORMATTED_VALUE",
    "date_time_render_option": "SERIAL_NUMBER",
}
ARCHIVE = "Archived notes"
ARCHIVE_HEADER = ["Tab", "Key", "Column", "Value", "Archived at"]
SELLERS = tab(
    "Sellers",
    column("Seller ID"),
    column("Seller"),
    column("Orders", ColumnType.INTEGER),
    column("Since", ColumnType.DATE),
    key=("Seller ID",),
)
HEADERS = list(SELLERS.headers)


def seller_row(n: int, day: int) -> list[Any]:
    """Seller S<n> as the sheet should show it on ``day`` (dates as serial numbers)."""
    since = dt.date(2024, 1, n)
    return [f"S{n}", f"Seller {n}", n * 10 + day, (since - EPOCH).days]


def sellers(day: int, ids: range | None = None) -> TabFrame:
    """Day 0: S1…S5. Day 1: S1 left, S6 arrived, every order count moved."""
    numbers = ids if ids is not None else range(1 + day, 6 + day)
    rows = [(f"S{n}", f"Seller {n}", n * 10 + day, dt.date(2024, 1, n)) for n in numbers]
    return TabFrame(SELLERS, rows)


@pytest.fixture
def sheet(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Trade-In Ops")


SETTINGS_OF: weakref.WeakKeyDictionary[GoogleSheetsBackend, Settings] = weakref.WeakKeyDictionary()
"""The settings each backend below was made from (it keeps only their Sheets part)."""


def backend(emulator: Any, sheet_id: str, templates: Path | None = None) -> GoogleSheetsBackend:
    folder = {"templates_dir": templates} if templates else {}
    settings = Settings.load(environ={}, sheets_api_url=emulator.url, **folder)
    http = RetryingHTTPClient(
        google_session(emulator.url), RetryPolicy(deadline_seconds=30), timeout=10
    )
    made = GoogleSheetsBackend(settings.sheets, sheet_id, http=http)
    SETTINGS_OF[made] = settings
    return made


def values(sheet: gspread.Spreadsheet, title: str) -> list[list[Any]]:
    return sheet.worksheet(title).get_values(**UNFORMATTED)


def managed(table: list[list[Any]], headers: list[str]) -> dict[str, list[Any]]:
    """Each data row's managed cells in template order, by key; every header exactly once."""
    header = table[0]
    assert all(header.count(h) == 1 for h in headers), header
    where = [header.index(h) for h in headers]
    out = {}
    for row in table[1:]:
        padded = list(row) + [""] * (len(header) - len(row))
        out[padded[where[0]]] = [padded[i] for i in where]
    return out


def expected(day: int) -> dict[str, list[Any]]:
    return {f"S{n}": seller_row(n, day) for n in range(1 + day, 6 + day)}


def by_key(table: list[list[Any]], key_col: int, col: int) -> dict[str, Any]:
    """One column of a table, by the key in ``key_col`` (missing cells are empty)."""
    return {r[key_col]: (r[col] if col < len(r) else "") for r in table[1:]}


def kinds_since(before: dict, after: dict) -> dict[str, int]:
    counts = {k: n - before["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
    return {k: n for k, n in counts.items() if n}


READS = {
    "spreadsheets.get": 1,
    "spreadsheets.developerMetadata.search": 1,
    "spreadsheets.values.batchGet": 1,
}


def archived(sheet: gspread.Spreadsheet) -> list[list[Any]]:
    """``Archived notes`` without its time column (checked on its own)."""
    return [row[:4] for row in values(sheet, ARCHIVE)]


# -- columns the team inserts, deletes, moves ---------------------------------------


@pytest.mark.parametrize("position", [0, 2, 4], ids=["first", "middle", "right"])
def test_a_team_column_anywhere_keeps_its_cells_on_their_rows(emulator, sheet, position):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    ws = sheet.worksheet("Sellers")
    notes = ["Notes", *(f"call S{n}" for n in range(1, 6))]
    ws.insert_cols([notes], col=position + 1, value_input_option="RAW")
    gs.write_tabs([sellers(1)])
    table = values(sheet, "Sellers")
    assert table[0] == [*HEADERS[:position], "Notes", *HEADERS[position:]]
    assert managed(table, HEADERS) == expected(1)
    key_col = table[0].index("Seller ID")
    kept_notes = {f"S{n}": f"call S{n}" for n in range(2, 6)} | {"S6": ""}
    assert by_key(table, key_col, position) == kept_notes
    assert archived(sheet) == [ARCHIVE_HEADER[:4], ["Sellers", "S1", "Notes", "call S1"]]
    protected = [p["range"] for p in sheet_meta(sheet, "Sellers").get("protectedRanges", [])]
    covered = {
        c for r in protected for c in range(r.get("startColumnIndex", 0), r["endColumnIndex"])
    }
    assert covered == {0, 1, 2, 3, 4} - {position}  # every managed column, never the team's


@pytest.mark.parametrize(
    ("first", "last"),
    [(3, 4), (4, 4), (2, 2), (2, 4)],
    ids=["last-two", "last", "middle", "all-but-the-key"],
)
def test_managed_columns_the_team_deleted_are_restored(emulator, sheet, first, last):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    ws = sheet.worksheet("Sellers")
    ws.add_cols(1)
    ws.update([["Notes"], ["keep me"]], "E1", raw=True)
    ws.delete_columns(first, last)  # 1-based, inclusive: the grid loses them too
    gs.write_tabs([sellers(1)])
    table = values(sheet, "Sellers")
    assert table[0] == [*HEADERS, "Notes"]
    assert managed(table, HEADERS) == expected(1)
    assert archived(sheet)[1:] == [["Sellers", "S1", "Notes", "keep me"]]
    gs.write_tabs([sellers(1)])  # and the sync after that has nothing left to fix
    assert values(sheet, "Sellers") == table


def test_a_tagged_tab_whose_managed_columns_were_all_deleted_gets_them_back(emulator, sheet):
    """With every managed column gone, the team's columns are never taken for ours."""
    gs = backend(emulator, sheet.id)
    gs.write_tabs([TabFrame(ONBOARDING, [])])
    ws = sheet.worksheet("Onboarding")
    ws.add_cols(2)
    ws.update([["Owner", "Remark"], ["Eve", "first"]], "D1", raw=True)
    ws.delete_columns(1, 3)
    gs.write_tabs([onboarding()])
    since = (dt.date(2024, 5, 2) - EPOCH).days
    assert values(sheet, "Onboarding") == [
        [*ONBOARDING.headers, "Owner", "Remark"],
        ["S1", "shipped", since, "Eve", "first"],
    ]


def test_a_deleted_key_column_stops_the_run_until_the_rows_may_be_rebuilt(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    add_notes(sheet)
    sheet.worksheet("Sellers").delete_columns(1)
    before = values(sheet, "Sellers")
    message = r"^tab 'Sellers': its key column 'Seller ID' was deleted, .* --allow-shrink"
    with pytest.raises(ShrinkError, match=message):
        gs.write_tabs([sellers(1)])
    assert values(sheet, "Sellers") == before
    gs.write_tabs([sellers(1)], WriteOptions(allow_shrink=True))
    table = values(sheet, "Sellers")
    assert table[0] == [*HEADERS, "Notes"]
    assert managed(table, HEADERS) == expected(1)
    notes = archived(sheet)[1:]  # the key column is gone: each note says its old row
    assert [n[1:] for n in notes if n[2] == "Notes"] == [
        [f"row {n + 1}", "Notes", f"call S{n}"] for n in range(1, 6)
    ]


def test_a_managed_column_the_team_moved_stays_there_and_its_values_follow(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    ws = sheet.worksheet("Sellers")
    move = {
        "source": {"sheetId": ws.id, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2},
        "destinationIndex": 4,
    }
    sheet.batch_update({"requests": [{"moveDimension": move}]})
    gs.write_tabs([sellers(1)])
    table = values(sheet, "Sellers")
    assert table[0] == ["Seller ID", "Orders", "Since", "Seller"]
    assert managed(table, HEADERS) == expected(1)


def test_a_header_the_team_retyped_is_written_back(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    sheet.worksheet("Sellers").update([["Nb orders"]], "C1", raw=True)
    gs.write_tabs([sellers(1)])
    assert values(sheet, "Sellers")[0] == HEADERS


# -- sheets: the team's own, renamed ones, adopted ones -------------------------------

ONBOARDING = tab(
    "Onboarding", column("Seller ID"), column("Stage"), column("Since", ColumnType.DATE)
)


@pytest.fixture
def team_onboarding(sheet: gspread.Spreadsheet) -> list[list[Any]]:
    """The team's own sheet that happens to be titled like a managed tab."""
    ws = sheet.add_worksheet("Onboarding", rows=10, cols=5)
    content = [
        ["Name", "Start", "Buddy", "", "Owner"],
        ["Ann", "Monday", "Bob", "", "Eve"],
        ["Cid", "Tuesday", "Dee", "", "Eve"],
    ]
    ws.update(content, "A1", raw=True)
    return content


def onboarding() -> TabFrame:
    return TabFrame(ONBOARDING, [("S1", "shipped", dt.date(2024, 5, 2))])


def test_a_team_sheet_titled_like_a_managed_tab_stops_the_run_untouched(
    emulator, controls, sheet, team_onboarding
):
    start = controls.counters()
    message = (
        r"^sheet 'Onboarding' was not created by sheets-sync .* rename your sheet, or run "
        r"again with --adopt .*\(its content will be replaced; your columns right of C are kept\)$"
    )
    with pytest.raises(DestinationError, match=message):
        backend(emulator, sheet.id).write_tabs([onboarding(), sellers(0)])
    assert kinds_since(start, controls.counters()) == {
        "spreadsheets.get": 1,
        "spreadsheets.developerMetadata.search": 1,
    }
    assert values(sheet, "Onboarding") == team_onboarding
    assert "Sellers" not in [ws.title for ws in sheet.worksheets()]


def test_adopt_takes_the_team_sheet_over_and_keeps_their_columns_right_of_it(
    emulator, sheet, team_onboarding
):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([onboarding()], WriteOptions(adopt=True))
    table = values(sheet, "Onboarding")
    since = (dt.date(2024, 5, 2) - EPOCH).days
    assert [row[:3] for row in table] == [list(ONBOARDING.headers), ["S1", "shipped", since]]
    assert [row[3:] for row in table] == [["", "Owner"], ["", "Eve"]]
    gs.write_tabs([onboarding()])  # managed from now on: no --adopt needed
    assert values(sheet, "Onboarding") == table


def test_a_managed_sheet_the_team_renamed_is_still_synced_and_gets_its_title_back(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    ws = sheet.worksheet("Sellers")
    ws.update_title("Sellers (old)")
    gs.write_tabs([sellers(1)])
    titles = [w.title for w in sheet.worksheets()]
    assert "Sellers (old)" not in titles and titles.count("Sellers") == 1
    assert sheet.worksheet("Sellers").id == ws.id
    assert managed(values(sheet, "Sellers"), HEADERS) == expected(1)


def test_the_first_sheet_adopted_is_found_by_its_tag_after_a_rename(emulator, sheet):
    """Sheet id 0, which Google leaves out of its answers, is a sheet like the others."""
    first = tab("Sheet1", column("Seller ID"), column("Stage"))
    gs = backend(emulator, sheet.id)
    gs.write_tabs([TabFrame(first, [("S1", "new")])], WriteOptions(adopt=True))
    sheet.get_worksheet_by_id(0).update_title("Mine now")
    gs.write_tabs([TabFrame(first, [("S1", "paid")])])
    assert [(w.id, w.title) for w in sheet.worksheets()] == [(0, "Sheet1")]
    assert values(sheet, "Sheet1") == [["Seller ID", "Stage"], ["S1", "paid"]]


def test_a_renamed_managed_sheet_and_a_new_team_sheet_with_its_title_stop_the_run(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    sheet.worksheet("Sellers").update_title("Sellers (old)")
    sheet.add_worksheet("Sellers", rows=5, cols=5)
    with pytest.raises(DestinationError, match="'Sellers \\(old\\)' is sheets-sync's 'Sellers'"):
        gs.write_tabs([sellers(1)])
    assert managed(values(sheet, "Sellers (old)"), HEADERS) == expected(0)


# -- rows that leave: Archived notes and the shrink guard ---------------------------


def add_notes(sheet: gspread.Spreadsheet) -> None:
    """Two team columns right of the data: one with a header, one without."""
    ws = sheet.worksheet("Sellers")
    ws.add_cols(2)
    notes = [["Notes", ""]] + [[f"call S{n}", f"=1+{n}" if n == 1 else ""] for n in range(1, 6)]
    ws.update(notes, "E1", raw=False)  # the team types a formula: it is archived as typed


def test_the_team_cells_of_rows_that_leave_move_to_archived_notes(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    add_notes(sheet)
    report = gs.write_tabs([sellers(1)])
    assert report.tabs[0].archived_notes == 2
    assert archived(sheet) == [
        ARCHIVE_HEADER[:4],
        ["Sellers", "S1", "Notes", "call S1"],
        ["Sellers", "S1", "F", "=1+1"],
    ]
    stamp = values(sheet, ARCHIVE)[1][4]
    assert isinstance(stamp, float) and stamp > (dt.date(2025, 1, 1) - EPOCH).days
    gs.write_tabs([sellers(2)])  # S2 leaves too: appended, nothing before it cleared
    assert archived(sheet)[1:] == [
        ["Sellers", "S1", "Notes", "call S1"],
        ["Sellers", "S1", "F", "=1+1"],
        ["Sellers", "S2", "Notes", "call S2"],
    ]
    assert by_key(values(sheet, "Sellers"), 0, 4) == {
        "S3": "call S3",
        "S4": "call S4",
        "S5": "call S5",
        "S6": "",
        "S7": "",
    }


def test_a_zero_or_unticked_checkbox_on_a_leaving_row_is_archived(emulator, sheet):
    """``0`` and ``FALSE`` are what the team typed: a falsy test would drop them."""
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    ws = sheet.worksheet("Sellers")
    ws.add_cols(2)
    ws.update([["Count", "Checked"], [0, "FALSE"]], "E1", raw=False)  # on S1's row
    report = gs.write_tabs([sellers(1)])  # S1 leaves
    assert report.tabs[0].archived_notes == 2
    assert archived(sheet)[1:] == [
        ["Sellers", "S1", "Count", 0],
        ["Sellers", "S1", "Checked", False],
    ]


@pytest.mark.parametrize("kept", [0, 2], ids=["empty-database", "3-of-5-leave"])
def test_a_sync_that_would_empty_a_keyed_tab_writes_nothing(emulator, controls, sheet, kept):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    add_notes(sheet)
    before = values(sheet, "Sellers")
    start = controls.counters()
    message = rf"^tab 'Sellers': this sync would remove {5 - kept} of its 5 rows .*--allow-shrink$"
    with pytest.raises(ShrinkError, match=message):
        gs.write_tabs([sellers(0, range(1, 1 + kept))])
    assert kinds_since(start, controls.counters()) == READS
    assert values(sheet, "Sellers") == before
    assert ARCHIVE not in [ws.title for ws in sheet.worksheets()]


def test_allow_shrink_removes_the_rows_and_archives_their_notes(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    add_notes(sheet)
    gs.write_tabs([sellers(0, range(1, 1))], WriteOptions(allow_shrink=True))
    assert values(sheet, "Sellers") == [[*HEADERS, "Notes"]]
    notes = [row for row in archived(sheet)[1:] if row[2] == "Notes"]
    assert notes == [["Sellers", f"S{n}", "Notes", f"call S{n}"] for n in range(1, 6)]


def test_a_small_shrink_passes_without_asking(emulator, sheet):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([sellers(0)])
    gs.write_tabs([sellers(0, range(1, 4))])  # 2 of 5 leave: under the 50% default
    assert sorted(managed(values(sheet, "Sellers"), HEADERS)) == ["S1", "S2", "S3"]


def test_the_last_seller_leaving_onboarding_needs_no_allow_shrink(emulator, sheet, loaded):
    """A one-row tab emptied is ordinary, not a broken database; the note is kept."""
    offboard(loaded, "S2")
    gs = backend(emulator, sheet.id)
    sync_now(loaded, SETTINGS_OF[gs], gs, tabs=["Onboarding"])
    ws = sheet.worksheet("Onboarding")
    ws.add_cols(1)
    ws.update([["Follow-up"], ["chase S1"]], f"{ws_letter(ws.col_count)}1", raw=True)
    assert [r[0] for r in values(sheet, "Onboarding")] == ["Seller ID", "S1"]
    offboard(loaded, "S1")
    result = sync_now(loaded, SETTINGS_OF[gs], gs, tabs=["Onboarding"])
    assert len(values(sheet, "Onboarding")) == 1
    assert [t.archived_notes for t in result.tabs] == [1]
    assert archived(sheet)[1:] == [["Onboarding", "S1", "Follow-up", "chase S1"]]


def offboard(engine: Engine, seller_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            schema.sellers.update()
            .where(schema.sellers.c.seller_id == seller_id)
            .values(status="offboarded")
        )


# -- the engine's warning, dates in keys, migration (real KPI Daily) ------------------

START = dt.date(2025, 3, 1)
LAST_DAY = dt.date(2025, 3, 20)


@pytest.fixture
def kpi_db(db_url: str) -> Engine:
    engine = make_engine(db_url)
    kpi_data.load(engine, kpi_data.random_orders(150, START, 21))
    return engine


@pytest.fixture
def week_window(tmp_path: Path) -> Path:
    """The shipped templates with KPI Daily's window cut to 7 days, so days leave it."""
    return templates_with_daily_window(tmp_path / "templates", 7)


def daily_sync(engine: Engine, gs: GoogleSheetsBackend, day: dt.date):
    return sync_now(engine, SETTINGS_OF[gs], gs, tabs=["KPI Daily"], as_of=day)


def note_every_row(sheet: gspread.Spreadsheet, title: str) -> int:
    """A "Checked" column right of the data, one note per row; the column's index."""
    ws = sheet.worksheet(title)
    rows = ws.get_values()
    ws.add_cols(1)
    col = ws.col_count
    ws.update([["Checked"]] + [[f"ok {r[0]}"] for r in rows[1:]], f"{ws_letter(col)}1", raw=True)
    return col - 1


def ws_letter(col: int) -> str:
    return gspread.utils.rowcol_to_a1(1, col).rstrip("1")


def test_the_run_warns_how_many_team_cells_moved_and_keys_read_as_dates(
    emulator, sheet, kpi_db, week_window
):
    daily_sync(kpi_db, backend(emulator, sheet.id, week_window), LAST_DAY - dt.timedelta(days=2))
    col = note_every_row(sheet, "KPI Daily")
    first_day = values(sheet, "KPI Daily")[1][0]
    result = daily_sync(kpi_db, backend(emulator, sheet.id, week_window), LAST_DAY)
    moved = [row for row in archived(sheet)[1:] if row[0] == "KPI Daily"]
    assert moved and all(row[2] == "Checked" for row in moved)
    assert f"{len(moved)} team cell(s) moved to 'Archived notes' (rows that left KPI Daily)" in (
        result.warnings
    )
    first = (EPOCH + dt.timedelta(days=first_day)).isoformat()
    assert any(row[1].startswith(first + " · ") for row in moved), moved
    left = {row[1] for row in moved}
    still = by_key(values(sheet, "KPI Daily"), 0, col)
    assert all(v.startswith("ok ") for v in still.values() if v)
    assert len(left) == len(moved)


def test_a_run_from_an_empty_database_over_a_populated_sheet_writes_nothing(
    emulator, controls, sheet, kpi_db, tmp_path
):
    daily_sync(kpi_db, backend(emulator, sheet.id), LAST_DAY)
    before = values(sheet, "KPI Daily")
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    init_db(empty)
    start = controls.counters()
    message = rf"^tab 'KPI Daily': this sync would remove {len(before) - 1} of its"
    with pytest.raises(ShrinkError, match=message):
        daily_sync(empty, backend(emulator, sheet.id), LAST_DAY)
    assert kinds_since(start, controls.counters()) == READS
    assert values(sheet, "KPI Daily") == before
    with empty.connect() as conn:
        status = conn.execute(schema.sync_runs.select()).one().status
    assert status == "failed"


def strip_tags(sheet: gspread.Spreadsheet) -> None:
    """What a spreadsheet synced by a version before the tags looks like."""
    sheet.batch_update(
        {
            "requests": [
                {"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": lookup}}}
                for lookup in (
                    {"metadataKey": "sheets-sync.tab"},
                    {"metadataKey": "sheets-sync.column"},
                )
            ]
        }
    )


def tags(sheet: gspread.Spreadsheet) -> list[tuple[str, str]]:
    body = {"dataFilters": [{"developerMetadataLookup": {"locationType": "SHEET"}}]}
    url = f"{gspread.urls.SPREADSHEET_URL % sheet.id}/developerMetadata:search"
    answer = sheet.client.request("post", url, json=body).json()
    found = [m["developerMetadata"] for m in answer.get("matchedDeveloperMetadata", [])]
    return sorted((m["metadataKey"], m["metadataValue"]) for m in found)


def test_a_spreadsheet_synced_before_the_tags_is_migrated_silently(emulator, sheet, kpi_db):
    daily_sync(kpi_db, backend(emulator, sheet.id), LAST_DAY - dt.timedelta(days=1))
    strip_tags(sheet)
    assert tags(sheet) == []
    ws = sheet.worksheet("KPI Daily")
    keys = [r[0] for r in ws.get_values(**UNFORMATTED)[1:]]
    ws.insert_cols([["Comment", *(f"c{k}" for k in keys)]], col=3, value_input_option="RAW")
    daily_sync(kpi_db, backend(emulator, sheet.id), LAST_DAY)
    template = shipped_template("kpi_daily")
    want = {("sheets-sync.tab", t) for t in ["KPI Daily", *(p.title for p in template.pivots)]}
    assert want <= set(tags(sheet))
    table = values(sheet, "KPI Daily")
    assert table[0][2] == "Comment" and table[0].count("Comment") == 1
    headers = list(template.headers)
    assert [h for h in table[0] if h != "Comment"] == headers
    comments = {r[2] for r in table[1:] if len(r) > 2 and r[2]}
    assert comments and comments <= {f"c{k}" for k in keys}
    assert all(r[2] in ("", f"c{r[0]}") for r in table[1:])
