"""Charts declared in templates, drawn by the Google backend through real gspread on the
emulator: the chart kinds, source ranges exactly over the chart tables after the data
churns, nothing re-sent when nothing changed, the team's own charts left alone, and a
chart the template dropped deleted."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from typing import Any

import gspread
import pytest
from fixtures_sync import LAST_DAY
from helpers import TEMPLATES, column, tab
from openpyxl import load_workbook

from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.charts import covers, data_title
from sheets_sync.backends.gsheets.state import CHART_KEY
from sheets_sync.config import Settings
from sheets_sync.errors import DestinationError
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now
from sheets_sync.tab_templates.model import (
    Aggregate,
    Axis,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnType,
    LastPeriods,
    PeriodUnit,
    SeriesSpec,
    SeriesType,
    TabTemplate,
)

WEEKLY = tab(
    "Weekly",
    column("Week"),
    column("Country"),
    column("Orders", ColumnType.INTEGER),
    column("Paid", ColumnType.MONEY),
    key=("Week", "Country"),
)
LAST_4 = ChartFilter(LastPeriods("Week", 4, PeriodUnit.WEEKS))


def chart(title: str, kind: ChartType, row: int, **fields: Any) -> ChartSpec:
    fields.setdefault("series", (SeriesSpec("Orders"),))
    return ChartSpec(
        title=title, type=kind, x="Week", position=ChartPosition(row, 1), source="Weekly",
        aggregate=Aggregate.SUM, filter=LAST_4, **fields,
    )  # fmt: skip


CHARTS = (
    chart("Orders by market", ChartType.COLUMN, 3, split_by="Country"),
    chart("Stacked", ChartType.STACKED_COLUMN, 25, split_by="Country"),
    chart("Paid", ChartType.LINE, 47, series=(SeriesSpec("Paid"),)),
    chart(
        "Orders and paid",
        ChartType.COMBO,
        69,
        series=(SeriesSpec("Orders"), SeriesSpec("Paid", Axis.RIGHT, SeriesType.LINE)),
    ),
    chart("Bars", ChartType.BAR, 91),
    dataclasses.replace(chart("Share", ChartType.PIE, 113), x="Country", filter=ChartFilter()),
)
BOARD = tab("Board", column("Figure"), column("Value", ColumnType.INTEGER), charts=CHARTS)


def weekly_rows(first: int, last: int) -> list[tuple[Any, ...]]:
    return [
        (f"2026-W{w:02d}", country, w * 3 + k, w * 100.5 + k)
        for w in range(first, last + 1)
        for k, country in enumerate(("FR", "DE", "ES"))
    ]


def frames(rows: list[tuple[Any, ...]], board: TabTemplate = BOARD) -> list[TabFrame]:
    return [TabFrame(WEEKLY, rows), TabFrame(board, [("Orders", 1)])]


@pytest.fixture
def sheet(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Charts")


def write(emulator: Any, sheet: gspread.Spreadsheet, tabs: list[TabFrame]) -> None:
    settings = Settings.load(environ={}, sheets_api_url=emulator.url)
    GoogleSheetsBackend(settings.sheets, sheet.id).write_tabs(tabs, WriteOptions(allow_shrink=True))


def charts_by_title(sheet: gspread.Spreadsheet) -> dict[str, dict[str, Any]]:
    meta = sheet.fetch_sheet_metadata({"fields": "sheets(properties(title,sheetId),charts)"})
    return {
        c["spec"]["title"]: {**c, "host": s["properties"]["title"]}
        for s in meta["sheets"]
        for c in s.get("charts", [])
    }


def ranges(embedded: dict[str, Any]) -> list[dict[str, Any]]:
    spec = embedded["spec"]
    if "pieChart" in spec:
        parts = [spec["pieChart"]["domain"], spec["pieChart"]["series"]]
    else:
        basic = spec["basicChart"]
        parts = [basic["domains"][0]["domain"], *(s["series"] for s in basic["series"])]
    return [p["sourceRange"]["sources"][0] for p in parts]


def table(sheet: gspread.Spreadsheet, embedded: dict[str, Any]) -> list[list[Any]]:
    """The cells the chart's source ranges cover, column by column, read back."""
    values = sheet.worksheet(data_title("Board")).get_all_values(
        value_render_option=gspread.utils.ValueRenderOption.unformatted
    )
    out = []
    for rng in ranges(embedded):
        c = rng.get("startColumnIndex", 0)
        rows = range(rng.get("startRowIndex", 0), rng["endRowIndex"])
        out.append([values[r][c] if r < len(values) and c < len(values[r]) else "" for r in rows])
    return out


