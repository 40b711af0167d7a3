"""Answers shaped like Google's, as recorded real traffic shows them (docs/emulator.md,
"How it was checked"); every input here is our own."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
import requests
from helpers import sheet_meta as _sheet_meta


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Shapes")


def test_ranges_on_the_first_sheet_leave_sheet_id_out(sh: gspread.Spreadsheet) -> None:
    first, other = sh.sheet1, sh.add_worksheet("Other", rows=10, cols=5)
    reply = first.define_named_range("A1:B2", "on_first")
    assert reply["replies"][0]["addNamedRange"]["namedRange"]["range"] == {
        "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}  # fmt: skip
    other.define_named_range("A1:B2", "on_other")
    first.merge_cells("C1:D1")
    ranges = {n["name"]: n["range"] for n in sh.list_named_ranges()}
    assert "sheetId" not in ranges["on_first"] and ranges["on_other"]["sheetId"] == other.id
    assert _sheet_meta(sh)["merges"] == [
        {"startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 2, "endColumnIndex": 4}]  # fmt: skip


def test_default_sheet_properties_are_left_out(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.freeze(rows=2)
    assert _sheet_meta(sh)["properties"]["gridProperties"]["frozenRowCount"] == 2
    ws.freeze(rows=0, cols=0)
    ws.hide_gridlines()
    ws.show_gridlines()
    props = _sheet_meta(sh)["properties"]
    assert props["gridProperties"] == {"rowCount": 1000, "columnCount": 26}
    assert "hidden" not in props and props["sheetId"] == 0 and props["index"] == 0


def test_hiding_every_sheet_is_refused(sh: gspread.Spreadsheet) -> None:
    second = sh.add_worksheet("Second", rows=5, cols=5)
    second.hide()
    assert _sheet_meta(sh, "Second")["properties"]["hidden"] is True
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.hide()
    assert info.value.code == 400
    assert info.value.error["message"] == (
        "Invalid requests[0].updateSheetProperties: You can't hide all the sheets in a document."
    )
    second.show()
    assert "hidden" not in _sheet_meta(sh, "Second")["properties"]


def test_tab_colour_is_kept_in_8_bit_steps_with_its_style_twin(sh: gspread.Spreadsheet) -> None:
    sh.batch_update({"requests": [{"updateSheetProperties": {
        "properties": {"sheetId": 0, "tabColorStyle": {"rgbColor": {"red": 1, "green": 0, "blue": 0.5}}},
        "fields": "tabColorStyle"}}]})  # fmt: skip
    props = _sheet_meta(sh)["properties"]
    assert props["tabColorStyle"] == {"rgbColor": {"red": 1, "blue": 0.49803922}}
    assert props["tabColor"] == {"red": 1, "blue": 0.49803922}
    sh.sheet1.clear_tab_color()  # a fresh Worksheet: gspread pops the colour from its cache
    props = _sheet_meta(sh)["properties"]
    assert "tabColor" not in props and "tabColorStyle" not in props


def test_cell_colours_come_back_with_their_style_twins(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.format("A1:B1", {"backgroundColor": {"red": 0, "green": 1, "blue": 1},
                        "textFormat": {"foregroundColorStyle": {"rgbColor": {"red": 0.2}}}})  # fmt: skip
    meta = sh.fetch_sheet_metadata(
        {"ranges": "Sheet1!B1", "fields": "sheets.data.rowData.values.userEnteredFormat"}
    )
    fmt = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["userEnteredFormat"]
    assert fmt["backgroundColor"] == {"green": 1, "blue": 1}
    assert fmt["backgroundColorStyle"] == {"rgbColor": {"green": 1, "blue": 1}}
    assert fmt["textFormat"]["foregroundColor"] == {"red": 0.2}


def test_basic_filter_on_a_whole_sheet_is_stored_with_explicit_bounds(
    sh: gspread.Spreadsheet,
) -> None:
    ws = sh.sheet1
    ws.resize(rows=20, cols=6)
    sh.batch_update({"requests": [{"setBasicFilter": {"filter": {"range": {"sheetId": 0}}}}]})
    assert _sheet_meta(sh)["basicFilter"]["range"] == {
        "startRowIndex": 0, "endRowIndex": 20, "startColumnIndex": 0, "endColumnIndex": 6}  # fmt: skip


def test_protected_range_reply_and_stored_editors(sh: gspread.Spreadsheet) -> None:
    sent = {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2}, "description": None,
            "warningOnly": False, "requestingUserCanEdit": False, "editors": {"users": [], "groups": []}}  # fmt: skip
    reply = sh.batch_update({"requests": [{"addProtectedRange": {"protectedRange": sent}}]})
    got = reply["replies"][0]["addProtectedRange"]["protectedRange"]
    assert set(got) == {"protectedRangeId", "range", "requestingUserCanEdit", "editors"}
    assert got["requestingUserCanEdit"] is True and got["editors"] == {}
    assert got["range"] == {"startRowIndex": 0, "endRowIndex": 2}
    stored = sh.list_protected_ranges(0)[0]
    assert stored["editors"]["users"] and "warningOnly" not in stored


def test_merging_over_inner_merges_replaces_them(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.merge_cells("A1:B2", merge_type="MERGE_ROWS")
    assert len(_sheet_meta(sh)["merges"]) == 2
    ws.merge_cells("A1:B2")
    assert _sheet_meta(sh)["merges"] == [
        {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}]  # fmt: skip
    with pytest.raises(gspread.exceptions.APIError):
        ws.merge_cells("B2:C3")  # crosses the merge without covering it


def test_values_batch_update_totals_count_distinct_rows_and_columns(
    sh: gspread.Spreadsheet,
) -> None:
    answer = sh.values_batch_update({"valueInputOption": "RAW", "data": [
        {"range": "Sheet1!A1:D1", "values": [["a", "b", "", "d"]]},
        {"range": "Sheet1!B4:E5", "values": [["x", None, "y", "z"], [None, None, "w"]]},
    ]})  # fmt: skip
    assert (answer["totalUpdatedRows"], answer["totalUpdatedColumns"]) == (3, 5)
    assert answer["totalUpdatedCells"] == 4 + 3 + 1
    assert [r["updatedColumns"] for r in answer["responses"]] == [4, 3]


def test_nulls_in_a_batch_update_mean_unset(sh: gspread.Spreadsheet) -> None:
    reply = sh.batch_update({"requests": [{"addSheet": {"properties": {
        "title": "Nulls", "index": None, "tabColorStyle": None, "gridProperties": None}}}]})  # fmt: skip
    props = reply["replies"][0]["addSheet"]["properties"]
    assert props["gridProperties"] == {"rowCount": 1000, "columnCount": 26}
    assert props["index"] == 1 and "tabColorStyle" not in props


@pytest.mark.parametrize(
    ("option", "dates", "expected"),
    [
        ("UNFORMATTED_VALUE", "SERIAL_NUMBER", [[2**60 * 1.0, 45296, True, 1234.5]]),
        ("UNFORMATTED_VALUE", "FORMATTED_STRING", [[2**60 * 1.0, "2024-01-05", True, 1234.5]]),
        ("FORMATTED_VALUE", "SERIAL_NUMBER", [["1.15292E+18", "2024-01-05", "TRUE", "1,234.50"]]),
    ],
)
def test_number_formats_of_ranges_render_per_cell(
    emulator: Any, sh: gspread.Spreadsheet, option: str, dates: str, expected: list[list[Any]]
) -> None:
    ws = sh.sheet1
    ws.update([[2**60 * 1.0, 45296, True, 1234.5]], "A2", raw=True)
    ws.format("B1:C3", {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}})
    ws.format("D2:D", {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}})
    params = {"valueRenderOption": option, "dateTimeRenderOption": dates}
    answer = requests.get(
        f"{emulator.url}/v4/spreadsheets/{sh.id}/values/Sheet1!A2:D2", params=params, timeout=10
    ).json()
    assert answer["values"] == expected
    assert [type(v) for v in answer["values"][0]] == [type(v) for v in expected[0]]


def test_a_huge_serial_under_a_date_format_reads_as_a_number(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([[1e20]], "A1", raw=True)
    ws.format("A1", {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}})
    assert ws.acell("A1").value == "1E+20"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"fields": "comments/content,nextPageToken"},
            {"comments": []},
        ),  # what gspread's copy asks
        ({}, {"kind": "drive#commentList", "comments": []}),
    ],
)
def test_drive_comment_listing_honours_fields(
    emulator: Any, sh: gspread.Spreadsheet, params: dict[str, str], expected: dict[str, Any]
) -> None:
    answer = requests.get(
        f"{emulator.url}/drive/v3/files/{sh.id}/comments", params=params, timeout=10
    )
    assert answer.status_code == 200 and answer.json() == expected
