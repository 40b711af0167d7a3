"""Raw HTTP shapes gspread does not expose, the OAuth token endpoint, and the host-rewriting session."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from sheets_emulator.client import emulator_client
from sheets_emulator.server import EmulatorServer
from sheets_sync.backends.gsheets.session import google_session, rewrite_url

SHEETS_MIME = "application/vnd.google-apps.spreadsheet"


def _create(url: str, title: str = "Raw") -> str:
    r = requests.post(
        f"{url}/drive/v3/files", json={"name": title, "mimeType": SHEETS_MIME}, timeout=5
    )
    assert r.status_code == 200
    return str(r.json()["id"])


@pytest.mark.parametrize(
    ("method", "path", "code", "status"),
    [
        ("GET", "/v4/spreadsheets/missing", 404, "NOT_FOUND"),
        ("GET", "/v4/spreadsheets/{id}/values/Nope!A1", 400, "INVALID_ARGUMENT"),
        ("POST", "/v4/spreadsheets/{id}:batchUpdate", 400, "INVALID_ARGUMENT"),
        (
            "GET",
            "/v4/spreadsheets/{id}/values/A1?valueRenderOption=PRETTY",
            400,
            "INVALID_ARGUMENT",
        ),
        ("GET", "/v4/nothing/here", 404, "NOT_FOUND"),
    ],
)
def test_error_bodies_have_googles_shape(
    emulator: EmulatorServer, method: str, path: str, code: int, status: str
) -> None:
    sid = _create(emulator.url)
    r = requests.request(method, emulator.url + path.format(id=sid), json={}, timeout=5)
    assert r.status_code == code
    error = r.json()["error"]
    assert error["code"] == code and error["status"] == status and error["message"]


def test_drive_not_found_has_drive_errors_list(emulator: EmulatorServer) -> None:
    r = requests.get(f"{emulator.url}/drive/v3/files/nope", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["errors"][0]["reason"] == "notFound"


def test_percent_encoded_titles_with_slashes_and_quotes(emulator: EmulatorServer) -> None:
    client = emulator_client(emulator.url)
    sh = client.create("Odd")
    ws = sh.add_worksheet("Pivot · Country/Week's", rows=5, cols=2)
    answer = ws.update([["x"]], "A1")
    assert answer["updatedRange"] == "'Pivot · Country/Week''s'!A1"
    assert ws.get("A1") == [["x"]]


def test_batch_get_shapes(emulator: EmulatorServer) -> None:
    sid = _create(emulator.url)
    r = requests.get(f"{emulator.url}/v4/spreadsheets/{sid}/values:batchGet",
                     params=[("ranges", "A1:B2"), ("ranges", "Sheet1!C:C")], timeout=5)  # fmt: skip
    assert r.json() == {"spreadsheetId": sid, "valueRanges": [
        {"range": "Sheet1!A1:B2", "majorDimension": "ROWS"},
        {"range": "Sheet1!C1:C1000", "majorDimension": "ROWS"},
    ]}  # fmt: skip


def test_spreadsheet_properties_shape(emulator: EmulatorServer) -> None:
    sid = _create(emulator.url, "Props")
    body = requests.get(f"{emulator.url}/v4/spreadsheets/{sid}", timeout=5).json()
    assert body["spreadsheetId"] == sid and body["properties"]["title"] == "Props"
    assert body["properties"]["locale"] == "en_US"
    assert body["sheets"][0]["properties"] == {
        "sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26}}  # fmt: skip
    assert "data" not in body["sheets"][0]


def _service_account_info(token_uri: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account", "project_id": "demo", "private_key_id": "k1", "private_key": pem,
        "client_email": "sync@demo.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri,
    }  # fmt: skip


@pytest.mark.parametrize("token_uri", ["https://oauth2.googleapis.com/token", "{url}/token"])
def test_service_account_gets_a_token_and_is_the_user(
    emulator: EmulatorServer, token_uri: str
) -> None:
    info = _service_account_info(token_uri.format(url=emulator.url))
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    client = emulator_client(emulator.url, credentials=creds)
    sh = client.create("Authorised")
    assert creds.token and creds.token.startswith("emu-")
    owner = next(p for p in sh.list_permissions() if p["role"] == "owner")
    assert owner["emailAddress"] == "sync@demo.iam.gserviceaccount.com"


def test_session_rewrites_only_google_hosts() -> None:
    base = "http://127.0.0.1:9"
    assert (
        rewrite_url("https://sheets.googleapis.com/v4/spreadsheets/x", base)
        == base + "/v4/spreadsheets/x"
    )
    assert (
        rewrite_url("https://www.googleapis.com/drive/v3/files", base) == base + "/drive/v3/files"
    )
    assert rewrite_url("https://oauth2.googleapis.com/token", base) == base + "/token"
    assert rewrite_url("https://example.com/a", base) == "https://example.com/a"
    assert (
        rewrite_url("https://sheets.googleapis.com/v4", None) == "https://sheets.googleapis.com/v4"
    )
    assert isinstance(google_session(base), requests.Session)
