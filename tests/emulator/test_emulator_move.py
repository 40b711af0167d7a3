"""moveDimension and sortRange through real gspread: cells, formats and the ranges pointing at them."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from helpers import sheet_meta as _sheet_meta


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Move")


def _move(
    sh: gspread.Spreadsheet, dim: str, start: int, end: int, dest: int, sheet_id: int = 0
) -> None:
    source = {"sheetId": sheet_id, "dimension": dim, "startIndex": start, "endIndex": end}
    sh.batch_update({"requests": [{"moveDimension": {"source": source, "destinationIndex": dest}}]})


@pytest.mark.parametrize(
    ("start", "end", "dest", "expected"),
    [
        (1, 3, 4, ["a", "d", "b", "c", "e"]),  # down: destination counted before removal
        (3, 4, 1, ["a", "d", "b", "c", "e"]),  # up
        (0, 1, 5, ["b", "c", "d", "e", "a"]),  # to the very end
        (4, 5, 0, ["e", "a", "b", "c", "d"]),  # to the top
        (1, 3, 2, ["a", "b", "c", "d", "e"]),  # inside itself: nothing moves
    ],
)
def test_rows_move_like_google(
    sh: gspread.Spreadsheet, start: int, end: int, dest: int, expected: list[str]
) -> None:
    ws = sh.sheet1
    ws.update([[x, f"{x}2"] for x in "abcde"], "A1")
    _move(sh, "ROWS", start, end, dest)
    assert ws.get_all_values()[:5] == [[x, f"{x}2"] for x in expected]
    assert ws.row_count == 1000


def test_columns_move_with_their_formats_and_notes(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([["id", "price", "name"], [1, 1234.5, "x"], [2, 0.25, "y"]], "A1")
    ws.format("B2:B3", {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}})
    ws.update_note("B1", "money")
    _move(sh, "COLUMNS", 1, 2, 3)  # price to the far right
    assert ws.get_all_values() == [
        ["id", "name", "price"],
        ["1", "x", "1,234.50"],
        ["2", "y", "0.25"],
    ]
    assert ws.get_note("C1") == "money" and ws.get_note("B1") == ""


def test_ranges_follow_the_move(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([[f"r{i}"] for i in range(10)], "A1")
    ws.define_named_range("A3:A4", "moved")  # exactly the moved rows: travels with them
    ws.define_named_range("A6:A8", "landing")  # the moved rows land inside: grows
    ws.define_named_range("A1:A2", "before")  # untouched
    ws.add_protected_range("A2:A5", description="loses two rows")
    ws.set_basic_filter("A1:A10")
    _move(sh, "ROWS", 2, 4, 7)  # rows r2, r3 go between r6 and r7
    assert ws.col_values(1) == ["r0", "r1", "r4", "r5", "r6", "r2", "r3", "r7", "r8", "r9"]
    named = {n["name"]: n["range"] for n in sh.list_named_ranges()}
    rows = {name: (r["startRowIndex"], r["endRowIndex"]) for name, r in named.items()}
    assert rows == {"moved": (5, 7), "landing": (3, 8), "before": (0, 2)}
    assert ws.get("moved") == [["r2"], ["r3"]]
    protected = sh.list_protected_ranges(ws.id)[0]["range"]
    assert (protected["startRowIndex"], protected["endRowIndex"]) == (1, 3)
    flt = _sheet_meta(sh)["basicFilter"]["range"]
    assert (flt["startRowIndex"], flt["endRowIndex"]) == (0, 10)


def test_pivot_source_and_conditional_format_follow_a_column_move(sh: gspread.Spreadsheet) -> None:
    data = sh.add_worksheet("Data", rows=5, cols=4)
    data.update([["k", "v"], ["a", 1], ["a", 2], ["b", 5]], "C1")  # in columns C:D
    pivot = sh.add_worksheet("Pivot", rows=10, cols=3)
    source = {"sheetId": data.id, "startRowIndex": 0, "endRowIndex": 4, "startColumnIndex": 2,
              "endColumnIndex": 4}  # fmt: skip
    table = {"source": source, "rows": [{"sourceColumnOffset": 0, "sortOrder": "ASCENDING"}],
             "values": [{"summarizeFunction": "SUM", "sourceColumnOffset": 1}]}  # fmt: skip
    rule = {"ranges": [{**source, "startRowIndex": 1}],
            "booleanRule": {"condition": {"type": "NOT_BLANK"}, "format": {"textFormat": {"bold": True}}}}  # fmt: skip
    sh.batch_update({"requests": [
        {"updateCells": {"start": {"sheetId": pivot.id}, "rows": [{"values": [{"pivotTable": table}]}],
                         "fields": "pivotTable"}},
        {"addConditionalFormatRule": {"rule": rule, "index": 0}},
    ]})  # fmt: skip
    _move(sh, "COLUMNS", 2, 4, 0, sheet_id=data.id)  # the table moves to A:B
    meta = sh.fetch_sheet_metadata(
        {"ranges": "Pivot!A1", "fields": "sheets.data.rowData.values.pivotTable"}
    )
    moved = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["pivotTable"]["source"]
    assert (moved["startColumnIndex"], moved["endColumnIndex"]) == (0, 2)
    assert pivot.get_all_values()[:4] == [
        ["k", "SUM of v"],
        ["a", "3"],
        ["b", "5"],
        ["Grand Total", "8"],
    ]
    cf_range = _sheet_meta(sh, "Data")["conditionalFormats"][0]["ranges"][0]
    assert (cf_range["startColumnIndex"], cf_range["endColumnIndex"]) == (0, 2)


@pytest.mark.parametrize(
    ("source", "dest", "message"),
    [
        ({"dimension": "ROWS", "startIndex": 998, "endIndex": 1001}, 0, "Invalid source range"),
        ({"dimension": "ROWS", "startIndex": 0, "endIndex": 1}, 1001, "Invalid destinationIndex"),
        (
            {"dimension": "CELLS", "startIndex": 0, "endIndex": 1},
            3,
            'google.apps.sheets.v4.Dimension), "CELLS"',
        ),
    ],
)
def test_bad_moves_are_400_and_change_nothing(
    sh: gspread.Spreadsheet, source: dict[str, Any], dest: int, message: str
) -> None:
    ws = sh.sheet1
    ws.update([["a"], ["b"]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": [
            {"moveDimension": {"source": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 1},
                               "destinationIndex": 2}},  # valid, but the batch fails below
            {"moveDimension": {"source": {"sheetId": 0, **source}, "destinationIndex": dest}},
        ]})  # fmt: skip
    assert info.value.code == 400
    assert "requests[1]" in info.value.error["message"]
    assert message in info.value.error["message"]
    assert ws.col_values(1) == ["a", "b"]


ROWS = [["sku", "grade", "price"], ["p1", "B", 30], ["p2", "a", 10], ["p3", "", 20],
        ["p4", "b", 10], ["p5", "A", ""]]  # fmt: skip


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([(3, "asc")], ["p2", "p4", "p3", "p1", "p5"]),  # equal prices keep their order; blank last
        ([(3, "des")], ["p1", "p3", "p2", "p4", "p5"]),  # blank still last
        ([(2, "asc"), (3, "des")], ["p2", "p5", "p1", "p4", "p3"]),  # case-insensitive, then price
    ],
)
def test_sort_range_orders_rows_like_sheets(
    sh: gspread.Spreadsheet, specs: list[tuple[int, str]], expected: list[str]
) -> None:
    ws = sh.sheet1
    ws.update(ROWS, "A1")
    ws.update_note("A3", "p2's note")
    ws.sort(*specs, range="A2:C6")
    assert ws.col_values(1) == ["sku", *expected]
    assert ws.get_note(f"A{expected.index('p2') + 2}") == "p2's note"


def test_sort_range_puts_numbers_before_text_before_booleans(sh: gspread.Spreadsheet) -> None:
    ws = sh.sheet1
    ws.update([["x"], [True], [5], ["apple"], [-1]], "A1")
    ws.sort((1, "asc"), range="A1:A5")
    assert ws.get("A1:A5", value_render_option="UNFORMATTED_VALUE") == [
        [-1], [5], ["apple"], ["x"], [True]]  # fmt: skip


def test_sort_range_key_outside_the_range_is_400(sh: gspread.Spreadsheet) -> None:
    sh.sheet1.update(ROWS, "A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.sort((4, "asc"), range="A2:C6")
    assert info.value.code == 400 and "outside the sorted columns" in info.value.error["message"]
