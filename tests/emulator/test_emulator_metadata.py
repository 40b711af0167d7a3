"""Developer metadata through real gspread: create/update/delete in batchUpdate, search,
get by id, ``spreadsheets.get``, and locations that move with their rows and columns.

gspread 6 has no developer-metadata helpers, so search and get go through
gspread's own HTTP client (``Spreadsheet.client.request``) with Google's URLs.
"""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from gspread.urls import SPREADSHEETS_API_V4_BASE_URL

OTHER = 777  # sheetId of the second tab

SPREADSHEET = {"spreadsheet": True}
SHEET = {"sheetId": 0}
ROW_3 = {"dimensionRange": {"sheetId": 0, "dimension": "ROWS", "startIndex": 2, "endIndex": 3}}
COL_B = {"dimensionRange": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}}
OTHER_ROW = {
    "dimensionRange": {"sheetId": OTHER, "dimension": "ROWS", "startIndex": 2, "endIndex": 3}
}


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    book = gspread_client.create("Metadata")
    book.batch_update(
        {"requests": [{"addSheet": {"properties": {"sheetId": OTHER, "title": "Other"}}}]}
    )
    return book


def meta(location: dict[str, Any], key: str = "k", **extra: Any) -> dict[str, Any]:
    return {"metadataKey": key, "visibility": "DOCUMENT", "location": location, **extra}


