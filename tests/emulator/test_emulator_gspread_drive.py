"""Drive export and CSV import through real gspread, and a spreadsheet not shared
with the caller answered as Google answers it (Sheets 403, Drive 404)."""

from __future__ import annotations

import io

import gspread
import openpyxl
import pytest
import requests
from gspread.utils import ExportFormat

from sheets_emulator.server import EmulatorServer
from tests.fixtures_emulator import EmulatorControls


@pytest.fixture
def book(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    sh = gspread_client.create("Export")
    sh.sheet1.update([["a1", "B2"], ["x"], [1.5, "2024-01-05"]], "A1", raw=False)
    sh.add_worksheet("Second", 5, 5).update([["only in xlsx"]], "A1")
    return sh


def test_csv_export_is_the_first_sheet_as_google_answers_it(
    gspread_client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    assert gspread_client.export(book.id, ExportFormat.CSV) == b"a1,B2\r\nx,\r\n1.5,2024-01-05"
    assert book.export(ExportFormat.TSV) == b"a1\tB2\r\nx\t\r\n1.5\t2024-01-05"


def test_xlsx_export_carries_every_sheet_with_typed_values(book: gspread.Spreadsheet) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(book.export(ExportFormat.EXCEL)))
    assert workbook.sheetnames == ["Sheet1", "Second"]
    first = workbook["Sheet1"]
    assert first["A1"].value == "a1" and first["A3"].value == 1.5
    assert first["B3"].is_date and first["B3"].number_format == "yyyy-mm-dd"
    assert workbook["Second"]["A1"].value == "only in xlsx"


def test_an_unsupported_or_missing_mime_type_is_refused_as_drive_refuses_it(
    emulator: EmulatorServer, book: gspread.Spreadsheet
) -> None:
    url = f"{emulator.url}/drive/v3/files/{book.id}/export"
    answer = requests.get(url, params={"mimeType": "text/plain"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["errors"][0]["reason"] == "badRequest"
    missing = requests.get(url, timeout=10).json()["error"]
    assert missing["errors"][0]["location"] == "mimeType"
    with pytest.raises(gspread.exceptions.APIError, match="does not export application/pdf"):
        book.export(ExportFormat.PDF)


def test_import_csv_replaces_the_content_with_one_sheet_named_after_the_file(
    gspread_client: gspread.Client, book: gspread.Spreadsheet
) -> None:
    answer = gspread_client.import_csv(book.id, "h1,h2\n1,2024-01-05\n,\nz,")
    assert answer["id"] == book.id and answer["title"] == "Export"
    again = gspread_client.open_by_key(book.id)
    assert [w.title for w in again.worksheets()] == ["Export"]
    sheet = again.sheet1
    assert (sheet.row_count, sheet.col_count) == (1000, 26)
    assert sheet.get_all_values() == [["h1", "h2"], ["1", "2024-01-05"], ["", ""], ["z", ""]]
    assert sheet.get("A2", value_render_option="UNFORMATTED_VALUE") == [[1]]


def test_a_private_spreadsheet_is_a_permission_error_on_sheets_and_not_found_on_drive(
    gspread_client: gspread.Client,
    book: gspread.Spreadsheet,
    controls: EmulatorControls,
    emulator: EmulatorServer,
) -> None:
    controls.forbid(book.id)
    with pytest.raises(PermissionError):
        gspread_client.open_by_key(book.id)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gspread_client.open("Export")
    sheets = requests.get(f"{emulator.url}/v4/spreadsheets/{book.id}", timeout=10)
    assert (sheets.status_code, sheets.json()) == (403, {"error": {
        "code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})  # fmt: skip
    drive = requests.get(f"{emulator.url}/drive/v3/files/{book.id}", timeout=10)
    message = f"File not found: {book.id}."
    assert (drive.status_code, drive.json()) == (404, {"error": {"code": 404, "message": message, "errors": [
        {"message": message, "domain": "global", "reason": "notFound", "location": "fileId",
         "locationType": "parameter"}]}})  # fmt: skip
    with pytest.raises(gspread.exceptions.APIError, match="File not found"):
        gspread_client.export(book.id, ExportFormat.CSV)
