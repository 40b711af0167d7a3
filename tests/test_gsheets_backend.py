"""The Google backend end to end: real gspread over HTTP against the emulator.

Frames come from the real KPI queries over a small hand-built dataset (one
SQLite file per module), so the tabs are the shipped templates' tabs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import gspread
import kpi_data
import pytest
from helpers import INJECTION, TEMPLATES, FakeClock, column, shipped_template, tab
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.cells import same_cell, to_cell
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.plan import PIVOT_SHEET_COLS, PIVOT_SHEET_ROWS
from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.cli.sync_commands import print_summary
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db
from sheets_sync.errors import DestinationError, LimitError, TransientSheetsAPIError
from sheets_sync.frame import TabFrame
from sheets_sync.jobs import runs
from sheets_sync.jobs.run import sync_now
from sheets_sync.limits import GOOGLE_MAX_CELLS
from sheets_sync.tab_templates.model import ColumnType, TabTemplate

START = dt.date(2025, 3, 1)
LAST_DAY = dt.date(2025, 3, 20)


@pytest.fixture(scope="module")
def kpi_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('kpi') / 'tradein.db'}")
    init_db(engine)
    kpi_data.load(engine, kpi_data.random_orders(400, START, 21))
    return engine


@pytest.fixture(scope="module")
def daily(kpi_engine: Engine) -> Callable[[dt.date], TabFrame]:
    template = shipped_template("kpi_daily")

    def compute(day: dt.date, window_days: int | None = None) -> TabFrame:
        tab = dataclasses.replace(template, window_days=window_days or template.window_days)
        return kpi_data.frame(kpi_engine, tab, as_of=day)

    return compute


@pytest.fixture(scope="module")
def frames(kpi_engine: Engine, daily) -> list[TabFrame]:
    weekly = kpi_data.frame(kpi_engine, shipped_template("kpi_weekly"), as_of=LAST_DAY)
    return [daily(LAST_DAY), weekly]


@pytest.fixture
def sheet(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Trade-In Ops")


def backend(
    emulator, sheet_id: str, deadline: float = 30.0, cap: int = 2_000_000
) -> GoogleSheetsBackend:
    """A backend whose retries sleep on a fake clock (tests never wait)."""
    settings = Settings.load(
        environ={},
        sheets_api_url=emulator.url,
        retry_deadline_seconds=deadline,
        payload_cap_bytes=cap,
    )
    clock = FakeClock()
    http = RetryingHTTPClient(
        google_session(emulator.url),
        RetryPolicy(deadline_seconds=deadline),
        timeout=10,
        clock=clock,
        sleep=clock.sleep,
        draw=lambda: 1.0,
    )
    return GoogleSheetsBackend(settings.sheets, sheet_id, http=http)


def expected(frame: TabFrame) -> list[list[object]]:
    return [list(frame.headers)] + [[to_cell(v) for v in row] for row in frame.rows]


def assert_same_content(got: list[list[object]], want: list[list[object]]) -> None:
    assert len(got) == len(want)
    for number, (have, need) in enumerate(zip(got, want, strict=True), start=1):
        padded = list(have) + [""] * (len(need) - len(have))
        assert all(same_cell(h, n) for h, n in zip(padded, need, strict=False)), (
            number,
            have,
            need,
        )


def test_tabs_hold_the_same_content_as_the_workbook_backend(
    emulator, sheet, frames, tmp_path: Path
):
    GoogleSheetsBackend(
        Settings.load(environ={}, sheets_api_url=emulator.url).sheets, sheet.id
    ).write_tabs(frames)
    workbook = XlsxBackend(tmp_path / "ops.xlsx")
    workbook.write_tabs(frames)
    google = GoogleSheetsBackend(
        Settings.load(environ={}, sheets_api_url=emulator.url).sheets, sheet.id
    )
    for frame in frames:
        from_xlsx = [[to_cell(v) for v in row] for row in workbook.read_tab(frame.title)]
        assert_same_content(google.read_tab(frame.title), from_xlsx)
        assert len(frame.rows) > 10


def test_a_full_sync_is_a_small_constant_number_of_requests(emulator, controls, sheet, frames):
    many = frames + [
        dataclasses.replace(
            f, template=dataclasses.replace(f.template, title=f"{f.title} copy", pivots=())
        )
        for f in frames
    ]
    start = controls.counters()
    report = backend(emulator, sheet.id).write_tabs(many)
    counts = kinds_since(start, controls.counters())
    assert counts == {
        "spreadsheets.get": 1,
        "spreadsheets.developerMetadata.search": 1,
        "spreadsheets.batchUpdate": 1,
        "spreadsheets.values.batchUpdate": 1,
    }
    non_empty = sum(1 for f in many for row in expected(f) for cell in row if cell != "")
    assert report.api_calls == 4 and report.cells_written == non_empty  # NULLs need no write
    titles = [ws.title for ws in sheet.worksheets()]
    assert {f.title for f in many} | {p.title for f in frames for p in f.template.pivots} <= set(
        titles
    )
    start = controls.counters()
    backend(emulator, sheet.id).write_tabs(many)
    rerun = kinds_since(start, controls.counters())  # nothing changed: no value write
    assert rerun == {
        "spreadsheets.get": 1,
        "spreadsheets.developerMetadata.search": 1,
        "spreadsheets.values.batchGet": 1,
        "spreadsheets.batchUpdate": 1,
    }


READS = {"spreadsheets.get": 1, "spreadsheets.developerMetadata.search": 1}
"""The reads a sync makes before writing on a spreadsheet that has no managed tab yet."""


def kinds_since(before: dict, after: dict) -> dict[str, int]:
    counts = {k: n - before["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
    return {k: n for k, n in counts.items() if n}


def test_next_day_writes_cells_within_1_2x_of_those_that_truly_changed(
    emulator, controls, sheet, daily
):
    today, tomorrow = daily(LAST_DAY - dt.timedelta(days=1)), daily(LAST_DAY)
    gs = backend(emulator, sheet.id)
    gs.write_tabs([today])
    before = gs.read_tab(today.title)
    written_before = controls.counters()["cells_written"]
    report = gs.write_tabs([tomorrow])
    written = controls.counters()["cells_written"] - written_before
    assert_same_content(gs.read_tab(today.title), expected(tomorrow))
    changed = truly_changed(before, expected(tomorrow), tomorrow.template.key_indexes)
    assert 0 < changed <= written <= 1.2 * changed
    assert report.cells_written == written
    assert report.cells_written < tomorrow.cell_count / 5


def truly_changed(
    before: list[list[object]], after: list[list[object]], key: tuple[int, ...]
) -> int:
    """Cells whose value differs for the same key, plus every cell of a new key."""
    old = {tuple(r[i] for i in key): r for r in before[1:]}
    count = 0
    for row in after[1:]:
        was = old.get(tuple(row[i] for i in key))
        count += (
            len(row)
            if was is None
            else sum(not same_cell(w, n) for w, n in zip(was + [""] * len(row), row, strict=False))
        )
    return count


def test_team_columns_stay_with_their_row_through_resort_and_churn(emulator, sheet, daily):
    today, tomorrow = daily(LAST_DAY - dt.timedelta(days=3), 7), daily(LAST_DAY, 7)
    gs = backend(emulator, sheet.id)
    gs.write_tabs([today])
    ws = sheet.worksheet(today.title)
    width = today.width
    ws.add_cols(1)
    rows = ws.get_values(value_render_option="UNFORMATTED_VALUE")
    key = today.template.key_indexes
    notes = {tuple(r[i] for i in key): f"note {n}" for n, r in enumerate(rows[1:])}
    resorted = sorted(
        rows[1:], key=lambda r: (str(r[2]), -r[0])
    )  # the team sorts by seller, newest first
    team = [[*r[:width], notes[tuple(r[i] for i in key)]] for r in resorted]
    ws.update(team, "A2", raw=True)
    gs.write_tabs([tomorrow])
    after = ws.get_values(value_render_option="UNFORMATTED_VALUE")
    kept = {tuple(r[i] for i in key) for r in after[1:]} & set(notes)
    assert kept and len(kept) < len(notes)  # some keys left the window, some stayed
    for row in after[1:]:
        k = tuple(row[i] for i in key)
        assert (row[width] if len(row) > width else "") == notes.get(k, "")
    by_key = {tuple(r[i] for i in key): r[:width] for r in expected(tomorrow)[1:]}
    assert sorted(by_key) == sorted(tuple(r[i] for i in key) for r in after[1:])
    for row in after[1:]:
        assert all(
            same_cell(h, n)
            for h, n in zip(row[:width], by_key[tuple(row[i] for i in key)], strict=True)
        )


@pytest.fixture
def seller_template() -> TabTemplate:
    return tab(
        "Sellers",
        column("Seller ID"),
        column("Seller"),
        column("Since", ColumnType.DATE),
        key=("Seller ID",),
    )


def test_text_that_looks_like_a_formula_stays_literal(emulator, sheet, seller_template):
    frame = TabFrame(seller_template, [("S1", INJECTION, dt.date(2024, 1, 2)), ("S2", "+1", None)])
    backend(emulator, sheet.id).write_tabs([frame])
    ws = sheet.worksheet("Sellers")
    assert ws.get_values(value_render_option="UNFORMATTED_VALUE")[1:] == [
        ["S1", INJECTION, 45293],
        ["S2", "+1", ""],
    ]
    assert ws.acell("C2").value == "2024-01-02"


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        (
            [("S1", "x" * 50_001, None)],
            3,
            "tab 'Sellers': the cell in row 2, column 'Seller' has 50,001 characters, "
            "Google Sheets allows at most 50,000 per cell",
        ),
        ([], 18_279, "tab 'Wide': 18,279 columns exceed Google Sheets's 18,278 columns per sheet"),
    ],
    ids=["cell", "columns"],
)
def test_limits_of_each_tab_fail_before_any_request(
    emulator, controls, sheet, seller_template, rows, columns, message
):
    template = seller_template if columns == 3 else _wide(columns)
    before = controls.counters()["requests"]
    with pytest.raises(LimitError, match=message):
        backend(emulator, sheet.id).write_tabs([TabFrame(template, rows)])
    assert controls.counters()["requests"] == before


def _wide(columns: int) -> TabTemplate:
    return tab("Wide", *(column(f"C{i}", ColumnType.INTEGER) for i in range(columns)), filter=False)


def test_frames_over_the_cell_total_fail_after_reading_never_writing(emulator, controls, sheet):
    start = controls.counters()
    with pytest.raises(LimitError, match=r"would hold 10,031,000 cells \(26,000 of them"):
        backend(emulator, sheet.id).write_tabs(
            [TabFrame(_wide(5_000), [tuple(range(5_000))] * 2_000)]
        )
    assert kinds_since(start, controls.counters()) == READS


def test_a_spreadsheet_too_full_for_the_sync_fails_before_any_write(
    emulator, controls, sheet, daily
):
    sheet.add_worksheet("Archive", rows=99_720, cols=100)  # with Sheet1: 9,998,000 cells
    start = controls.counters()
    frame = daily(LAST_DAY)
    # The other sheets count too, and so do KPI Daily's two new pivot sheets (1,000 × 26 each).
    outside = 9_998_000 + 2 * 26_000
    total = f"{outside + frame.cell_count:,}"
    over = rf"would hold {total} cells \({outside:,} of them outside the synced tabs' data\), over"
    with pytest.raises(LimitError, match=over + ".*the biggest tab is 'KPI Daily'.*delete unused"):
        backend(emulator, sheet.id).write_tabs([frame])
    assert kinds_since(start, controls.counters()) == READS  # read, never wrote


def test_an_unshared_spreadsheet_names_the_fix(emulator, controls, sheet, daily):
    controls.forbid(sheet.id)
    with pytest.raises(DestinationError, match=r"not accessible \(403\): share it as Editor"):
        backend(emulator, sheet.id).write_tabs([daily(LAST_DAY)])


def test_a_429_storm_on_every_call_completes(emulator, controls, sheet, frames):
    controls.fault(kind="429", times=12, retry_after=2)
    backend(emulator, sheet.id, deadline=600).write_tabs(frames)
    assert_same_content(backend(emulator, sheet.id).read_tab(frames[0].title), expected(frames[0]))
    assert controls.counters()["by_status"]["429"] == 12


@pytest.fixture
def synced_db(db_url: str) -> Engine:
    engine = make_engine(db_url)
    kpi_data.load(engine, kpi_data.random_orders(150, START, 21))
    return engine


def sync(engine: Engine, gs: GoogleSheetsBackend, day: dt.date):
    settings = dataclasses.replace(Settings.load(environ={}), sheets=gs.sheets)
    return sync_now(engine, settings, gs, tabs=["KPI Daily"], as_of=day)


def last_run(engine: Engine) -> dict:
    with engine.connect() as conn:
        run_id = (
            conn.execute(schema.sync_runs.select().order_by(schema.sync_runs.c.queued_at.desc()))
            .first()
            .run_id
        )
    return runs.get_run(engine, run_id)


def test_a_failing_structural_batch_leaves_the_old_content_and_a_failed_run(
    emulator, controls, sheet, synced_db
):
    sync(synced_db, backend(emulator, sheet.id), LAST_DAY - dt.timedelta(days=1))
    before = backend(emulator, sheet.id).read_tab("KPI Daily")
    controls.fault(kind="500", times=100, request_kind="spreadsheets.batchUpdate")
    with pytest.raises(TransientSheetsAPIError):
        sync(synced_db, backend(emulator, sheet.id), LAST_DAY)
    assert backend(emulator, sheet.id).read_tab("KPI Daily") == before
    run = last_run(synced_db)
    assert run["status"] == "failed" and "500" in run["error"]


def test_a_connection_dropped_during_value_writes_then_a_rerun_converges(
    emulator, controls, sheet, synced_db, daily
):
    sync(synced_db, backend(emulator, sheet.id), LAST_DAY - dt.timedelta(days=10))
    controls.fault(kind="drop", times=4, request_kind="spreadsheets.values.batchUpdate")
    with pytest.raises(TransientSheetsAPIError):
        sync(synced_db, backend(emulator, sheet.id, deadline=5, cap=10_000), LAST_DAY)
    assert last_run(synced_db)["status"] == "failed"
    result = sync(synced_db, backend(emulator, sheet.id, cap=10_000), LAST_DAY)
    want = expected(kpi_data.frame(synced_db, shipped_template("kpi_daily"), as_of=LAST_DAY))
    got = backend(emulator, sheet.id).read_tab("KPI Daily")
    assert_same_content(got, want)
    assert result.cells_written < len(want) * len(want[0])
    assert last_run(synced_db)["status"] == "succeeded"


def test_pivots_named_range_and_filter_cover_exactly_the_data_after_churn(emulator, sheet, daily):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([daily(LAST_DAY - dt.timedelta(days=3), 7)])
    frame = daily(LAST_DAY, 7)
    gs.write_tabs([frame])
    fields = "sheets(properties(sheetId,title),basicFilter,protectedRanges,data.rowData.values.pivotTable),namedRanges"
    meta = sheet.fetch_sheet_metadata(params={"fields": fields, "includeGridData": "true"})
    sheets = {s["properties"]["title"]: s for s in meta["sheets"]}
    data_id = sheets[frame.title]["properties"]["sheetId"]
    exact = {
        "sheetId": data_id,
        "startRowIndex": 0,
        "endRowIndex": len(frame.rows) + 1,
        "startColumnIndex": 0,
        "endColumnIndex": frame.width,
    }
    assert sheets[frame.title]["basicFilter"]["range"] == exact
    named = next(r for r in meta["namedRanges"] if r["name"] == "KPI_Daily")
    assert named["range"] == {**exact, "startRowIndex": 1}
    assert frame.template.pivots
    for spec in frame.template.pivots:
        pivot = sheets[spec.title]["data"][0]["rowData"][0]["values"][0]["pivotTable"]
        assert pivot["source"] == exact
    protected = sheets[frame.title]["protectedRanges"]
    assert [(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"]) for p in protected] == [
        (0, frame.width)
    ]


def test_a_structural_batch_that_failed_once_is_re_planned_not_replayed(
    emulator, controls, sheet, daily
):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([daily(LAST_DAY - dt.timedelta(days=3), 7)])
    frame = daily(LAST_DAY, 7)
    controls.fault(kind="500", times=1, request_kind="spreadsheets.batchUpdate")
    start = controls.counters()
    gs.write_tabs([frame])
    assert_same_content(gs.read_tab(frame.title), expected(frame))
    counts = kinds_since(start, controls.counters())
    assert (
        counts["spreadsheets.get"] == 2 and counts["spreadsheets.batchUpdate"] == 2
    )  # read again, new plan


@pytest.fixture
def truncatable_settings(tmp_path: Path) -> Settings:
    """The shipped templates, with KPI Daily allowed to lose its oldest rows to fit."""
    tabs = tmp_path / "templates" / "tabs"
    shutil.copytree(TEMPLATES / "tabs", tabs)
    with (tabs / "kpi_daily.yaml").open("a") as yaml:
        yaml.write("truncate_to_limit: true\n")
    return Settings.load(environ={}, templates_dir=tmp_path / "templates")


def test_a_tab_cut_to_fit_beside_other_sheets_is_reported_with_the_rows_it_got(
    emulator, sheet, synced_db, truncatable_settings, capsys
):
    """Only the backend sees the other sheets: the engine's frame is not what got written."""
    full = kpi_data.frame(synced_db, shipped_template("kpi_daily"), as_of=LAST_DAY)
    keep = 10
    assert len(full.rows) > keep
    pivots = len(full.template.pivots) * PIVOT_SHEET_ROWS * PIVOT_SHEET_COLS  # new, default size
    room = (keep + 1) * full.width + pivots  # exactly KPI Daily's header and newest rows
    archive = GOOGLE_MAX_CELLS - 1000 * 26 - room  # Sheet1 is 1000 × 26
    sheet.add_worksheet("Archive", rows=archive // 100, cols=100)
    if archive % 100:
        sheet.add_worksheet("Archive tail", rows=archive % 100, cols=1)
    gs = backend(emulator, sheet.id)

    result = sync_now(synced_db, truncatable_settings, gs, tabs=["KPI Daily"], as_of=LAST_DAY)

    daily_tab = result.tabs[0]
    assert (daily_tab.title, daily_tab.rows, daily_tab.truncated_from) == (
        "KPI Daily",
        keep,
        len(full.rows),
    )
    assert result.rows_written == keep  # Google computes the pivot sheets' rows itself
    got = gs.read_tab("KPI Daily")
    assert len(got) == keep + 1
    newest = sorted((to_cell(r[0]) for r in full.rows), reverse=True)[:keep]
    assert sorted((r[0] for r in got[1:]), reverse=True) == newest
    run = last_run(synced_db)
    assert (run["status"], run["rows_written"]) == ("succeeded", keep)
    assert run["cells_written"] == result.cells_written
    print_summary(result)
    lines = capsys.readouterr().out.splitlines()
    table = [[c.strip() for c in line.split("│")] for line in lines if line.count("│") > 3]
    rows_column = {cells[1]: cells[2] for cells in table}
    assert rows_column["KPI Daily"] == f"{keep} (cut from {len(full.rows)})"
    assert rows_column["Total"] == str(keep)