def create(sh: gspread.Spreadsheet, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    requests = [{"createDeveloperMetadata": {"developerMetadata": e}} for e in entries]
    replies = sh.batch_update({"requests": requests})["replies"]
    return [r["createDeveloperMetadata"]["developerMetadata"] for r in replies]


def search(sh: gspread.Spreadsheet, *filters: dict[str, Any]) -> dict[str, Any]:
    url = f"{SPREADSHEETS_API_V4_BASE_URL}/{sh.id}/developerMetadata:search"
    return dict(sh.client.request("post", url, json={"dataFilters": list(filters)}).json())


def found_keys(sh: gspread.Spreadsheet, *filters: dict[str, Any]) -> list[str]:
    answer = search(sh, *filters)
    return [
        m["developerMetadata"]["metadataKey"] for m in answer.get("matchedDeveloperMetadata", [])
    ]


def get_by_id(sh: gspread.Spreadsheet, metadata_id: int) -> dict[str, Any]:
    url = f"{SPREADSHEETS_API_V4_BASE_URL}/{sh.id}/developerMetadata/{metadata_id}"
    return dict(sh.client.request("get", url).json())


def lookup(**fields: Any) -> dict[str, Any]:
    return {"developerMetadataLookup": fields}


def batch_error(sh: gspread.Spreadsheet, *requests: dict[str, Any]) -> str:
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": list(requests)})
    assert info.value.code == 400
    return str(info.value.error["message"])


# -- create / get --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "location_type", "shown"),
    [
        (SPREADSHEET, "SPREADSHEET", {"spreadsheet": True}),
        (SHEET, "SHEET", {"sheetId": 0}),
        (ROW_3, "ROW", {"dimensionRange": {"dimension": "ROWS", "startIndex": 2, "endIndex": 3}}),
        (
            COL_B,
            "COLUMN",
            {"dimensionRange": {"dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}},
        ),
        (
            OTHER_ROW,
            "ROW",
            {
                "dimensionRange": {
                    "sheetId": OTHER,
                    "dimension": "ROWS",
                    "startIndex": 2,
                    "endIndex": 3,
                }
            },
        ),
    ],
)
def test_created_at_each_location_kind_and_read_back(
    sh: gspread.Spreadsheet, location: dict[str, Any], location_type: str, shown: dict[str, Any]
) -> None:
    (made,) = create(sh, meta(location, "owner", metadataValue="ops"))
    assert made == {
        "metadataId": made["metadataId"],
        "metadataKey": "owner",
        "metadataValue": "ops",
        "location": {"locationType": location_type, **shown},
        "visibility": "DOCUMENT",
    }
    assert get_by_id(sh, made["metadataId"]) == made
    book = sh.fetch_sheet_metadata()
    on_sheets = {s["properties"]["sheetId"]: s.get("developerMetadata", []) for s in book["sheets"]}
    if location_type == "SPREADSHEET":
        assert book["developerMetadata"] == [made] and not any(on_sheets.values())
    else:
        home = OTHER if location is OTHER_ROW else 0
        assert "developerMetadata" not in book and on_sheets[home] == [made]
        assert not any(v for sid, v in on_sheets.items() if sid != home)


def test_ids_are_assigned_unique_or_kept_when_given(sh: gspread.Spreadsheet) -> None:
    made = create(sh, *[meta(SHEET, f"k{n}") for n in range(20)], meta(ROW_3, metadataId=42))
    ids = [m["metadataId"] for m in made]
    assert len(set(ids)) == 21 and all(isinstance(i, int) and i > 0 for i in ids)
    assert ids[-1] == 42


def test_a_duplicate_id_is_a_400_and_the_batch_applies_nothing(sh: gspread.Spreadsheet) -> None:
    create(sh, meta(SHEET, metadataId=5))
    message = batch_error(
        sh,
        {"createDeveloperMetadata": {"developerMetadata": meta(ROW_3, "new")}},
        {"createDeveloperMetadata": {"developerMetadata": meta(COL_B, metadataId=5)}},
    )
    assert message.startswith("Invalid requests[1].createDeveloperMetadata:")
    assert "5 already exists" in message
    assert found_keys(sh, lookup(metadataKey="new")) == []


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            meta(
                {
                    "dimensionRange": {
                        "sheetId": 0,
                        "dimension": "ROWS",
                        "startIndex": 2,
                        "endIndex": 5,
                    }
                }
            ),
            "exactly one row or column",
        ),
        ({"metadataKey": "k", "location": SHEET}, "visibility"),
        ({"visibility": "DOCUMENT", "location": SHEET}, "metadataKey"),
        ({"metadataKey": "k", "visibility": "DOCUMENT"}, "location"),
        (meta({"spreadsheet": True, "sheetId": 0}), "oneof field 'location' is already set"),
        (meta({"sheetId": 99}), "No grid with id: 99"),
        (
            meta(
                {
                    "dimensionRange": {
                        "sheetId": 0,
                        "dimension": "ROWS",
                        "startIndex": 1000,
                        "endIndex": 1001,
                    }
                }
            ),
            "outside the sheet",
        ),
        (
            meta({"dimensionRange": {"sheetId": 0, "dimension": "ROWS", "startIndex": 4}}),
            "startIndex and endIndex",
        ),
        (
            meta(
                {
                    "dimensionRange": {
                        "sheetId": 0,
                        "dimension": "CELLS",
                        "startIndex": 1,
                        "endIndex": 2,
                    }
                }
            ),
            'google.apps.sheets.v4.Dimension), "CELLS"',
        ),
        (meta(SHEET, visibility="EVERYONE"), 'DeveloperMetadataVisibility), "EVERYONE"'),
        (meta(SHEET, metadataId=-3), "positive"),
    ],
)
def test_bad_metadata_is_a_400_naming_the_request(
    sh: gspread.Spreadsheet, entry: dict[str, Any], says: str
) -> None:
    message = batch_error(sh, {"createDeveloperMetadata": {"developerMetadata": entry}})
    # the emulator's own checks name the request; the discovery checks name the field's path
    assert message.startswith("Invalid requests[0].createDeveloperMetadata:") or (
        "requests[0].create_developer_metadata" in message
    )
    assert says in message


