"""Embedded charts through real gspread: added, read back in ``sheets[].charts`` (with
field masks), updated, moved, deleted, refused like Google, and kept on their data
when rows and columns are inserted or deleted."""

from __future__ import annotations

from typing import Any

import gspread
import pytest

DATA = 555  # sheetId of the data tab; charts float over Sheet1 (id 0)


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    book = gspread_client.create("Charts")
    book.batch_update(
        {"requests": [{"addSheet": {"properties": {"sheetId": DATA, "title": "Data"}}}]}
    )
    return book


def column(c: int, r0: int = 0, r1: int = 11, sheet: int = DATA) -> dict[str, Any]:
    return {
        "sheetId": sheet, "startRowIndex": r0, "endRowIndex": r1,
        "startColumnIndex": c, "endColumnIndex": c + 1,
    }  # fmt: skip


def spec(kind: str = "COLUMN", r1: int = 11, sheet: int = DATA) -> dict[str, Any]:
    return {
        "title": "Orders",
        "basicChart": {
            "chartType": kind,
            "headerCount": 1,
            "domains": [{"domain": {"sourceRange": {"sources": [column(0, 0, r1, sheet)]}}}],
            "series": [
                {
                    "series": {"sourceRange": {"sources": [column(1, 0, r1, sheet)]}},
                    "targetAxis": "LEFT_AXIS",
                }
            ],
        },
    }


def overlay(row: int = 1, col: int = 7, sheet: int = 0, **extra: int) -> dict[str, Any]:
    anchor = {"sheetId": sheet, "rowIndex": row, "columnIndex": col}
    return {"overlayPosition": {"anchorCell": anchor, **extra}}


def add(sh: gspread.Spreadsheet, chart_id: int | None = None, **chart: Any) -> dict[str, Any]:
    body = {"spec": spec(), "position": overlay(widthPixels=640, heightPixels=380), **chart}
    if chart_id is not None:
        body["chartId"] = chart_id
    reply = sh.batch_update({"requests": [{"addChart": {"chart": body}}]})
    return dict(reply["replies"][0]["addChart"]["chart"])


def charts_of(sh: gspread.Spreadsheet, title: str = "Sheet1") -> list[dict[str, Any]]:
    meta = sh.fetch_sheet_metadata({"fields": "sheets(properties.title,charts)"})
    sheet = next(s for s in meta["sheets"] if s["properties"]["title"] == title)
    return list(sheet.get("charts", []))


def test_add_assigns_an_id_returns_the_chart_and_get_shows_it(sh: gspread.Spreadsheet) -> None:
    chart = add(sh)
    assert isinstance(chart["chartId"], int) and chart["chartId"] > 0
    (stored,) = charts_of(sh)
    assert stored == chart
    basic = stored["spec"]["basicChart"]
    assert basic["domains"][0]["domain"]["sourceRange"]["sources"][0]["sheetId"] == DATA
    assert stored["spec"]["hiddenDimensionStrategy"] == "SKIP_HIDDEN_ROWS_AND_COLUMNS"
    position = stored["position"]["overlayPosition"]
    assert position == {
        "anchorCell": {"rowIndex": 1, "columnIndex": 7}, "widthPixels": 640, "heightPixels": 380,
    }  # fmt: skip
    assert "sheetId" not in position["anchorCell"]  # sheet 0, left out as Google does
    assert charts_of(sh, "Data") == []


def test_a_chosen_id_is_kept_and_a_taken_one_refused(sh: gspread.Spreadsheet) -> None:
    assert add(sh, chart_id=4242)["chartId"] == 4242
    with pytest.raises(gspread.exceptions.APIError, match="id 4242 already exists"):
        add(sh, chart_id=4242)


def test_field_masks_select_or_leave_out_charts(sh: gspread.Spreadsheet) -> None:
    add(sh)
    without = sh.fetch_sheet_metadata({"fields": "sheets.properties"})
    assert all("charts" not in s for s in without["sheets"])
    only_ids = sh.fetch_sheet_metadata({"fields": "sheets.charts.chartId"})
    assert only_ids["sheets"][0]["charts"][0].keys() == {"chartId"}
    assert "charts" in sh.fetch_sheet_metadata()["sheets"][0]  # no mask: everything


def test_update_spec_and_position_then_delete(sh: gspread.Spreadsheet) -> None:
    chart_id = add(sh)["chartId"]
    moved = overlay(3, 2, DATA, offsetXPixels=4, widthPixels=500)["overlayPosition"]
    sh.batch_update(
        {
            "requests": [
                {"updateChartSpec": {"chartId": chart_id, "spec": spec("LINE", r1=6)}},
                {
                    "updateEmbeddedObjectPosition": {
                        "objectId": chart_id,
                        "newPosition": {"overlayPosition": moved},
                        "fields": "anchorCell,offsetXPixels,widthPixels",
                    }
                },
            ]
        }
    )
    assert charts_of(sh) == []
    (chart,) = charts_of(sh, "Data")
    assert chart["spec"]["basicChart"]["chartType"] == "LINE"
    assert (
        chart["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"][0][
            "endRowIndex"
        ]
        == 6
    )
    position = chart["position"]["overlayPosition"]
    assert position["anchorCell"] == {"sheetId": DATA, "rowIndex": 3, "columnIndex": 2}
    assert (position["offsetXPixels"], position["widthPixels"], position["heightPixels"]) == (
        4, 500, 380,
    )  # fmt: skip
    sh.batch_update({"requests": [{"deleteEmbeddedObject": {"objectId": chart_id}}]})
    assert charts_of(sh, "Data") == []


