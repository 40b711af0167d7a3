"""``copyPaste`` / ``cutPaste`` through real gspread (``copy_range``, ``cut_range``):
paste types, orientation, destination tiling, across sheets."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from gspread.utils import PasteOrientation, PasteType, ValueRenderOption


@pytest.fixture
def ws(gspread_client: gspread.Client) -> gspread.Worksheet:
    sheet = gspread_client.create("Clipboard").sheet1
    sheet.update([["A1", 1], ["A2", "=B1*2"]], "A1", raw=False)
    sheet.format("A1:B1", {"textFormat": {"bold": True}})
    return sheet


def _bold(ws: gspread.Worksheet, cell: str) -> Any:
    meta = ws.spreadsheet.fetch_sheet_metadata(
        {"ranges": f"'{ws.title}'!{cell}", "fields": "sheets.data.rowData.values.userEnteredFormat"}
    )
    values = meta["sheets"][0]["data"][0].get("rowData", [{}])[0].get("values", [{}])
    return values[0].get("userEnteredFormat", {}).get("textFormat", {}).get("bold")


def _empty(ws: gspread.Worksheet, cells: str) -> bool:
    return "values" not in ws.spreadsheet.values_get(f"'{ws.title}'!{cells}")


def test_copy_and_cut_as_recorded_from_google(ws: gspread.Worksheet) -> None:
    assert ws.copy_range("A1:A2", "B5")["replies"] == [{}]
    assert ws.get("B5:B6") == [["A1"], ["A2"]]
    assert ws.cut_range("A1:A2", "C1")["replies"] == [{}]
    assert ws.spreadsheet.values_get("Sheet1!A1:A2") == {
        "range": "Sheet1!A1:A2",
        "majorDimension": "ROWS",
    }
    assert ws.get("C1:C2") == [["A1"], ["A2"]]


def test_paste_normal_carries_formulas_and_formats(ws: gspread.Worksheet) -> None:
    ws.copy_range("A1:B2", "D1")
    assert ws.get("D1:E2", value_render_option=ValueRenderOption.formula) == [
        ["A1", 1],
        ["A2", "=B1*2"],
    ]
    assert _bold(ws, "D1") is True
    assert _bold(ws, "D2") is None


def test_paste_values_leaves_formats_and_formulas_behind(ws: gspread.Worksheet) -> None:
    ws.copy_range("A1:B1", "D1", paste_type=PasteType.values)
    assert ws.get("D1:E1", value_render_option=ValueRenderOption.unformatted) == [["A1", 1]]
    assert _bold(ws, "D1") is None


def test_paste_format_leaves_the_values(ws: gspread.Worksheet) -> None:
    ws.update([["keep"]], "D1")
    ws.copy_range("A1", "D1", paste_type=PasteType.format)
    assert ws.get("D1") == [["keep"]]
    assert _bold(ws, "D1") is True


def test_paste_formula_and_no_borders_and_validation_and_conditional(ws: gspread.Worksheet) -> None:
    ws.copy_range("B2", "F1", paste_type=PasteType.formula)
    assert ws.get("F1", value_render_option=ValueRenderOption.formula) == [["=B1*2"]]
    assert _bold(ws, "F1") is None
    ws.copy_range("A1", "G1", paste_type=PasteType.no_borders)
    assert ws.get("G1") == [["A1"]] and _bold(ws, "G1") is True
    ws.copy_range("A1", "H1", paste_type=PasteType.data_validation)
    assert _empty(ws, "H1") and _bold(ws, "H1") is None
    ws.spreadsheet.batch_update({"requests": [{"addConditionalFormatRule": {"rule": {
        "ranges": [{"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 1}],
        "booleanRule": {"condition": {"type": "NOT_BLANK"}, "format": {"textFormat": {"italic": True}}},
    }, "index": 0}}]})  # fmt: skip
    ws.copy_range("A1:A2", "J3", paste_type=PasteType.conditional_formating)
    rules = ws.spreadsheet.fetch_sheet_metadata()["sheets"][0]["conditionalFormats"]
    assert [r["ranges"] for r in rules][-1] == [
        {"startRowIndex": 2, "endRowIndex": 4, "startColumnIndex": 9, "endColumnIndex": 10}
    ]
    assert _empty(ws, "J3:J4")


def test_transpose_turns_rows_into_columns(ws: gspread.Worksheet) -> None:
    ws.copy_range("A1:B2", "D1", paste_orientation=PasteOrientation.transpose)
    assert ws.get("D1:E2", value_render_option=ValueRenderOption.formula) == [
        ["A1", "A2"],
        [1, "=B1*2"],
    ]


def test_a_destination_spanning_multiples_is_filled_and_a_smaller_one_gets_the_whole(
    ws: gspread.Worksheet,
) -> None:
    ws.copy_range("A1:B1", "D1:G3")  # 3 rows × 2 widths: tiled
    assert ws.get("D1:G3") == [["A1", "1", "A1", "1"]] * 3
    ws.copy_range("A1:B2", "D10:D10")  # smaller: the whole source anyway
    assert ws.get("D10:E11") == [["A1", "1"], ["A2"]]
    ws.copy_range("A1:B1", "D20:F20")  # 3 columns, not a multiple of 2: pasted once
    assert ws.get("D20:F20") == [["A1", "1"]]


def test_cut_to_another_sheet_moves_values_and_formats_and_clears_the_source(
    ws: gspread.Worksheet,
) -> None:
    other = ws.spreadsheet.add_worksheet("Other", 10, 5)
    ws.spreadsheet.batch_update({"requests": [{"cutPaste": {
        "source": {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2},
        "destination": {"sheetId": other.id, "rowIndex": 3, "columnIndex": 1},
        "pasteType": "PASTE_VALUES",
    }}]})  # fmt: skip
    assert other.get("B4:C5") == [["A1", "1"], ["A2"]]
    assert _bold(other, "B4") is None  # PASTE_VALUES: only values land
    assert _empty(ws, "A1:B2") and _bold(ws, "A1") is None  # the source is cleared whole


def test_a_paste_past_the_grid_or_a_bad_paste_type_is_refused_and_nothing_changes(
    ws: gspread.Worksheet,
) -> None:
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        ws.copy_range("A1:B2", "Z999")
    with pytest.raises(gspread.exceptions.APIError, match=r"paste_type|pasteType"):
        ws.copy_range("A1:B2", "D1", paste_type="PASTE_EVERYTHING")  # type: ignore[arg-type]
    assert _empty(ws, "D1:E2")
