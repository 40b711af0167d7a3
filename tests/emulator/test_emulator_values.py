"""Values through real gspread: input options, render options, shapes, ranges, errors."""

from __future__ import annotations

import gspread
import pytest
from gspread.utils import ValueInputOption, ValueRenderOption


@pytest.fixture
def ws(gspread_client: gspread.Client) -> gspread.Worksheet:
    return gspread_client.create("Values").sheet1


def test_raw_keeps_text_as_typed(ws: gspread.Worksheet) -> None:
    ws.update([["=1+2", "123", "2024-01-05", "TRUE"]], "A1", raw=True)
    got = ws.get("A1:D1", value_render_option=ValueRenderOption.unformatted)
    assert got == [["=1+2", "123", "2024-01-05", "TRUE"]]
    formula = ws.get("A1", value_render_option=ValueRenderOption.formula)
    assert formula == [["=1+2"]]


@pytest.mark.parametrize(
    ("typed", "unformatted", "formatted"),
    [
        ("123", 123, "123"),
        ("1,234.5", 1234.5, "1,234.50"),
        ("12%", 0.12, "12%"),
        ("TRUE", True, "TRUE"),
        ("false", False, "FALSE"),
        ("2024-01-05", 45296, "2024-01-05"),
        ("'007", "007", "007"),
        ("plain text", "plain text", "plain text"),
        ("-2.5", -2.5, "-2.5"),
    ],
)
def test_user_entered_is_parsed(
    ws: gspread.Worksheet, typed: str, unformatted: object, formatted: str
) -> None:
    ws.update([[typed]], "B2", value_input_option=ValueInputOption.user_entered)
    assert ws.get("B2", value_render_option=ValueRenderOption.unformatted) == [[unformatted]]
    assert ws.get("B2") == [[formatted]]


def test_user_entered_formula_is_stored_and_returned_under_formula(ws: gspread.Worksheet) -> None:
    ws.update([[2, "=A1*2"]], "A1", raw=False)
    assert ws.get("A1:B1", value_render_option=ValueRenderOption.formula) == [[2, "=A1*2"]]


@pytest.mark.parametrize(
    ("date_option", "expected"),
    [("SERIAL_NUMBER", 45296.5), ("FORMATTED_STRING", "2024-01-05 12:00:00")],
)
def test_date_time_render_option(ws: gspread.Worksheet, date_option: str, expected: object) -> None:
    ws.update([["2024-01-05 12:00:00"]], "A1", raw=False)
    got = ws.get(
        "A1", value_render_option=ValueRenderOption.unformatted, date_time_render_option=date_option
    )
    assert got == [[expected]] or got == [[expected.replace("2024-01-05", "2024-01-05")]]  # type: ignore[union-attr]


def test_numbers_come_back_as_json_numbers(ws: gspread.Worksheet) -> None:
    ws.update([[1, 2.5, 3.0, True]], "A1")
    assert ws.get("A1:D1", value_render_option=ValueRenderOption.unformatted) == [[1, 2.5, 3, True]]
    assert ws.get("A1:D1") == [["1", "2.5", "3", "TRUE"]]


def test_trailing_empty_cells_and_rows_are_trimmed(ws: gspread.Worksheet) -> None:
    ws.update([["a", "", "c", ""], ["", "", "", ""], ["", "x"], ["", ""]], "A1")
    result = ws.spreadsheet.values_get("Sheet1!A1:E6")
    assert result["range"] == "Sheet1!A1:E6"
    assert result["majorDimension"] == "ROWS"
    assert result["values"] == [["a", "", "c"], [], ["", "x"]]


def test_empty_range_still_has_range_and_major_dimension(ws: gspread.Worksheet) -> None:
    result = ws.spreadsheet.values_get("Sheet1!C3:D4")
    assert result == {"range": "Sheet1!C3:D4", "majorDimension": "ROWS"}


def test_columns_major_dimension(ws: gspread.Worksheet) -> None:
    ws.update([["a", "b"], ["c", "d"]], "A1")
    result = ws.spreadsheet.values_get("Sheet1!A1:B2", params={"majorDimension": "COLUMNS"})
    assert result["values"] == [["a", "c"], ["b", "d"]]
    assert ws.col_values(2) == ["b", "d"]


