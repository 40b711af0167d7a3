"""``values:batchGetByDataFilter`` / ``values:batchUpdateByDataFilter`` through real gspread.

gspread 6 has no calls for them, so the bodies go through gspread's own HTTP
client (``Spreadsheet.client.request``) to Google's URLs, shaped as Google's
reference documents them (``DataFilter``, ``MatchedValueRange``,
``DataFilterValueRange``, ``UpdateValuesByDataFilterResponse``).
"""

from __future__ import annotations

from typing import Any

import gspread
import pytest
import requests
from fixtures_emulator import EmulatorControls
from gspread.urls import SPREADSHEET_URL
from gspread.utils import ValueRenderOption

from sheets_emulator.kinds import SERVED_KINDS, request_kind

PRICING = 555  # sheetId of the "Pricing" tab: 6 rows × 5 columns
PRICE_ID = 4242  # metadata on column C ("Price")
ROW_ID = 77  # metadata on row 3
SHEET_ID = 88  # metadata on the Pricing sheet
ROWS = [["SKU", "Name", "Price"], ["A-1", "Phone", 100], ["B-2", "Tablet", 250]]
ROWS_FORMATTED = [["SKU", "Name", "Price"], ["A-1", "Phone", "100"], ["B-2", "Tablet", "250"]]


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    book = gspread_client.create("By data filter")
    grid = {"rowCount": 6, "columnCount": 5}
    props = {"sheetId": PRICING, "title": "Pricing", "gridProperties": grid}
    book.batch_update(
        {
            "requests": [
                {"addSheet": {"properties": props}},
                tag(PRICE_ID, "price", dim("COLUMNS", 2)),
                tag(ROW_ID, "row", dim("ROWS", 2)),
                tag(SHEET_ID, "sheet", {"sheetId": PRICING}),
            ]
        }
    )
    book.worksheet("Pricing").update(ROWS, "A1")
    return book


def dim(dimension: str, index: int) -> dict[str, Any]:
    rng = {"sheetId": PRICING, "dimension": dimension, "startIndex": index, "endIndex": index + 1}
    return {"dimensionRange": rng}


def tag(metadata_id: int, key: str, location: dict[str, Any]) -> dict[str, Any]:
    meta = {"metadataId": metadata_id, "metadataKey": key, "visibility": "DOCUMENT"}
    return {"createDeveloperMetadata": {"developerMetadata": {**meta, "location": location}}}


def by_id(metadata_id: int) -> dict[str, Any]:
    return {"developerMetadataLookup": {"metadataId": metadata_id}}


def grid(r0: int, r1: int, c0: int, c1: int, sheet_id: int = PRICING) -> dict[str, Any]:
    bounds = {"startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}
    return {"gridRange": {"sheetId": sheet_id, **bounds}}


def get_by(sh: gspread.Spreadsheet, *filters: dict[str, Any], **options: Any) -> dict[str, Any]:
    url = SPREADSHEET_URL % sh.id + "/values:batchGetByDataFilter"
    body = {"dataFilters": list(filters), **options}
    return dict(sh.client.request("post", url, json=body).json())


def update_by(sh: gspread.Spreadsheet, *data: dict[str, Any], **options: Any) -> dict[str, Any]:
    url = SPREADSHEET_URL % sh.id + "/values:batchUpdateByDataFilter"
    body = {"valueInputOption": "RAW", "data": list(data), **options}
    return dict(sh.client.request("post", url, json=body).json())


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(gspread.exceptions.APIError) as info:
        call(*args, **kwargs)
    assert info.value.code == 400 and info.value.error["status"] == "INVALID_ARGUMENT"
    return str(info.value.error["message"])


def ranges(answer: dict[str, Any]) -> list[str]:
    return [m["valueRange"]["range"] for m in answer.get("valueRanges", [])]


def batch(sh: gspread.Spreadsheet, *requests: dict[str, Any]) -> None:
    sh.batch_update({"requests": list(requests)})


def move_columns(start: int, end: int, to: int) -> dict[str, Any]:
    source = {"sheetId": PRICING, "dimension": "COLUMNS", "startIndex": start, "endIndex": end}
    return {"moveDimension": {"source": source, "destinationIndex": to}}


def columns(kind: str, start: int, end: int) -> dict[str, Any]:
    rng = {"sheetId": PRICING, "dimension": "COLUMNS", "startIndex": start, "endIndex": end}
    return {kind: {"range": rng}}


# -- reading -------------------------------------------------------------------------


def test_a_column_tagged_by_metadata_is_read_whole_with_the_filter_that_matched(
    sh: gspread.Spreadsheet,
) -> None:
    answer = get_by(sh, by_id(PRICE_ID))
    assert answer == {
        "spreadsheetId": sh.id,
        "valueRanges": [
            {
                "valueRange": {
                    "range": "Pricing!C1:C6",
                    "majorDimension": "ROWS",
                    "values": [["Price"], ["100"], ["250"]],
                },
                "dataFilters": [by_id(PRICE_ID)],
            }
        ],
    }


def test_a_row_reads_the_whole_row_and_a_sheet_its_grid(sh: gspread.Spreadsheet) -> None:
    answer = get_by(sh, by_id(ROW_ID), by_id(SHEET_ID))
    assert ranges(answer) == ["Pricing!A3:E3", "Pricing!A1:E6"]
    row, whole = (m["valueRange"]["values"] for m in answer["valueRanges"])
    assert row == [["B-2", "Tablet", "250"]] and whole == ROWS_FORMATTED


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (move_columns(2, 3, 5), "Pricing!E1:E6"),  # moved to the far right
        (move_columns(2, 3, 0), "Pricing!A1:A6"),  # moved to the front
        (columns("insertDimension", 0, 2), "Pricing!E1:E6"),  # two inserted before it
        (columns("deleteDimension", 0, 1), "Pricing!B1:B6"),  # one deleted before it
    ],
)
def test_the_tagged_column_is_followed_where_the_team_moved_it(
    sh: gspread.Spreadsheet, change: dict[str, Any], expected: str
) -> None:
    batch(sh, change)
    answer = get_by(sh, by_id(PRICE_ID))
    assert ranges(answer) == [expected]
    assert answer["valueRanges"][0]["valueRange"]["values"] == [["Price"], ["100"], ["250"]]