def test_get_of_an_unknown_id_is_a_404(sh: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        get_by_id(sh, 12345)
    assert info.value.code == 404 and "12345" in info.value.error["message"]


# -- search ----------------------------------------------------------------------


@pytest.fixture
def tagged(sh: gspread.Spreadsheet) -> gspread.Spreadsheet:
    create(
        sh,
        meta(SPREADSHEET, "book", metadataId=1, metadataValue="v1"),
        meta(SHEET, "tab", metadataId=2, metadataValue="v2", visibility="PROJECT"),
        meta(ROW_3, "row3", metadataId=3, metadataValue="shared"),
        meta(COL_B, "colB", metadataId=4, metadataValue="shared"),
        meta(OTHER_ROW, "other", metadataId=5),
    )
    return sh


@pytest.mark.parametrize(
    ("fields", "keys"),
    [
        ({"metadataId": 3}, ["row3"]),
        ({"metadataKey": "colB"}, ["colB"]),
        ({"metadataValue": "shared"}, ["row3", "colB"]),
        ({"locationType": "ROW"}, ["row3", "other"]),
        ({"locationType": "SPREADSHEET"}, ["book"]),
        ({"visibility": "PROJECT"}, ["tab"]),
        ({"visibility": "DOCUMENT", "locationType": "COLUMN"}, ["colB"]),
        ({"metadataKey": "row3", "metadataValue": "nope"}, []),
        ({"metadataLocation": {"sheetId": OTHER}}, ["book", "other"]),
    ],
)
def test_search_by_each_lookup_field(
    tagged: gspread.Spreadsheet, fields: dict[str, Any], keys: list[str]
) -> None:
    assert found_keys(tagged, lookup(**fields)) == keys


@pytest.mark.parametrize(
    ("location", "exact", "intersecting"),
    [
        (ROW_3, ["row3"], ["book", "tab", "row3", "colB"]),
        (COL_B, ["colB"], ["book", "tab", "row3", "colB"]),
        (SHEET, ["tab"], ["book", "tab", "row3", "colB"]),
        (SPREADSHEET, ["book"], ["book", "tab", "row3", "colB", "other"]),
        (
            {"dimensionRange": {"sheetId": 0, "dimension": "ROWS", "startIndex": 5, "endIndex": 9}},
            [],
            ["book", "tab", "colB"],
        ),
    ],
)
def test_exact_versus_intersecting_location(
    tagged: gspread.Spreadsheet, location: dict[str, Any], exact: list[str], intersecting: list[str]
) -> None:
    assert (
        found_keys(
            tagged, lookup(metadataLocation=location, locationMatchingStrategy="EXACT_LOCATION")
        )
        == exact
    )
    strategy = lookup(metadataLocation=location, locationMatchingStrategy="INTERSECTING_LOCATION")
    assert found_keys(tagged, strategy) == intersecting
    assert found_keys(tagged, lookup(metadataLocation=location)) == intersecting  # the default


@pytest.mark.parametrize(
    ("data_filter", "keys"),
    [
        ({"a1Range": "Sheet1!C3"}, ["book", "tab", "row3"]),
        ({"a1Range": "Sheet1!B10"}, ["book", "tab", "colB"]),
        ({"a1Range": "Other!A1:Z2"}, ["book"]),
        (
            {"gridRange": {"sheetId": 0, "startRowIndex": 2, "endRowIndex": 3}},
            ["book", "tab", "row3", "colB"],
        ),
        ({"gridRange": {"sheetId": OTHER}}, ["book", "other"]),
    ],
)
def test_range_filters_select_metadata_on_intersecting_locations(
    tagged: gspread.Spreadsheet, data_filter: dict[str, Any], keys: list[str]
) -> None:
    assert found_keys(tagged, data_filter) == keys


def test_each_match_lists_the_filters_that_matched_it(tagged: gspread.Spreadsheet) -> None:
    by_key, by_value = lookup(metadataKey="row3"), lookup(metadataValue="shared")
    answer = search(tagged, by_key, by_value)
    assert answer == {
        "matchedDeveloperMetadata": [
            {"developerMetadata": get_by_id(tagged, 3), "dataFilters": [by_key, by_value]},
            {"developerMetadata": get_by_id(tagged, 4), "dataFilters": [by_value]},
        ]
    }


def test_a_search_that_finds_nothing_answers_an_empty_object(tagged: gspread.Spreadsheet) -> None:
    assert search(tagged, lookup(metadataKey="absent")) == {}


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ([], "at least one DataFilter"),
        ([{"a1Range": "A1", "gridRange": {"sheetId": 0}}], "oneof field 'filter' is already set"),
        ([lookup(metadataKey="k"), {}], "dataFilters[1] must set exactly one"),
        ([lookup(locationMatchingStrategy="EXACT_LOCATION")], "needs a metadataLocation"),
        (
            [lookup(locationType="CELL")],
            'location_type\' (type.googleapis.com/google.apps.sheets.v4.DeveloperMetadataLocationType), "CELL"',
        ),
        ([{"a1Range": "Nope!A1"}], "Unable to parse range"),
        ([lookup(metadataId="seven")], 'metadata_id\' (TYPE_INT32), "seven"'),
        (
            [
                lookup(
                    metadataLocation={
                        "dimensionRange": {"dimension": "ROWS", "startIndex": "x", "endIndex": 2}
                    }
                )
            ],
            'start_index\' (TYPE_INT32), "x"',
        ),
    ],
)
def test_a_bad_search_is_a_400(
    tagged: gspread.Spreadsheet, filters: list[dict[str, Any]], says: str
) -> None:
    with pytest.raises(gspread.exceptions.APIError) as info:
        search(tagged, *filters)
    assert info.value.code == 400 and says in info.value.error["message"]