def by_hand(rows: list[tuple[Any, ...]], weeks: int) -> dict[str, dict[str, int]]:
    """Orders per week and country over the last ``weeks`` weeks, summed by hand."""
    latest = sorted({r[0] for r in rows})[-weeks:]
    out: dict[str, dict[str, int]] = {}
    for week, country, orders, _ in rows:
        if week in latest:
            out.setdefault(week, {}).setdefault(country, 0)
            out[week][country] += orders
    return out


def kinds(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    counts = {k: n - before["batch_requests"].get(k, 0) for k, n in after["batch_requests"].items()}
    return {k: n for k, n in counts.items() if n}


def assert_orders_by_market(sheet: gspread.Spreadsheet, rows: list[tuple[Any, ...]]) -> None:
    drawn = charts_by_title(sheet)["Orders by market"]
    expected = by_hand(rows, 4)
    weeks = sorted(expected)
    got = table(sheet, drawn)
    assert got[0] == ["Week", *weeks]
    assert got[1:] == [[c, *(expected[w].get(c, "") for w in weeks)] for c in ("DE", "ES", "FR")]
    end = {r["endRowIndex"] for r in ranges(drawn)}
    assert end == {len(weeks) + 1}  # header + exactly the data rows


def test_each_chart_kind_is_drawn_over_its_table(emulator, sheet) -> None:
    rows = weekly_rows(1, 10)
    write(emulator, sheet, frames(rows))
    drawn = charts_by_title(sheet)
    assert set(drawn) == {c.title for c in CHARTS}
    assert {d["host"] for d in drawn.values()} == {"Board"}
    basic = {t: d["spec"].get("basicChart", {}) for t, d in drawn.items()}
    assert basic["Orders by market"]["chartType"] == "COLUMN"
    assert "stackedType" not in basic["Orders by market"]
    assert basic["Stacked"]["stackedType"] == "STACKED"
    assert basic["Paid"]["chartType"] == "LINE"
    combo = basic["Orders and paid"]["series"]
    assert [(s.get("type"), s["targetAxis"]) for s in combo] == [
        ("COLUMN", "LEFT_AXIS"), ("LINE", "RIGHT_AXIS"),
    ]  # fmt: skip
    assert {s["targetAxis"] for s in basic["Bars"]["series"]} == {"BOTTOM_AXIS"}
    assert "pieChart" in drawn["Share"]["spec"]
    assert_orders_by_market(sheet, rows)
    pie = table(sheet, drawn["Share"])
    shares = {c: sum(r[2] for r in rows if r[1] == c) for c in ("DE", "ES", "FR")}
    assert pie == [list(shares), list(shares.values())]  # no header row in a pie's ranges
    anchor = drawn["Paid"]["position"]["overlayPosition"]
    assert anchor["anchorCell"]["rowIndex"] == 47 and anchor["widthPixels"] == 600
    hidden = sheet.fetch_sheet_metadata({"fields": "sheets.properties(title,hidden)"})
    props = {s["properties"]["title"]: s["properties"] for s in hidden["sheets"]}
    assert props[data_title("Board")].get("hidden") is True


def test_ranges_follow_the_data_as_it_churns_and_nothing_unchanged_is_resent(
    emulator, controls, sheet
) -> None:
    write(emulator, sheet, frames(weekly_rows(1, 10)))
    ids = {t: d["chartId"] for t, d in charts_by_title(sheet).items()}
    # Next day: a new week arrives, the oldest leave, one market stops for the new week.
    churned = [r for r in weekly_rows(5, 11) if not (r[0] == "2026-W11" and r[1] == "ES")]
    before = controls.counters()
    write(emulator, sheet, frames(churned))
    sent = kinds(before, controls.counters())
    assert not {"addChart", "deleteEmbeddedObject", "updateChartSpec"} & set(sent)  # same shape
    assert sent.get("updateCells") == 1  # the chart tables, in the one structural batch
    assert {t: d["chartId"] for t, d in charts_by_title(sheet).items()} == ids
    assert_orders_by_market(sheet, churned)
    assert table(sheet, charts_by_title(sheet)["Orders by market"])[2][-1] == ""  # ES, W11
    # Fewer weeks than the window: the ranges shrink with the table.
    few = weekly_rows(10, 11)
    before = controls.counters()
    write(emulator, sheet, frames(few))
    assert_orders_by_market(sheet, few)
    assert kinds(before, controls.counters())["updateChartSpec"] == len(CHARTS) - 1  # not the pie
    before = controls.counters()
    write(emulator, sheet, frames(few))
    after = controls.counters()
    resent = kinds(before, after)
    chart_kinds = {"addChart", "updateChartSpec", "updateEmbeddedObjectPosition", "updateCells"}
    assert not chart_kinds & set(resent), resent
    assert kinds_by_endpoint(before, after) == {  # charts come with the reads a sync makes
        "spreadsheets.get": 1,
        "spreadsheets.developerMetadata.search": 1,
        "spreadsheets.values.batchGet": 1,
        "spreadsheets.batchUpdate": 1,
    }


def test_a_chart_added_by_a_person_is_left_alone(emulator, sheet) -> None:
    rows = weekly_rows(1, 6)
    write(emulator, sheet, frames(rows))
    board_id = sheet.worksheet("Board").id
    mine_id = sheet.add_worksheet("Mine", 10, 3).id  # the person's own data
    data = {"sheetId": mine_id, "startRowIndex": 0, "endRowIndex": 5,
            "startColumnIndex": 2, "endColumnIndex": 3}  # fmt: skip
    mine = {
        "spec": {
            "title": "Paid",  # the same title as one of ours
            "basicChart": {"chartType": "AREA", "series": [{"series": {"sourceRange": {"sources": [data]}}}]},
        },
        "position": {"overlayPosition": {"anchorCell": {"sheetId": board_id, "rowIndex": 0}}},
    }  # fmt: skip
    reply = sheet.batch_update({"requests": [{"addChart": {"chart": mine}}]})
    hand_made = reply["replies"][0]["addChart"]["chart"]
    write(emulator, sheet, frames(weekly_rows(2, 7), dataclasses.replace(BOARD, charts=())))
    meta = sheet.fetch_sheet_metadata({"fields": "sheets(properties.title,charts)"})
    left = [c for s in meta["sheets"] for c in s.get("charts", [])]
    assert left == [hand_made]  # ours deleted (no longer declared), the person's untouched
    titles = [w.title for w in sheet.worksheets()]
    assert data_title("Board") not in titles  # no charts left: no chart tables either
    tags = sheet.client.request(
        "post",
        f"{gspread.urls.SPREADSHEETS_API_V4_BASE_URL}/{sheet.id}/developerMetadata:search",
        json={"dataFilters": [{"developerMetadataLookup": {"metadataKey": CHART_KEY}}]},
    ).json()
    assert tags == {}


def test_a_dropped_chart_goes_a_deleted_one_comes_back_and_a_moved_one_moves(
    emulator, controls, sheet
) -> None:
    rows = weekly_rows(1, 6)
    write(emulator, sheet, frames(rows))
    drawn = charts_by_title(sheet)
    gone = drawn["Bars"]["chartId"]
    sheet.batch_update({"requests": [{"deleteEmbeddedObject": {"objectId": gone}}]})
    moved = dataclasses.replace(CHARTS[2], position=ChartPosition(47, 4), width=700)
    kept = (CHARTS[0], moved, CHARTS[4])
    before = controls.counters()
    write(emulator, sheet, frames(rows, dataclasses.replace(BOARD, charts=kept)))
    sent = kinds(before, controls.counters())
    after = charts_by_title(sheet)
    assert set(after) == {"Orders by market", "Paid", "Bars"}
    assert after["Bars"]["chartId"] == gone  # drawn again under its tag
    position = after["Paid"]["position"]["overlayPosition"]
    assert (position["anchorCell"]["columnIndex"], position["widthPixels"]) == (4, 700)
    assert sent["deleteEmbeddedObject"] == 3 and sent["addChart"] == 1
    assert sent["updateEmbeddedObjectPosition"] == 1


def test_a_team_sheet_titled_like_the_chart_tables_is_never_taken(emulator, sheet) -> None:
    team = sheet.add_worksheet(data_title("Board"), 5, 5)
    team.update([["ours"]], "A1")
    no_charts = dataclasses.replace(BOARD, charts=())
    write(emulator, sheet, frames(weekly_rows(1, 3), no_charts))
    assert sheet.worksheet(data_title("Board")).acell("A1").value == "ours"
    with pytest.raises(DestinationError, match="was not created by sheets-sync"):
        write(emulator, sheet, frames(weekly_rows(1, 3)))
    assert sheet.worksheet(data_title("Board")).acell("A1").value == "ours"


def test_a_chart_placed_on_a_sheet_nobody_writes_fails_before_any_write(
    emulator, controls, sheet
) -> None:
    stray = dataclasses.replace(CHARTS[0], position=ChartPosition(1, 1, sheet="Elsewhere"))
    before = controls.counters()
    with pytest.raises(DestinationError, match=r"placed on sheet 'Elsewhere'.*sync 'Elsewhere'"):
        write(
            emulator, sheet, frames(weekly_rows(1, 3), dataclasses.replace(BOARD, charts=(stray,)))
        )
    assert "spreadsheets.batchUpdate" not in kinds_by_endpoint(before, controls.counters())


def kinds_by_endpoint(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    counts = {k: n - before["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
    return {k: n for k, n in counts.items() if n}


BOARD_YAML = """\
title: Board
sql: board.sql
order: 1
columns:
  - {header: Figure, type: text}
charts:
  - title: Weekly orders by market
    type: column
    source: KPI Weekly
    x: Week
    series: [Orders created]
    split_by: Country
    aggregate: sum
    filter: {last: 13 weeks}
    position: A4
"""


def test_a_sync_of_the_board_alone_brings_its_source_and_draws_from_it(
    emulator, sheet, loaded, tmp_path
) -> None:
    tabs = tmp_path / "tabs"
    tabs.mkdir()
    shutil.copy(TEMPLATES / "tabs" / "kpi_weekly.yaml", tabs)
    (tabs / "board.yaml").write_text(BOARD_YAML)
    (tabs / "board.sql").write_text("SELECT 'Orders' AS figure")
    settings = Settings.load(environ={}, templates_dir=tmp_path, sheets_api_url=emulator.url)
    sync_now(loaded, settings, f"gsheets:{sheet.id}", tabs=["Board"], as_of=LAST_DAY)
    weekly = sheet.worksheet("KPI Weekly").get_all_records()
    sums: dict[str, dict[str, int]] = {}
    for record in weekly:
        per_week = sums.setdefault(str(record["Week"]), {})
        country = str(record["Country"])
        per_week[country] = per_week.get(country, 0) + int(record["Orders created"])
    assert sums
    (drawn,) = charts_by_title(sheet).values()
    got = table(sheet, drawn)
    countries = sorted({c for week in sums.values() for c in week})
    assert got[0] == ["Week", *sorted(sums)]
    assert got[1:] == [[c, *(sums[w].get(c, "") for w in sorted(sums))] for c in countries]
    sync_now(loaded, settings, f"xlsx:{tmp_path / 'book.xlsx'}", tabs=["Board"], as_of=LAST_DAY)
    assert load_workbook(tmp_path / "book.xlsx").sheetnames[:2] == ["Board", "KPI Weekly"]


def test_dates_on_the_x_axis_stay_dates_and_text_stays_text(emulator, sheet) -> None:
    daily = tab(
        "Daily",
        column("Date", ColumnType.DATE),
        column("Seller"),
        column("Orders", ColumnType.INTEGER),
    )
    line = ChartSpec(
        "Orders per day", ChartType.LINE, x="Date", series=(SeriesSpec("Orders"),),
        position=ChartPosition(0, 4), split_by="Seller", aggregate=Aggregate.SUM,
        filter=ChartFilter(LastPeriods("Date", 2, PeriodUnit.DAYS)),
    )  # fmt: skip
    start = dt.date(2026, 3, 1)
    rows = [(start + dt.timedelta(days=d), "=IMPORTXML(1)", d + 1) for d in range(5)]
    write(emulator, sheet, [TabFrame(dataclasses.replace(daily, charts=(line,)), rows)])
    shown = sheet.worksheet(data_title("Daily")).get_all_values()
    assert shown == [["Date", "=IMPORTXML(1)"], ["2026-03-04", "4"], ["2026-03-05", "5"]]


SENT = {
    "title": "Orders",
    "basicChart": {
        "chartType": "COLUMN",
        "axis": [{"position": "BOTTOM_AXIS", "title": "Week"}],
        "domains": [{"domain": {"sourceRange": {"sources": [
            {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 5,
             "startColumnIndex": 0, "endColumnIndex": 1}]}}}],
        "headerCount": 1,
    },
}  # fmt: skip


def _answer(**changes: Any) -> dict[str, Any]:
    """SENT as Google answers it: defaults added, zeros and sheet 0 left out, more axes."""
    answer = {
        "title": "Orders", "fontName": "Roboto",
        "hiddenDimensionStrategy": "SKIP_HIDDEN_ROWS_AND_COLUMNS",
        "basicChart": {
            "chartType": "COLUMN",
            "axis": [{"position": "LEFT_AXIS", "format": {}},
                     {"position": "BOTTOM_AXIS", "title": "Week", "format": {"fontFamily": "x"}}],
            "domains": [{"domain": {"sourceRange": {"sources": [
                {"endRowIndex": 5, "endColumnIndex": 1}]}}}],
            "headerCount": 1,
        },
    }  # fmt: skip
    answer["basicChart"].update(changes)
    return answer


@pytest.mark.parametrize(
    ("answer", "same"),
    [
        (_answer(), True),
        (_answer(chartType="LINE"), False),
        (_answer(axis=[{"position": "BOTTOM_AXIS", "title": "Month"}]), False),
        (_answer(axis=[{"position": "LEFT_AXIS"}]), False),
        (
            _answer(
                domains=[
                    {
                        "domain": {
                            "sourceRange": {"sources": [{"endRowIndex": 6, "endColumnIndex": 1}]}
                        }
                    }
                ]
            ),
            False,
        ),
        (_answer(domains=[]), False),
        (None, False),
    ],
)
def test_a_spec_is_the_same_when_google_holds_all_we_send(answer: Any, same: bool) -> None:
    assert covers(answer, SENT) is same