def test_titles_with_spaces_are_quoted(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Quoted")
    kpi = sh.add_worksheet("KPI Daily", rows=10, cols=3)
    answer = kpi.update([[1, 2, 3]], "A1")
    assert answer["updatedRange"] == "'KPI Daily'!A1:C1"
    assert sh.values_get("'KPI Daily'!A:B")["range"] == "'KPI Daily'!A1:B10"
    assert sh.values_get("'KPI Daily'")["range"] == "'KPI Daily'!A1:C10"


def test_update_response_counts(ws: gspread.Worksheet) -> None:
    answer = ws.update([[1, 2, 3], [4, 5, 6]], "B2")
    assert answer["updatedRange"] == "Sheet1!B2:D3"
    assert (answer["updatedRows"], answer["updatedColumns"], answer["updatedCells"]) == (2, 3, 6)


def test_include_values_in_response(ws: gspread.Worksheet) -> None:
    answer = ws.update([["1,5"], ["=A1"]], "A1", raw=False, include_values_in_response=True,
                       response_value_render_option=ValueRenderOption.formula)  # fmt: skip
    assert answer["updatedData"]["values"] == [["1,5"], ["=A1"]]


def test_batch_update_and_batch_get(ws: gspread.Worksheet) -> None:
    answer = ws.batch_update(
        [{"range": "A1:B1", "values": [[1, 2]]}, {"range": "D5", "values": [["x"]]}]
    )
    assert answer["totalUpdatedCells"] == 3 and len(answer["responses"]) == 2
    got = ws.batch_get(["A1:B1", "D5", "Z9"])
    assert [list(v) for v in got] == [[["1", "2"]], [["x"]], []]
    assert got[2].range == "Sheet1!Z9"


def test_append_finds_the_table_and_grows_the_grid(gspread_client: gspread.Client) -> None:
    ws = gspread_client.create("Append").add_worksheet("Log", rows=2, cols=2)
    ws.append_rows([["h1", "h2"], ["a", 1]])
    answer = ws.append_rows([["b", 2], ["c", 3]])
    assert answer["tableRange"] == "Log!A1:B2"
    assert answer["updates"]["updatedRange"] == "Log!A3:B4"
    ws = ws.spreadsheet.worksheet("Log")
    assert ws.row_count == 4
    assert ws.get_all_values() == [["h1", "h2"], ["a", "1"], ["b", "2"], ["c", "3"]]


def test_insert_rows_uses_insert_then_append(ws: gspread.Worksheet) -> None:
    ws.update([["a"], ["c"]], "A1")
    ws.insert_rows([["b"]], row=2)
    assert ws.col_values(1) == ["a", "b", "c"]
    assert ws.spreadsheet.sheet1.row_count == 1001


def test_clear_and_batch_clear(ws: gspread.Worksheet) -> None:
    ws.update([[1, 2], [3, 4]], "A1")
    ws.batch_clear(["A1"])
    assert ws.get_all_values() == [["", "2"], ["3", "4"]]
    answer = ws.clear()
    assert answer["clearedRange"] == "Sheet1!A1:Z1000"
    assert ws.get_all_values() == [[]] or ws.get_all_values() == []


def test_empty_string_clears_and_null_skips(ws: gspread.Worksheet) -> None:
    ws.update([["a", "b", "c"]], "A1")
    ws.spreadsheet.values_update(
        "Sheet1!A1", params={"valueInputOption": "RAW"}, body={"values": [["", None, "z"]]}
    )
    assert ws.get("A1:C1") == [["", "b", "z"]]


@pytest.mark.parametrize(
    ("range_name", "message"),
    [
        ("Nope!A1", "Unable to parse range: Nope!A1"),
        ("A1001", "exceeds grid limits"),
        ("AA1", "exceeds grid limits"),
    ],
)
def test_bad_ranges_are_400(ws: gspread.Worksheet, range_name: str, message: str) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.spreadsheet.values_update(
            range_name, params={"valueInputOption": "RAW"}, body={"values": [[1]]}
        )
    assert info.value.code == 400
    assert message in info.value.error["message"]
    assert info.value.error["status"] == "INVALID_ARGUMENT"


def test_write_bigger_than_a_multi_cell_range_is_refused(ws: gspread.Worksheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.update([[1, 2, 3]], "A1:B1")
    assert info.value.code == 400
    assert ws.get_all_values() in ([[]], [])


def test_cell_over_50000_characters_is_refused_and_nothing_is_written(
    ws: gspread.Worksheet,
) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.batch_update(
            [{"range": "A1", "values": [["ok"]]}, {"range": "B1", "values": [["x" * 50_001]]}]
        )
    assert info.value.code == 400 and "50000" in info.value.error["message"]
    assert ws.get_all_values() in ([[]], [])
    ws.update([["x" * 50_000]], "A1")
    assert len(ws.acell("A1").value) == 50_000


def test_value_input_option_is_required(ws: gspread.Worksheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.spreadsheet.values_update("Sheet1!A1", body={"values": [[1]]})
    assert info.value.code == 400 and "valueInputOption" in info.value.error["message"]


def test_number_formats_render_formatted_values(ws: gspread.Worksheet) -> None:
    ws.update([[1234.5, 0.256, 45296, -3]], "A1")
    ws.format("A1", {"numberFormat": {"type": "CURRENCY", "pattern": "#,##0.00 [$€]"}})
    ws.format("B1", {"numberFormat": {"type": "PERCENT", "pattern": "0.0%"}})
    ws.format("C1", {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}})
    ws.format("D1", {"numberFormat": {"type": "NUMBER", "pattern": "0.00"}})
    assert ws.get("A1:D1") == [["1,234.50 €", "25.6%", "2024-01-05", "-3.00"]]
    assert ws.get("A1:D1", value_render_option=ValueRenderOption.unformatted) == [
        [1234.5, 0.256, 45296, -3]
    ]