# -- spreadsheets.get --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        ("developerMetadata(metadataKey)", {"developerMetadata": [{"metadataKey": "book"}]}),
        (
            "sheets(developerMetadata(metadataKey))",
            {
                "sheets": [
                    {
                        "developerMetadata": [
                            {"metadataKey": "tab"},
                            {"metadataKey": "row3"},
                            {"metadataKey": "colB"},
                        ]
                    },
                    {"developerMetadata": [{"metadataKey": "other"}]},
                ]
            },
        ),
        (
            "developerMetadata.metadataId,sheets.properties.sheetId",
            {
                "developerMetadata": [{"metadataId": 1}],
                "sheets": [{"properties": {"sheetId": 0}}, {"properties": {"sheetId": OTHER}}],
            },
        ),
        ("spreadsheetId", None),
    ],
)
def test_spreadsheets_get_honours_the_fields_mask(
    tagged: gspread.Spreadsheet, fields: str, want: dict[str, Any] | None
) -> None:
    got = tagged.fetch_sheet_metadata(params={"fields": fields})
    assert got == (want if want is not None else {"spreadsheetId": tagged.id})


# -- locations move with the data -------------------------------------------------

ROWS, COLS = "ROWS", "COLUMNS"


def _dim(dim: str, start: int, end: int) -> dict[str, Any]:
    return {"sheetId": 0, "dimension": dim, "startIndex": start, "endIndex": end}


def insert(dim: str, start: int, end: int) -> dict[str, Any]:
    return {"insertDimension": {"range": _dim(dim, start, end)}}


def delete(dim: str, start: int, end: int) -> dict[str, Any]:
    return {"deleteDimension": {"range": _dim(dim, start, end)}}


def move(dim: str, start: int, end: int, to: int) -> dict[str, Any]:
    return {"moveDimension": {"source": _dim(dim, start, end), "destinationIndex": to}}