def test_a_deleted_tagged_column_matches_nothing(sh: gspread.Spreadsheet) -> None:
    batch(sh, columns("deleteDimension", 2, 3))
    assert get_by(sh, by_id(PRICE_ID)) == {"spreadsheetId": sh.id}
    answer = get_by(sh, by_id(PRICE_ID), by_id(ROW_ID))  # only the filter that matched answers
    assert ranges(answer) == ["Pricing!A3:D3"]
    assert answer["valueRanges"][0]["dataFilters"] == [by_id(ROW_ID)]


def test_a1_and_grid_ranges_and_filters_matching_the_same_range(sh: gspread.Spreadsheet) -> None:
    answer = get_by(sh, {"a1Range": "Pricing!A2:B3"}, grid(1, 3, 0, 2), grid(0, 1, 0, 2))
    assert answer["valueRanges"] == [
        {
            "valueRange": {
                "range": "Pricing!A2:B3",
                "majorDimension": "ROWS",
                "values": [["A-1", "Phone"], ["B-2", "Tablet"]],
            },
            "dataFilters": [{"a1Range": "Pricing!A2:B3"}, grid(1, 3, 0, 2)],
        },
        {
            "valueRange": {
                "range": "Pricing!A1:B1",
                "majorDimension": "ROWS",
                "values": [["SKU", "Name"]],
            },
            "dataFilters": [grid(0, 1, 0, 2)],
        },
    ]


def test_a_grid_range_without_bounds_is_the_whole_sheet(sh: gspread.Spreadsheet) -> None:
    assert ranges(get_by(sh, {"gridRange": {"sheetId": PRICING}})) == ["Pricing!A1:E6"]


def test_major_dimension_columns(sh: gspread.Spreadsheet) -> None:
    answer = get_by(sh, grid(0, 3, 0, 3), majorDimension="COLUMNS")
    value_range = answer["valueRanges"][0]["valueRange"]
    assert value_range["majorDimension"] == "COLUMNS"
    assert value_range["values"] == [["SKU", "A-1", "B-2"], ["Name", "Phone", "Tablet"],
                                     ["Price", "100", "250"]]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["1,234.50", "12%", "2024-01-05 12:00:00"]),  # formulas are not evaluated
        ({"valueRenderOption": "UNFORMATTED_VALUE"}, [1234.5, 0.12, 45296.5]),
        (
            {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"},
            [1234.5, 0.12, "2024-01-05 12:00:00"],
        ),
        ({"valueRenderOption": "FORMULA"}, [1234.5, 0.12, 45296.5, "=1+1"]),
    ],
)
def test_render_options_are_read_from_the_body(
    sh: gspread.Spreadsheet, options: dict[str, Any], expected: list[Any]
) -> None:
    typed = [["1,234.5", "12%", "2024-01-05 12:00:00", "=1+1"]]
    sh.worksheet("Pricing").update(typed, "A5", raw=False)
    answer = get_by(sh, {"a1Range": "Pricing!A5:D5"}, **options)
    values = answer["valueRanges"][0]["valueRange"]["values"]
    assert values == [expected]


