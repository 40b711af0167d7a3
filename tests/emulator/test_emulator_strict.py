"""The emulator refuses what Google's discovery documents refuse, in Google's words.

Each kind of violation is sent over plain HTTP (so nothing in between can tidy it up) and
answered 400 with Google's exact message, ``INVALID_ARGUMENT`` and a ``google.rpc.BadRequest``
detail; through real gspread it surfaces as ``APIError`` carrying that message. Requests
Google accepts — snake_case names, ``*`` and nested masks — still pass, deprecated fields
are counted, and an emulator started with ``strict=False`` serves them all.
"""

from __future__ import annotations

from typing import Any

import gspread
import pytest
import requests

from sheets_emulator.server import EmulatorServer
from tests.fixtures_emulator import EmulatorControls

GRID = {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}  # fmt: skip
UNKNOWN = 'Invalid JSON payload received. Unknown name "{}"{}: Cannot find field.'


def batch(*requests_: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"requests": list(requests_), **extra}


def props(properties: dict[str, Any], fields: str = "title") -> dict[str, Any]:
    return {"updateSheetProperties": {"properties": {"sheetId": 0, **properties}, "fields": fields}}


def repeat(cell: dict[str, Any], fields: str = "userEnteredFormat", **extra: Any) -> dict[str, Any]:
    return {"repeatCell": {"range": GRID, "cell": cell, "fields": fields, **extra}}


BATCH = ("POST", ":batchUpdate", "")
VALUES_BATCH = ("POST", "/values:batchUpdate", "")

VIOLATIONS = {
    "unknown top-level field": (
        *BATCH, batch(foo=1), UNKNOWN.format("foo", ""),
    ),
    "unknown field in SheetProperties": (
        *BATCH, batch(props({"titel": "x"})),
        UNKNOWN.format("titel", " at 'requests[0].update_sheet_properties.properties'"),
    ),
    "unknown field in RepeatCellRequest": (
        *BATCH, batch(repeat({}, colour=1)),
        UNKNOWN.format("colour", " at 'requests[0].repeat_cell'"),
    ),
    "unknown field deep in CellFormat": (
        *BATCH, batch(repeat({"userEnteredFormat": {"bold": True}})),
        UNKNOWN.format("bold", " at 'requests[0].repeat_cell.cell.user_entered_format'"),
    ),
    "unknown top-level field of values:batchUpdate": (
        *VALUES_BATCH, {"valueInputOption": "RAW", "data": [], "foo": 1},
        UNKNOWN.format("foo", ""),
    ),
    "a row of values that is not a list": (
        *VALUES_BATCH, {"valueInputOption": "RAW", "data": [{"range": "A1", "values": [["a"], "b"]}]},
        "Invalid value at 'data[0].values[1]' (type.googleapis.com/google.protobuf.ListValue), \"b\"",
    ),
    "bad enum in the body": (
        *BATCH,
        batch({"insertDimension": {"range": {"sheetId": 0, "dimension": "ROW", "startIndex": 0, "endIndex": 1}}}),
        "Invalid value at 'requests[0].insert_dimension.range.dimension' "
        '(type.googleapis.com/google.apps.sheets.v4.Dimension), "ROW"',
    ),
    "bad valueInputOption with empty data": (
        *VALUES_BATCH, {"valueInputOption": "RAWISH", "data": []},
        "Invalid value at 'value_input_option' "
        '(type.googleapis.com/google.apps.sheets.v4.ValueInputOption), "RAWISH"',
    ),
    "bad enum in the query": (
        "GET", "/values/Sheet1!A1", "valueRenderOption=PRETTY", None,
        "Invalid value at 'value_render_option' "
        '(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), "PRETTY"',
    ),
    "wrong JSON type": (
        *BATCH, batch(props({"title": 5})),
        "Invalid value at 'requests[0].update_sheet_properties.properties.title' (TYPE_STRING), 5",
    ),
    "int32 out of range": (
        *BATCH, batch(props({"gridProperties": {"rowCount": 3_000_000_000}}, "gridProperties.rowCount")),
        "Invalid value at 'requests[0].update_sheet_properties.properties.grid_properties.row_count' "
        "(TYPE_INT32), 3000000000",
    ),
    "field mask naming a missing field": (
        *BATCH, batch(props({"title": "T"}, "title,titel")),
        "Invalid requests[0].updateSheetProperties: Invalid field mask path: 'titel' is not a "
        "field of SheetProperties",
    ),
    "nested field mask naming a missing field": (
        *BATCH, batch(repeat({"userEnteredFormat": {}}, "userEnteredFormat.textFormat.bolder")),
        "Invalid requests[0].repeatCell: Invalid field mask path: "
        "'userEnteredFormat.textFormat.bolder' is not a field of CellData",
    ),
    "unknown query parameter": (
        "GET", "", "includeGridData=false&foo=1", None,
        'Invalid JSON payload received. Unknown name "foo": Cannot bind query parameter. '
        "Field 'foo' could not be found in request message.",
    ),
    "two kinds in one Request": (
        *BATCH,
        batch({"addSheet": {"properties": {"title": "X"}}, "deleteSheet": {"sheetId": 0}}),
        "Invalid value at 'requests[0]' (oneof), oneof field 'kind' is already set. "
        "Cannot set 'deleteSheet'",
    ),
    "two values in one ExtendedValue": (
        *BATCH, batch(repeat({"userEnteredValue": {"stringValue": "a", "numberValue": 1}}, "userEnteredValue")),
        "Invalid value at 'requests[0].repeat_cell.cell.user_entered_value' (oneof), "
        "oneof field 'value' is already set. Cannot set 'numberValue'",
    ),
    "an object for a scalar": (
        *BATCH, batch(props({"title": {"text": "T"}})),
        "Invalid value at 'requests[0].update_sheet_properties.properties' (title), "
        "Starting an object on a scalar field",
    ),
}  # fmt: skip