def append(dim: str, n: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": 0, "dimension": dim, "length": n}}


@pytest.mark.parametrize("dim", [ROWS, COLS])
@pytest.mark.parametrize(
    ("request_for", "index"),
    [
        (lambda d: insert(d, 0, 2), 6),  # two inserted above: 4 → 6
        (lambda d: insert(d, 4, 5), 5),  # inserted right at it: pushed down
        (lambda d: insert(d, 5, 7), 4),  # inserted below: stays
        (lambda d: delete(d, 0, 3), 1),  # three deleted above
        (lambda d: delete(d, 5, 9), 4),  # deleted below
        (lambda d: delete(d, 3, 6), None),  # its own row/column deleted: so is the metadata
        (lambda d: move(d, 4, 5, 0), 0),  # moved itself to the top
        (lambda d: move(d, 3, 6, 9), 7),  # moved inside a block: [3, 6) lands at 6..8
        (lambda d: move(d, 0, 2, 8), 2),  # rows above it moved below it
        (lambda d: move(d, 6, 8, 1), 6),  # rows below it moved above it
        (lambda d: move(d, 4, 5, 5), 4),  # moved onto itself: nothing changes
        (lambda d: append(d, 3), 4),
    ],
)
def test_row_and_column_locations_move_with_the_data(
    sh: gspread.Spreadsheet, dim: str, request_for: Any, index: int | None
) -> None:
    (made,) = create(sh, meta({"dimensionRange": _dim(dim, 4, 5)}))
    (other_dim,) = create(sh, meta({"dimensionRange": _dim(COLS if dim == ROWS else ROWS, 4, 5)}))
    (elsewhere,) = create(
        sh, meta({"dimensionRange": {**_dim(dim, 4, 5), "sheetId": OTHER}}, "other tab")
    )
    sh.batch_update({"requests": [request_for(dim)]})
    if index is None:
        with pytest.raises(gspread.exceptions.APIError, match="No developer metadata"):
            get_by_id(sh, made["metadataId"])
    else:
        rng = get_by_id(sh, made["metadataId"])["location"]["dimensionRange"]
        assert (rng["startIndex"], rng["endIndex"]) == (index, index + 1)
    assert get_by_id(sh, other_dim["metadataId"]) == other_dim  # the other dimension: untouched
    assert get_by_id(sh, elsewhere["metadataId"]) == elsewhere  # another tab: untouched


def test_several_moves_in_one_batch_compose(sh: gspread.Spreadsheet) -> None:
    (made,) = create(sh, meta(ROW_3))
    sh.batch_update({"requests": [insert(ROWS, 0, 1), move(ROWS, 3, 4, 0), delete(ROWS, 1, 2)]})
    assert get_by_id(sh, made["metadataId"])["location"]["dimensionRange"]["startIndex"] == 0


def test_deleting_a_sheet_deletes_its_metadata(tagged: gspread.Spreadsheet) -> None:
    tagged.batch_update({"requests": [{"deleteSheet": {"sheetId": 0}}]})
    assert found_keys(tagged, lookup(visibility="DOCUMENT")) == ["book", "other"]
    assert found_keys(tagged, lookup(visibility="PROJECT")) == []


def test_shrinking_the_grid_deletes_metadata_on_the_cut_rows(tagged: gspread.Spreadsheet) -> None:
    tagged.sheet1.resize(rows=2)  # updateSheetProperties gridProperties.rowCount
    assert found_keys(tagged, lookup(locationType="ROW")) == ["other"]
    assert found_keys(tagged, lookup(locationType="COLUMN")) == ["colB"]


def test_duplicating_a_sheet_leaves_its_metadata_where_it_was(tagged: gspread.Spreadsheet) -> None:
    copy = tagged.duplicate_sheet(0, new_sheet_name="Copy")
    assert found_keys(tagged, {"gridRange": {"sheetId": copy.id}}) == ["book"]
    assert found_keys(tagged, lookup(metadataLocation=SHEET)) == ["book", "tab", "row3", "colB"]


# -- update / delete ----------------------------------------------------------------


def test_update_changes_the_selected_fields_of_every_match(tagged: gspread.Spreadsheet) -> None:
    reply = tagged.batch_update(
        {
            "requests": [
                {
                    "updateDeveloperMetadata": {
                        "dataFilters": [lookup(metadataValue="shared"), lookup(metadataId=1)],
                        "developerMetadata": {"metadataValue": "new", "metadataKey": "ignored"},
                        "fields": "metadataValue",
                    }
                }
            ]
        }
    )
    updated = reply["replies"][0]["updateDeveloperMetadata"]["developerMetadata"]
    assert [(m["metadataKey"], m["metadataValue"]) for m in updated] == [
        ("book", "new"),
        ("row3", "new"),
        ("colB", "new"),
    ]
    assert found_keys(tagged, lookup(metadataValue="new")) == ["book", "row3", "colB"]


def test_update_can_move_an_entry_to_another_location(tagged: gspread.Spreadsheet) -> None:
    new_place = {"dimensionRange": _dim(ROWS, 9, 10)}
    tagged.batch_update(
        {
            "requests": [
                {
                    "updateDeveloperMetadata": {
                        "dataFilters": [lookup(metadataKey="row3")],
                        "developerMetadata": {"location": new_place},
                        "fields": "location",
                    }
                }
            ]
        }
    )
    moved = get_by_id(tagged, 3)["location"]
    assert moved == {
        "locationType": "ROW",
        "dimensionRange": {"dimension": "ROWS", "startIndex": 9, "endIndex": 10},
    }


@pytest.mark.parametrize(
    ("update", "says"),
    [
        (
            {"dataFilters": [lookup(metadataId=3)], "developerMetadata": {"metadataValue": "x"}},
            "'fields' is required",
        ),
        (
            {
                "dataFilters": [lookup(metadataId=3)],
                "developerMetadata": {"metadataId": 9},
                "fields": "metadataId",
            },
            "cannot be updated",
        ),
        (
            {"developerMetadata": {"metadataValue": "x"}, "fields": "metadataValue"},
            "dataFilters must list",
        ),
        (
            {
                "dataFilters": [lookup(metadataId=3)],
                "fields": "location",
                "developerMetadata": {"location": {"dimensionRange": _dim(ROWS, 1, 4)}},
            },
            "exactly one row or column",
        ),
    ],
)
def test_a_bad_update_is_a_400_naming_the_request(
    tagged: gspread.Spreadsheet, update: dict[str, Any], says: str
) -> None:
    message = batch_error(tagged, {"updateDeveloperMetadata": update})
    assert message.startswith("Invalid requests[0].updateDeveloperMetadata:") and says in message


def test_delete_removes_what_the_filter_selects(tagged: gspread.Spreadsheet) -> None:
    reply = tagged.batch_update(
        {"requests": [{"deleteDeveloperMetadata": {"dataFilter": {"a1Range": "Sheet1!C3"}}}]}
    )
    deleted = reply["replies"][0]["deleteDeveloperMetadata"]["deletedDeveloperMetadata"]
    assert [m["metadataKey"] for m in deleted] == ["book", "tab", "row3"]
    assert found_keys(tagged, lookup(visibility="DOCUMENT")) == ["colB", "other"]


@pytest.mark.parametrize(
    ("payload", "says"),
    [({}, "dataFilter is required"), ({"dataFilter": {}}, "dataFilter must set exactly one")],
)
def test_a_bad_delete_is_a_400(
    tagged: gspread.Spreadsheet, payload: dict[str, Any], says: str
) -> None:
    message = batch_error(tagged, {"deleteDeveloperMetadata": payload})
    assert message.startswith("Invalid requests[0].deleteDeveloperMetadata:") and says in message


@pytest.mark.parametrize(
    ("part", "key", "index"), [("rowMetadata", "row3", 2), ("columnMetadata", "colB", 1)]
)
def test_grid_data_shows_row_and_column_metadata_in_their_dimension_properties(
    tagged: gspread.Spreadsheet, part: str, key: str, index: int
) -> None:
    got = tagged.fetch_sheet_metadata(
        params={"fields": f"sheets.data.{part}", "ranges": "Sheet1!A1:D5"}
    )
    props = got["sheets"][0]["data"][0][part]
    tagged_at = [i for i, p in enumerate(props) if "developerMetadata" in p]
    assert tagged_at == [index]
    assert [m["metadataKey"] for m in props[index]["developerMetadata"]] == [key]