# -- refused reads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ([{}], "dataFilters[0]"),
        ([by_id(PRICE_ID), {"a1Range": "A1", "gridRange": {"sheetId": 0}}], "data_filters[1]"),
        ([{"range": "A1"}], "data_filters[0]"),
        ([{"developerMetadataLookup": {"metadataId": "price"}}], "data_filters[0]"),
        ([{"developerMetadataLookup": {"locationType": "CELL"}}], "data_filters[0]"),
        ([grid(0, 1, 0, 1, sheet_id=999)], "dataFilters[0]"),
        ([{"a1Range": "Nowhere!A1"}], "dataFilters[0]"),
        ([{"a1Range": "Pricing!A1:A99"}], "dataFilters[0]"),
        ([], "dataFilters"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_it(
    sh: gspread.Spreadsheet, filters: list[dict[str, Any]], named: str
) -> None:
    assert named in refused(get_by, sh, *filters)


def test_unknown_fields_and_options_are_refused(sh: gspread.Spreadsheet) -> None:
    assert "major_dimension" in refused(get_by, sh, by_id(PRICE_ID), majorDimension="DIAGONAL")
    assert "value_render_option" in refused(get_by, sh, by_id(PRICE_ID), valueRenderOption="RAW")
    assert 'Unknown name "ranges"' in refused(get_by, sh, by_id(PRICE_ID), ranges=["A1"])


# -- writing -------------------------------------------------------------------------


def test_a_raw_write_by_grid_range_keeps_text_as_typed(sh: gspread.Spreadsheet) -> None:
    answer = update_by(sh, {"dataFilter": grid(3, 4, 0, 3), "values": [["=1+1", "007", "5"]]})
    assert answer == {
        "spreadsheetId": sh.id,
        "totalUpdatedRows": 1,
        "totalUpdatedColumns": 3,
        "totalUpdatedCells": 3,
        "totalUpdatedSheets": 1,
        "responses": [
            {
                "updatedRange": "Pricing!A4:C4",
                "updatedRows": 1,
                "updatedColumns": 3,
                "updatedCells": 3,
                "dataFilter": grid(3, 4, 0, 3),
            }
        ],
    }
    ws = sh.worksheet("Pricing")
    assert ws.get("A4:C4", value_render_option=ValueRenderOption.unformatted) == [
        ["=1+1", "007", "5"]
    ]


def test_a_user_entered_write_parses_and_echoes_the_matched_range(
    sh: gspread.Spreadsheet,
) -> None:
    answer = update_by(
        sh,
        {"dataFilter": grid(3, 4, 0, 4), "values": [["=1+1", "12%", "1,234.5"]]},
        valueInputOption="USER_ENTERED",
        includeValuesInResponse=True,
        responseValueRenderOption="FORMULA",
    )
    (response,) = answer["responses"]
    assert response["updatedRange"] == "Pricing!A4:C4"
    assert response["updatedData"] == {
        "range": "Pricing!A4:D4",  # the whole range the filter matched
        "majorDimension": "ROWS",
        "values": [["=1+1", 0.12, 1234.5]],
    }


def test_values_by_metadata_land_in_the_moved_column_and_shorter_values_leave_the_rest(
    sh: gspread.Spreadsheet,
) -> None:
    batch(sh, move_columns(2, 3, 5))
    answer = update_by(sh, {"dataFilter": by_id(PRICE_ID), "values": [["Price €"], [None], [260]]})
    assert answer["responses"][0]["updatedRange"] == "Pricing!E1:E3"
    assert answer["totalUpdatedCells"] == 2 and answer["totalUpdatedRows"] == 2
    assert sh.worksheet("Pricing").get("E1:E4") == [["Price €"], ["100"], ["260"]]


def test_a_write_by_columns(sh: gspread.Spreadsheet) -> None:
    data = {"dataFilter": grid(3, 5, 0, 2), "majorDimension": "COLUMNS", "values": [[1, 2], [3]]}
    assert update_by(sh, data)["responses"][0]["updatedRange"] == "Pricing!A4:B5"
    assert sh.worksheet("Pricing").get("A4:B5") == [["1", "3"], ["2"]]


def test_a_filter_matching_several_ranges_writes_each(sh: gspread.Spreadsheet) -> None:
    batch(sh, tag(5, "price", dim("COLUMNS", 4)))  # a second column keyed "price"
    key = {"developerMetadataLookup": {"metadataKey": "price"}}
    answer = update_by(sh, {"dataFilter": key, "values": [["P"]]})
    assert [r["updatedRange"] for r in answer["responses"]] == ["Pricing!C1", "Pricing!E1"]
    assert answer["totalUpdatedColumns"] == 2 and answer["totalUpdatedCells"] == 2
    assert sh.worksheet("Pricing").get("A1:E1") == [["SKU", "Name", "P", "", "P"]]


def test_a_filter_matching_nothing_writes_nothing(
    sh: gspread.Spreadsheet, controls: EmulatorControls
) -> None:
    before = controls.counters()["cells_written"]
    answer = update_by(sh, {"dataFilter": by_id(123456), "values": [["lost"]]})
    assert answer == {"spreadsheetId": sh.id}
    assert controls.counters()["cells_written"] == before


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"dataFilter": grid(0, 1, 0, 1), "values": [["x", "y"]]}, "data[1]"),  # wider than it
        ({"dataFilter": grid(0, 1, 0, 2), "values": [["x"], ["y"]]}, "data[1]"),  # taller
        ({"dataFilter": by_id(ROW_ID), "values": [["x"] * 6]}, "data[1]"),
        ({"dataFilter": grid(0, 1, 0, 1), "values": [["x" * 50_001]]}, "data[1].values[0][0]"),
        ({"dataFilter": {"a1Range": "Pricing!Z1"}, "values": [["x"]]}, "data[1].dataFilter"),
        ({"dataFilter": {}, "values": [["x"]]}, "data[1].dataFilter"),
        ({"values": [["x"]]}, "data[1].dataFilter"),
        ({"dataFilter": grid(0, 1, 0, 1), "range": "A1", "values": [["x"]]}, "data[1]"),
        ({"dataFilter": grid(0, 1, 0, 1), "majorDimension": "UP", "values": [[1]]}, "data[1]"),
    ],
)
def test_a_write_that_fails_validation_changes_nothing(
    sh: gspread.Spreadsheet, bad: dict[str, Any], named: str
) -> None:
    good = {"dataFilter": grid(5, 6, 0, 1), "values": [["written first?"]]}
    assert named in refused(update_by, sh, good, bad)
    assert sh.worksheet("Pricing").get("A1:E6") == ROWS_FORMATTED


