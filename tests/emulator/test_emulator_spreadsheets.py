"""Spreadsheets and worksheets through real gspread: create, open, list, delete, metadata."""

from __future__ import annotations

import gspread
import pytest


def test_create_open_list_delete(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Ops KPIs")
    assert [ws.title for ws in sh.worksheets()] == ["Sheet1"]
    assert sh.sheet1.id == 0 and (sh.sheet1.row_count, sh.sheet1.col_count) == (1000, 26)
    assert gspread_client.open("Ops KPIs").id == sh.id
    assert gspread_client.open_by_key(sh.id).title == "Ops KPIs"
    assert [f["name"] for f in gspread_client.list_spreadsheet_files()] == ["Ops KPIs"]
    gspread_client.del_spreadsheet(sh.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gspread_client.open_by_key(sh.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gspread_client.open("Ops KPIs")


def test_unknown_spreadsheet_is_404_like_google(gspread_client: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound) as info:
        gspread_client.open_by_key("does-not-exist")
    error = info.value.__cause__.response.json()["error"]  # type: ignore[union-attr]
    assert error == {
        "code": 404,
        "message": "Requested entity was not found.",
        "status": "NOT_FOUND",
    }


def test_copy_keeps_values(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Original")
    sh.sheet1.update([["a", 1]], "A1")
    copied = gspread_client.copy(sh.id, title="Copy")
    assert copied.title == "Copy" and copied.sheet1.get_all_values() == [["a", "1"]]
    copied.sheet1.update([["changed"]], "A1")
    assert sh.sheet1.acell("A1").value == "a"


def test_share_and_permissions(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Shared")
    sh.share("team@example.com", perm_type="user", role="writer", notify=False)
    emails = [p.get("emailAddress") for p in sh.list_permissions()]
    assert "team@example.com" in emails
    sh.remove_permissions("team@example.com")
    assert "team@example.com" not in [p.get("emailAddress") for p in sh.list_permissions()]


def test_fields_mask_and_ranges(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Masked")
    sh.add_worksheet("KPI Daily", rows=5, cols=3)
    meta = sh.fetch_sheet_metadata({"fields": "sheets(properties(title,gridProperties.rowCount))"})
    assert meta == {"sheets": [
        {"properties": {"title": "Sheet1", "gridProperties": {"rowCount": 1000}}},
        {"properties": {"title": "KPI Daily", "gridProperties": {"rowCount": 5}}},
    ]}  # fmt: skip
    one = sh.fetch_sheet_metadata(
        {"ranges": "'KPI Daily'!A1:B2", "fields": "sheets.properties.title"}
    )
    assert one == {"sheets": [{"properties": {"title": "KPI Daily"}}]}


def test_include_grid_data_returns_cell_data(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Grid")
    sh.sheet1.update([["txt", 2.5], [None, "=A1"]], "B2", raw=False)
    meta = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Sheet1!B2:C3"})
    data = meta["sheets"][0]["data"][0]
    assert (data["startRow"], data["startColumn"]) == (1, 1)
    first = data["rowData"][0]["values"]
    assert first[0]["userEnteredValue"] == {"stringValue": "txt"}
    assert (
        first[1]["effectiveValue"] == {"numberValue": 2.5} and first[1]["formattedValue"] == "2.5"
    )
    assert data["rowData"][1]["values"][1]["userEnteredValue"] == {"formulaValue": "=A1"}
    assert len(data["rowMetadata"]) == 2 and len(data["columnMetadata"]) == 2


def test_worksheet_lifecycle(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Tabs")
    a = sh.add_worksheet("A", rows=10, cols=5)
    b = sh.add_worksheet("B", rows=10, cols=5, index=0)
    assert [w.title for w in sh.worksheets()] == ["B", "Sheet1", "A"]
    a.update_title("Renamed")
    a.update_index(0)
    assert [w.title for w in sh.worksheets()] == ["Renamed", "B", "Sheet1"]
    dup = b.duplicate(new_sheet_name="B copy")
    assert dup.title == "B copy"
    sh.del_worksheet(b)
    assert [w.title for w in sh.worksheets()] == ["Renamed", "Sheet1", "B copy"]
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.add_worksheet("Sheet1", rows=1, cols=1)
    assert info.value.code == 400 and "already exists" in info.value.error["message"]
