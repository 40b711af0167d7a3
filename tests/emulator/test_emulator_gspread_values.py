"""gspread value features on the emulator as on Google: appending rows with empty
values (recorded answers), render options on records and values, named-range updates."""

from __future__ import annotations

import gspread
import pytest
from gspread.utils import DateTimeOption, ValueRenderOption


@pytest.fixture
def ws(gspread_client: gspread.Client) -> gspread.Worksheet:
    return gspread_client.create("Values").sheet1


def test_a_row_with_a_gap_appended_twice_lands_as_google_puts_it(ws: gspread.Worksheet) -> None:
    row = ["x 1", "", "x 3"]
    first = ws.append_row(row)
    assert "tableRange" not in first
    assert first["updates"]["updatedRange"] == "Sheet1!A1:C1"
    assert first["updates"]["updatedCells"] == 3
    second = ws.append_row(row)
    assert second["tableRange"] == "Sheet1!C1"
    assert second["updates"]["updatedRange"] == "Sheet1!C2:E2"
    assert ws.row_values(2) == ["", "", "x 1", "", "x 3"]


def test_a_table_range_keeps_the_row_in_place(ws: gspread.Worksheet) -> None:
    row = ["x 1", "", "x 3"]
    ws.append_row(row)
    answer = ws.append_row(row, table_range="A1")
    assert answer["tableRange"] == "Sheet1!A1"
    assert answer["updates"]["updatedRange"] == "Sheet1!A2:C2"
    assert ws.row_values(2) == row


def test_empty_rows_are_written_and_never_overwritten_by_the_next_append(
    ws: gspread.Worksheet,
) -> None:
    empty = ws.append_rows([["", "", ""]])
    assert empty["updates"]["updatedRange"] == "Sheet1!A1:C1"
    assert ws.append_row([])["updates"]["updatedRange"] == "Sheet1!A1"
    ws.append_rows([["a", "b"], ["", ""], ["c", ""]])
    answer = ws.append_rows([["d", "e"]])
    assert answer["tableRange"] == "Sheet1!A3"  # the last table: row 3, after the empty row
    assert ws.get_all_values() == [["a", "b"], ["", ""], ["c", ""], ["d", "e"]]


def test_rows_after_an_empty_row_are_appended_under_them(ws: gspread.Worksheet) -> None:
    ws.update([["h1", "h2", "h3"], [1, 2, 3], ["", "", ""], ["", "b", "c"]], "A1")
    answer = ws.append_row(["p", "q"], table_range="A:C")
    assert answer["tableRange"] == "Sheet1!B4:C4"
    assert ws.row_values(5) == ["", "p", "q"]


@pytest.fixture
def typed(ws: gspread.Worksheet) -> gspread.Worksheet:
    ws.update(
        [["Date", "Share", "Text", "N"], ["2020-01-01", 0.12, "1999-01-02", 53]], "A1", raw=False
    )
    return ws


def test_records_under_each_value_render_option(typed: gspread.Worksheet) -> None:
    unformatted = typed.get_all_records(value_render_option=ValueRenderOption.unformatted)
    assert unformatted == [{"Date": 43831, "Share": 0.12, "Text": 36162, "N": 53}]
    formatted = typed.get_all_records(value_render_option=ValueRenderOption.formatted)
    assert formatted == [{"Date": "2020-01-01", "Share": 0.12, "Text": "1999-01-02", "N": 53}]


@pytest.mark.parametrize(
    ("render", "dates", "expected"),
    [
        ("UNFORMATTED_VALUE", "SERIAL_NUMBER", [43831, 0.12, 36162, 53]),
        ("UNFORMATTED_VALUE", "FORMATTED_STRING", ["2020-01-01", 0.12, "1999-01-02", 53]),
        ("FORMATTED_VALUE", "SERIAL_NUMBER", ["2020-01-01", "0.12", "1999-01-02", "53"]),
        ("FORMATTED_VALUE", "FORMATTED_STRING", ["2020-01-01", "0.12", "1999-01-02", "53"]),
    ],
)
def test_date_time_render_option_on_values_get_and_batch_get(
    typed: gspread.Worksheet, render: str, dates: str, expected: list[object]
) -> None:
    options = {"value_render_option": render, "date_time_render_option": dates}
    assert typed.get_values("A2:D2", **options) == [expected]  # type: ignore[arg-type]
    assert typed.get("A2:D2", **options) == [expected]  # type: ignore[arg-type]
    assert typed.batch_get(["A2:D2"], **options)[0] == [expected]  # type: ignore[arg-type]
    assert typed.get_all_values(**options)[1] == expected  # type: ignore[arg-type]


def test_date_time_option_is_ignored_under_formatted_value(typed: gspread.Worksheet) -> None:
    got = typed.get("A2", date_time_render_option=DateTimeOption.serial_number)
    assert got == [["2020-01-01"]]


def _named(ws: gspread.Worksheet) -> dict[str, object]:
    return dict(ws.spreadsheet.list_named_ranges()[0])


def test_update_named_range_as_gspread_sends_it(ws: gspread.Worksheet) -> None:
    ws.define_named_range("A1:B2", "Before")
    range_id = _named(ws)["namedRangeId"]
    ws.spreadsheet.batch_update({"requests": [{"updateNamedRange": {
        "namedRange": {"namedRangeId": range_id, "name": "After"}, "fields": "name"}}]})  # fmt: skip
    assert _named(ws)["name"] == "After"
    ws.spreadsheet.batch_update({"requests": [{"updateNamedRange": {"namedRange": {
        "namedRangeId": range_id,
        "range": {"sheetId": 0, "startRowIndex": 2, "endRowIndex": 4, "startColumnIndex": 2, "endColumnIndex": 4},
    }, "fields": "range"}}]})  # fmt: skip
    assert _named(ws) == {"namedRangeId": range_id, "name": "After", "range": {
        "startRowIndex": 2, "endRowIndex": 4, "startColumnIndex": 2, "endColumnIndex": 4}}  # fmt: skip
    ws.spreadsheet.batch_update({"requests": [{"updateNamedRange": {"namedRange": {
        "namedRangeId": range_id, "range": {"endRowIndex": 9}}, "fields": "range.endRowIndex"}}]})  # fmt: skip
    assert _named(ws)["range"] == {
        "startRowIndex": 2,
        "endRowIndex": 9,
        "startColumnIndex": 2,
        "endColumnIndex": 4,
    }
    assert ws.spreadsheet.values_get("After")["range"] == "Sheet1!C3:D9"


def test_a_star_mask_without_a_range_or_a_bad_name_is_refused(ws: gspread.Worksheet) -> None:
    ws.define_named_range("A1:B2", "Kept")
    before = _named(ws)
    for named, fields in (({"name": "NoRange"}, "*"), ({"name": "A1"}, "name")):
        with pytest.raises(gspread.exceptions.APIError, match="updateNamedRange"):
            ws.spreadsheet.batch_update({"requests": [{"updateNamedRange": {
                "namedRange": {"namedRangeId": before["namedRangeId"], **named}, "fields": fields}}]})  # fmt: skip
    assert _named(ws) == before