BAD = [
    pytest.param({"updateChartSpec": {"chartId": 99, "spec": spec()}}, "No chart with id: 99",
                 id="unknown-chart"),
    pytest.param({"deleteEmbeddedObject": {"objectId": 99}}, "No chart with id: 99",
                 id="delete-unknown"),
    pytest.param({"addChart": {"chart": {"spec": spec(sheet=31337), "position": overlay()}}},
                 "No grid with id: 31337", id="source-on-a-missing-sheet"),
    pytest.param({"addChart": {"chart": {"spec": spec(r1=5000), "position": overlay()}}},
                 "exceeds grid limits", id="source-past-the-grid"),
    pytest.param({"addChart": {"chart": {"spec": spec("DONUT"), "position": overlay()}}},
                 "basic_chart.chart_type' (type.googleapis.com/google.apps.sheets.v4.BasicChartType)",
                 id="unknown-chart-type"),
    pytest.param({"addChart": {"chart": {"spec": spec(), "position": {"newSheet": True}}}},
                 "sheet of their own", id="new-sheet-unsupported"),
    pytest.param({"addChart": {"chart": {"spec": spec(), "position": overlay(5000)}}},
                 "outside sheet", id="anchor-outside"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "message"), BAD)
def test_bad_chart_requests_are_400_and_change_nothing(
    sh: gspread.Spreadsheet, request_: dict[str, Any], message: str
) -> None:
    add(sh)
    before = charts_of(sh)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "X"}}}, request_]})
    assert caught.value.response.status_code == 400
    assert "requests[1]" in str(caught.value) and message in str(caught.value)
    assert charts_of(sh) == before and sh.worksheet("Data")
    assert "X" not in [w.title for w in sh.worksheets()]


def sources(chart: dict[str, Any]) -> list[tuple[int, int]]:
    basic = chart["spec"]["basicChart"]
    ranges = [basic["domains"][0]["domain"], *(s["series"] for s in basic["series"])]
    return [(r["sourceRange"]["sources"][0].get("startRowIndex", 0),
             r["sourceRange"]["sources"][0]["endRowIndex"]) for r in ranges]  # fmt: skip


def dimension(kind: str, dim: str, start: int, end: int, sheet: int = DATA) -> dict[str, Any]:
    rng = {"sheetId": sheet, "dimension": dim, "startIndex": start, "endIndex": end}
    return {kind: {"range": rng}}


def test_source_ranges_and_anchors_move_with_rows_and_columns(sh: gspread.Spreadsheet) -> None:
    add(sh)
    sh.batch_update({"requests": [dimension("insertDimension", "ROWS", 5, 8)]})
    assert sources(charts_of(sh)[0]) == [(0, 14), (0, 14)]
    sh.batch_update({"requests": [dimension("deleteDimension", "ROWS", 0, 2)]})
    assert sources(charts_of(sh)[0]) == [(0, 12), (0, 12)]
    sh.batch_update({"requests": [dimension("insertDimension", "COLUMNS", 0, 1)]})
    series = charts_of(sh)[0]["spec"]["basicChart"]["series"][0]["series"]
    assert series["sourceRange"]["sources"][0]["startColumnIndex"] == 2
    sh.batch_update({"requests": [dimension("insertDimension", "ROWS", 0, 2, sheet=0)]})
    assert charts_of(sh)[0]["position"]["overlayPosition"]["anchorCell"]["rowIndex"] == 3


def test_deleting_the_source_sheet_keeps_the_chart_without_its_data(
    sh: gspread.Spreadsheet,
) -> None:
    add(sh)
    sh.batch_update({"requests": [{"deleteSheet": {"sheetId": DATA}}]})
    (chart,) = charts_of(sh)
    assert chart["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"] == []
    # deleting the sheet a chart floats over takes the chart with it
    sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "Other"}}}]})
    sh.batch_update({"requests": [{"deleteSheet": {"sheetId": 0}}]})
    assert all("charts" not in s for s in sh.fetch_sheet_metadata()["sheets"])


def test_a_pie_chart_round_trips(sh: gspread.Spreadsheet) -> None:
    pie = {
        "title": "Share",
        "pieChart": {
            "legendPosition": "RIGHT_LEGEND",
            "domain": {"sourceRange": {"sources": [column(0, 1)]}},
            "series": {"sourceRange": {"sources": [column(1, 1)]}},
        },
    }
    chart = add(sh, spec=pie)
    assert charts_of(sh)[0]["spec"]["pieChart"] == chart["spec"]["pieChart"]
    assert chart["spec"]["pieChart"]["domain"]["sourceRange"]["sources"][0]["startRowIndex"] == 1