@pytest.fixture
def sid(gspread_client: gspread.Client) -> str:
    return str(gspread_client.create("Strict").id)


def send(url: str, sid: str, method: str, rest: str, query: str, body: Any) -> requests.Response:
    target = f"{url}/v4/spreadsheets/{sid}{rest}" + (f"?{query}" if query else "")
    return requests.request(method, target, json=body, timeout=10)


@pytest.mark.parametrize("case", list(VIOLATIONS), ids=list(VIOLATIONS))
def test_each_violation_is_googles_400_with_its_message(
    emulator: EmulatorServer, sid: str, case: str
) -> None:
    method, rest, query, body, message = VIOLATIONS[case]
    answer = send(emulator.url, sid, method, rest, query, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["status"], error["message"]) == (400, "INVALID_ARGUMENT", message)
    (detail,) = error["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert [v["description"] for v in detail["fieldViolations"]] == [message]


def test_a_fields_selector_naming_no_field_is_refused(emulator: EmulatorServer, sid: str) -> None:
    answer = send(
        emulator.url, sid, "GET", "", "fields=sheets(properties(title)),sheets.propertys", None
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "Error expanding 'fields' parameter. Cannot find matching fields for path 'sheets.propertys'."
    )


def test_drive_refuses_a_fields_selector_in_drives_words(
    emulator: EmulatorServer, sid: str
) -> None:
    answer = requests.get(
        f"{emulator.url}/drive/v3/files/{sid}", params={"fields": "id, nme"}, timeout=10
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "Invalid field selection nme"
    assert error["errors"][0]["location"] == "fields"


@pytest.mark.parametrize(
    ("method", "rest", "message"),
    [("GET", ":batchUpdate", "Method not found."),
     ("POST", "/values:frobnicate", "was not found on this server.")],
)  # fmt: skip
def test_an_unknown_method_or_path_is_googles_404(
    emulator: EmulatorServer, sid: str, method: str, rest: str, message: str
) -> None:
    answer = send(emulator.url, sid, method, rest, "", {})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"].endswith(message)


def test_every_violation_of_a_request_is_reported_and_nothing_is_applied(
    emulator: EmulatorServer, sid: str, gspread_client: gspread.Client
) -> None:
    body = batch(
        props({"title": "Renamed"}), props({"hiddn": True}), {"deleteSheet": {"sheetId": "x"}}
    )
    answer = send(emulator.url, sid, "POST", ":batchUpdate", "", body)
    assert answer.status_code == 400
    lines = answer.json()["error"]["message"].split("\n")
    assert lines == [
        UNKNOWN.format("hiddn", " at 'requests[1].update_sheet_properties.properties'"),
        "Invalid value at 'requests[2].delete_sheet.sheet_id' (TYPE_INT32), \"x\"",
    ]
    assert gspread_client.open_by_key(sid).sheet1.title == "Sheet1"


def test_gspread_raises_apierror_carrying_googles_message(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Strict")
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sh.batch_update(batch(props({"titel": "x"})))
    assert caught.value.response.status_code == 400
    assert caught.value.error["message"] == UNKNOWN.format(
        "titel", " at 'requests[0].update_sheet_properties.properties'"
    )
    with pytest.raises(gspread.exceptions.APIError, match='Unknown name "foo"'):
        sh.values_batch_update({"valueInputOption": "RAW", "data": [], "foo": 1})
    with pytest.raises(gspread.exceptions.APIError, match="Cannot find matching fields"):
        sh.fetch_sheet_metadata(params={"fields": "sheets.propertys"})


def test_requests_google_accepts_still_pass(gspread_client: gspread.Client) -> None:
    sh = gspread_client.create("Strict")
    sh.batch_update(batch(
        {"update_sheet_properties": {"properties": {"sheet_id": 0, "title": "Snake"}, "fields": "title"}},
        repeat({"userEnteredValue": {"numberValue": "12"}, "note": "n"}, "*"),  # "*": all of CellData
        repeat({"userEnteredFormat": {"textFormat": {"bold": True}}}, "userEnteredFormat.textFormat.bold"),
        repeat({"userEnteredFormat": {"horizontalAlignment": "CENTER", "textFormat": {"bold": True}}},
               "userEnteredFormat(textFormat.bold,horizontalAlignment)"),
        props({"gridProperties": {"rowCount": "200"}}, "gridProperties.rowCount"),
    ))  # fmt: skip
    ws = sh.sheet1
    assert (ws.title, ws.row_count) == ("Snake", 200)
    assert ws.acell("A1", value_render_option="UNFORMATTED_VALUE").value == 12
    fmt = sh.fetch_sheet_metadata(
        params={"includeGridData": "true", "ranges": "Snake!A1",
                "fields": "sheets/data/rowData/values(userEnteredFormat,note)"}
    )["sheets"][0]["data"][0]["rowData"][0]["values"][0]  # fmt: skip
    assert fmt["userEnteredFormat"]["textFormat"]["bold"] is True
    assert fmt["userEnteredFormat"]["horizontalAlignment"] == "CENTER"
    assert fmt["note"] == "n"


def test_deprecated_fields_are_counted_per_method_and_path(
    gspread_client: gspread.Client, controls: EmulatorControls
) -> None:
    sh = gspread_client.create("Strict")
    colour = {"red": 1}
    sh.batch_update(batch(
        repeat({"userEnteredFormat": {"backgroundColor": colour}}, "userEnteredFormat.backgroundColor"),
        repeat({"userEnteredFormat": {"backgroundColorStyle": {"rgbColor": colour}}},
               "userEnteredFormat.backgroundColorStyle"),
        repeat({"userEnteredFormat": {"textFormat": {"foregroundColor": colour}}},
               "userEnteredFormat.textFormat.foregroundColor"),
    ))  # fmt: skip
    assert controls.counters()["deprecated_fields"] == {
        "spreadsheets.batchUpdate requests.repeatCell.cell.userEnteredFormat.backgroundColor": 1,
        "spreadsheets.batchUpdate requests.repeatCell.cell.userEnteredFormat.textFormat.foregroundColor": 1,
    }
    controls.reset()
    assert controls.counters()["deprecated_fields"] == {}


def test_a_lenient_emulator_serves_what_google_would_refuse() -> None:
    with EmulatorServer(strict=False) as server:
        sid = requests.post(f"{server.url}/v4/spreadsheets", json={}, timeout=10).json()[
            "spreadsheetId"
        ]
        answer = send(
            server.url, sid, "POST", ":batchUpdate", "", batch(props({"title": "T", "titel": "x"}))
        )
        assert answer.status_code == 200, answer.text
