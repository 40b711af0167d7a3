"""spreadsheets:batchUpdate request kinds through real gspread, atomicity and limits."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from gspread.utils import ValidationConditionType, ValueRenderOption
from helpers import sheet_meta as _sheet_meta


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Batch")


def test_add_sheet_reply_has_properties(sh: gspread.Spreadsheet) -> None:
    reply = sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "KPI Daily"}}}]})
    props = reply["replies"][0]["addSheet"]["properties"]
    assert props["title"] == "KPI Daily" and isinstance(props["sheetId"], int)
    assert props["gridProperties"] == {"rowCount": 1000, "columnCount": 26} and props["index"] == 1


def test_resize_insert_delete_append_dimensions(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([["r1"], ["r2"], ["r3"]], "A1")
    ws.resize(rows=10, cols=4)
    ws.delete_rows(2)
    ws.add_rows(5)
    ws.insert_cols([["c"]], col=1)
    ws = sh.sheet1
    assert (ws.row_count, ws.col_count) == (14, 5)
    assert ws.get_all_values()[:2] == [["c", "r1"], ["", "r3"]]
    sh.batch_update(
        {"requests": [{"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 3}}]}
    )
    assert sh.sheet1.col_count == 8


def test_resize_beyond_the_cell_limit_is_refused(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.resize(rows=400_000)  # 400,000 x 26 > 10,000,000
    assert info.value.code == 400
    assert "above the limit of 10000000 cells" in info.value.error["message"]
    assert info.value.error["message"].startswith("Invalid requests[0].updateSheetProperties")
    sh.sheet1.resize(rows=384_615)  # 9,999,990 cells: allowed
    with pytest.raises(gspread.exceptions.APIError):
        sh.add_worksheet("more", rows=10, cols=10)


def test_column_limit(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.add_worksheet("wide", rows=1, cols=18_279)
    assert "18278" in info.value.error["message"]
    wide = sh.add_worksheet("wide", rows=1, cols=18_278)
    wide.update([["last"]], "ZZZ1")
    assert wide.acell("ZZZ1").value == "last"


def test_cannot_delete_last_sheet_or_all_rows(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError):
        sh.del_worksheet(sh.sheet1)
    with pytest.raises(gspread.exceptions.APIError):
        sh.sheet1.delete_rows(1, 1000)


def test_freeze_format_and_dimension_properties(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([["Header"]], "A1")
    ws.freeze(rows=1, cols=2)
    ws.format("A1:B1", {"textFormat": {"bold": True}})
    ws.hide_columns(3, 4)
    ws.columns_auto_resize(0, 1)
    meta = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!A1:D1"})
    sheet = meta["sheets"][0]
    assert sheet["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert sheet["properties"]["gridProperties"]["frozenColumnCount"] == 2
    cell = sheet["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredFormat"]["textFormat"]["bold"] is True
    assert cell["effectiveFormat"]["textFormat"]["bold"] is True
    assert sheet["data"][0]["columnMetadata"][3]["hiddenByUser"] is True
    assert sheet["data"][0]["columnMetadata"][0]["pixelSize"] == 6 * 7 + 10


def test_repeat_cell_value_and_update_cells_note(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    sh.batch_update({"requests": [{"repeatCell": {
        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2},
        "cell": {"userEnteredValue": {"numberValue": 7}}, "fields": "userEnteredValue"}}]})  # fmt: skip
    assert ws.get("A1:B2", value_render_option=ValueRenderOption.unformatted) == [[7, 7], [7, 7]]
    ws.update_note("B2", "checked")
    assert ws.get_note("B2") == "checked"
    assert ws.get_notes() == [["", ""], ["", "checked"]]


def test_basic_filter_set_and_clear(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.set_basic_filter("A1:C10")
    assert _sheet_meta(sh)["basicFilter"]["range"] == {  # sheetId 0 is left out, as Google does
        "startRowIndex": 0, "endRowIndex": 10, "startColumnIndex": 0, "endColumnIndex": 3}  # fmt: skip
    ws.clear_basic_filter()
    assert "basicFilter" not in _sheet_meta(sh)


def test_protected_ranges(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    reply = ws.add_protected_range("A1:B2", description="managed")
    range_id = reply["replies"][0]["addProtectedRange"]["protectedRange"]["protectedRangeId"]
    assert [p["description"] for p in sh.list_protected_ranges(0)] == ["managed"]
    ws.delete_protected_range(range_id)
    assert sh.list_protected_ranges(0) == []
    with pytest.raises(gspread.exceptions.APIError):
        ws.delete_protected_range(range_id)


def test_named_ranges_add_update_delete(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([[1, 2]], "A1")
    reply = ws.define_named_range("A1:B1", "prices")
    named = reply["replies"][0]["addNamedRange"]["namedRange"]
    assert ws.get("prices") == [["1", "2"]]
    sh.batch_update({"requests": [{"updateNamedRange": {
        "namedRange": {"namedRangeId": named["namedRangeId"], "name": "prices2"}, "fields": "name"}}]})  # fmt: skip
    assert [n["name"] for n in sh.list_named_ranges()] == ["prices2"]
    with pytest.raises(gspread.exceptions.APIError):
        ws.define_named_range("A1", "A1")  # a cell reference is not a valid name
    ws.delete_named_range(named["namedRangeId"])
    assert sh.list_named_ranges() == []


def test_named_range_follows_inserted_rows(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.define_named_range("A2:A3", "block")
    ws.insert_rows([["new"]], row=1)
    rng = sh.list_named_ranges()[0]["range"]
    assert (rng["startRowIndex"], rng["endRowIndex"]) == (2, 4)


def test_conditional_format_rules(sh: gspread.Spreadsheet) -> None:
    rule = {"ranges": [{"sheetId": 0, "startRowIndex": 1, "endRowIndex": 10}],
            "booleanRule": {"condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "0.85"}]},
                            "format": {"backgroundColor": {"red": 1}}}}  # fmt: skip
    sh.batch_update({"requests": [{"addConditionalFormatRule": {"rule": rule, "index": 0}}]})
    assert (
        _sheet_meta(sh)["conditionalFormats"][0]["booleanRule"]["condition"]["type"]
        == "NUMBER_LESS"
    )
    reply = sh.batch_update(
        {"requests": [{"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}}]}
    )
    assert reply["replies"][0]["deleteConditionalFormatRule"]["rule"]["ranges"] == [
        {"startRowIndex": 1, "endRowIndex": 10}  # sheetId 0 is implicit in Google's answers
    ]
    assert "conditionalFormats" not in _sheet_meta(sh)


def test_data_validation(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.add_validation(
        "B2:B5", ValidationConditionType.one_of_list, ["yes", "no"], showCustomUi=True
    )
    meta = sh.fetch_sheet_metadata(
        {"ranges": "Sheet1!B3", "fields": "sheets.data.rowData.values.dataValidation"}
    )
    rule = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["dataValidation"]
    assert rule["condition"]["type"] == "ONE_OF_LIST"


def test_merges(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.merge_cells("A1:B2")
    assert len(_sheet_meta(sh)["merges"]) == 1
    ws.unmerge_cells("A1:B2")
    assert "merges" not in _sheet_meta(sh)


def _pivot(source_sheet: int, end_row: int) -> dict[str, Any]:
    return {
        "source": {"sheetId": source_sheet, "startRowIndex": 0, "endRowIndex": end_row,
                   "startColumnIndex": 0, "endColumnIndex": 3},
        "rows": [{"sourceColumnOffset": 0, "showTotals": True, "sortOrder": "ASCENDING"}],
        "values": [{"summarizeFunction": "SUM", "sourceColumnOffset": 2},
                   {"summarizeFunction": "COUNTA", "sourceColumnOffset": 1}],
    }  # fmt: skip


def test_pivot_table_is_stored_validated_and_rendered(sh: gspread.Spreadsheet) -> None:
    data = sh.add_worksheet("Data", rows=10, cols=3)
    data.update(
        [["Country", "Seller", "Orders"], ["FR", "s1", 3], ["DE", "s2", 4], ["FR", "s3", 5]], "A1"
    )
    pivots = sh.add_worksheet("Pivot", rows=20, cols=5)
    sh.batch_update({"requests": [{"updateCells": {
        "start": {"sheetId": pivots.id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": [{"pivotTable": _pivot(data.id, 4)}]}], "fields": "pivotTable"}}]})  # fmt: skip
    got = pivots.get_all_values()
    assert got == [["Country", "SUM of Orders", "COUNTA of Seller"], ["DE", "4", "1"], ["FR", "8", "2"],
                   ["Grand Total", "12", "3"]]  # fmt: skip
    meta = sh.fetch_sheet_metadata(
        {"ranges": "Pivot!A1", "fields": "sheets.data.rowData.values.pivotTable"}
    )
    stored = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["pivotTable"]
    assert stored["source"]["endRowIndex"] == 4
    with pytest.raises(gspread.exceptions.APIError) as info:
        bad = _pivot(data.id, 11)  # past the 10-row grid
        sh.batch_update({"requests": [{"updateCells": {
            "start": {"sheetId": pivots.id, "rowIndex": 5, "columnIndex": 0},
            "rows": [{"values": [{"pivotTable": bad}]}], "fields": "pivotTable"}}]})  # fmt: skip
    assert info.value.code == 400 and "exceeds grid limits" in info.value.error["message"]


def test_unsupported_and_unknown_kinds_are_400(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": [{"addBanding": {"bandedRange": {}}}]})
    assert info.value.code == 400 and "does not support 'addBanding'" in info.value.error["message"]
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": [{"makeCoffee": {}}]})
    assert 'Unknown name "makeCoffee"' in info.value.error["message"]


def test_batch_update_is_atomic(sh: gspread.Spreadsheet) -> None:
    sh.sheet1.update([["keep"]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": [
            {"addSheet": {"properties": {"title": "New"}}},
            {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}}},
            {"deleteSheet": {"sheetId": 424242}},
        ]})  # fmt: skip
    assert info.value.error["message"].startswith("Invalid requests[2].deleteSheet")
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]
    assert sh.sheet1.acell("A1").value == "keep" and sh.sheet1.row_count == 1000