def test_the_input_option_is_required_and_checked(sh: gspread.Spreadsheet) -> None:
    data = {"dataFilter": grid(0, 1, 0, 1), "values": [["x"]]}
    assert "valueInputOption" in refused(update_by, sh, data, valueInputOption=None)
    assert "value_input_option" in refused(update_by, sh, data, valueInputOption="TYPED")
    assert "response_value_render_option" in refused(
        update_by, sh, data, responseValueRenderOption="RAW"
    )


# -- counting, quotas, faults ----------------------------------------------------------


def test_kinds_cells_and_quotas_are_counted_like_other_values_calls(
    sh: gspread.Spreadsheet, controls: EmulatorControls
) -> None:
    before = controls.counters()
    get_by(sh, by_id(PRICE_ID))
    update_by(sh, {"dataFilter": grid(3, 5, 0, 2), "values": [[1, 2], [3, None]]})
    after = controls.counters()
    assert after["by_kind"]["spreadsheets.values.batchGetByDataFilter"] == 1
    assert after["by_kind"]["spreadsheets.values.batchUpdateByDataFilter"] == 1
    assert after["cells_written"] - before["cells_written"] == 3
    controls.quotas(read_per_minute=0)
    update_by(sh, {"dataFilter": grid(0, 1, 0, 1), "values": [["a write: not a read"]]})
    assert refused_with(429, get_by, sh, by_id(PRICE_ID))


def refused_with(code: int, call: Any, *args: Any) -> bool:
    with pytest.raises(gspread.exceptions.APIError) as info:
        call(*args)
    return bool(info.value.code == code)


def test_faults_match_the_new_kinds(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    controls.fault(kind="503", request_kind="spreadsheets.values.batchUpdateByDataFilter")
    assert refused_with(503, update_by, sh, {"dataFilter": grid(0, 1, 0, 1), "values": [["x"]]})
    assert sh.worksheet("Pricing").acell("A1").value == "SKU"


def test_request_kinds() -> None:
    path = "/v4/spreadsheets/abc/values:"
    assert request_kind("POST", path + "batchGetByDataFilter") == (
        "spreadsheets.values.batchGetByDataFilter"
    )
    assert request_kind("POST", path + "batchUpdateByDataFilter") == (
        "spreadsheets.values.batchUpdateByDataFilter"
    )
    assert request_kind("GET", path + "batchGetByDataFilter") == "unknown"


def test_the_new_kinds_are_listed_among_what_is_served(controls: EmulatorControls) -> None:
    info = requests.get(f"{controls.url}/info", timeout=10).json()
    assert "spreadsheets.values.batchGetByDataFilter" in info["served_methods"]
    assert "spreadsheets.values.batchUpdateByDataFilter" in info["served_methods"]
    assert info["served_methods"] == list(SERVED_KINDS)
