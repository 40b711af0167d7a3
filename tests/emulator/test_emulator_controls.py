"""Test controls over HTTP: faults of each kind, quotas, counters, access, reset."""

from __future__ import annotations

import gspread
import pytest
import requests
from fixtures_emulator import EmulatorControls


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Controls")


@pytest.mark.parametrize(
    ("kind", "status"), [("429", "RESOURCE_EXHAUSTED"), ("500", "INTERNAL"), ("503", "UNAVAILABLE")]
)
def test_nth_matching_request_fails_with_status(
    sh: gspread.Spreadsheet, controls: EmulatorControls, kind: str, status: str
) -> None:
    controls.fault(kind=kind, nth=2, request_kind="spreadsheets.values.update", retry_after=3)
    sh.sheet1.update([[1]], "A1")  # first matching request: fine
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.update([[2]], "A1")
    assert info.value.code == int(kind) and info.value.error["status"] == status
    assert info.value.response.headers["Retry-After"] == "3"
    sh.sheet1.update([[3]], "A1")  # the fault fired once
    assert sh.sheet1.acell("A1").value == "3"


def test_fault_matches_method_and_path(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    controls.fault(kind="500", method="GET", path=r"/values/")
    sh.sheet1.update([[1]], "A1")  # a PUT: not matched
    with pytest.raises(gspread.exceptions.APIError):
        sh.sheet1.get("A1")


def test_hang_past_the_client_timeout(
    gspread_client: gspread.Client, controls: EmulatorControls
) -> None:
    sh = gspread_client.create("Hang")
    controls.fault(kind="hang", request_kind="spreadsheets.values.get", hang_seconds=5)
    gspread_client.set_timeout(0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sh.sheet1.get("A1")
    controls.reset()  # releases the hung request


def test_dropped_connection(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    controls.fault(kind="drop", request_kind="spreadsheets.batchUpdate")
    with pytest.raises(requests.exceptions.ConnectionError):
        sh.add_worksheet("never", rows=1, cols=1)
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]


def test_bad_fault_spec_is_refused(controls: EmulatorControls) -> None:
    with pytest.raises(requests.HTTPError):
        controls.fault(kind="explode")


def test_write_quota_per_user(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    controls.quotas(write_per_minute=2)
    sh.sheet1.update([[1]], "A1")
    sh.sheet1.update([[2]], "A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.update([[3]], "A1")
    assert (
        info.value.code == 429
        and "Write requests per minute per user" in info.value.error["message"]
    )
    assert sh.sheet1.acell("A1").value == "2"  # reads have their own quota (off)


def test_read_quota(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    ws = sh.sheet1  # a metadata read itself
    controls.quotas(read_per_minute=1)
    ws.get("A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.get("A1")
    assert info.value.code == 429 and info.value.error["status"] == "RESOURCE_EXHAUSTED"


def test_counters(sh: gspread.Spreadsheet, controls: EmulatorControls) -> None:
    ws = sh.sheet1
    before = controls.counters()
    ws.update([[1, 2], [3, None]], "A1")
    sh.batch_update({"requests": [{"addSheet": {"properties": {"title": "x"}}}, {"addSheet": {}}]})
    after = controls.counters()
    assert after["cells_written"] - before["cells_written"] == 3
    assert after["by_kind"]["spreadsheets.values.update"] == 1
    assert after["batch_requests"]["addSheet"] == 2
    assert after["bytes_in"] > before["bytes_in"] and after["bytes_out"] > before["bytes_out"]
    assert after["requests"] == before["requests"] + 2


def test_forbidden_spreadsheet_is_403(
    gspread_client: gspread.Client, controls: EmulatorControls
) -> None:
    sh = gspread_client.create("Private")
    controls.forbid(sh.id)
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.get("A1")
    assert info.value.code == 403 and info.value.error["status"] == "PERMISSION_DENIED"
    with pytest.raises(PermissionError):
        gspread_client.open_by_key(sh.id)


def test_reset_empties_everything(
    gspread_client: gspread.Client, controls: EmulatorControls
) -> None:
    gspread_client.create("Gone")
    controls.quotas(read_per_minute=1)
    controls.reset()
    assert gspread_client.list_spreadsheet_files() == []
    assert controls.counters()["requests"] == 1


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("drop_after_apply", requests.exceptions.ConnectionError),
        ("500_after_apply", gspread.exceptions.APIError),
        ("503_after_apply", gspread.exceptions.APIError),
    ],
)
def test_applied_then_lost_faults_commit_the_request_first(
    sh: gspread.Spreadsheet, controls: EmulatorControls, kind: str, raised: type[Exception]
) -> None:
    controls.fault(kind=kind, request_kind="spreadsheets.batchUpdate")
    with pytest.raises(raised) as info:
        sh.add_worksheet("landed", rows=1, cols=1)
    if isinstance(info.value, gspread.exceptions.APIError):
        assert info.value.code == int(kind.split("_")[0])
    assert [w.title for w in sh.worksheets()] == ["Sheet1", "landed"]
    sh.add_worksheet("next", rows=1, cols=1)  # the fault fired once


def test_retry_after_may_be_an_http_date(
    sh: gspread.Spreadsheet, controls: EmulatorControls
) -> None:
    controls.fault(kind="503", method="GET", retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.get("A1")
    assert info.value.response.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"


@pytest.mark.parametrize("retry_after", [True, [1], {"s": 1}])
def test_a_retry_after_that_is_neither_number_nor_text_is_refused(
    controls: EmulatorControls, retry_after: object
) -> None:
    with pytest.raises(requests.HTTPError):
        controls.fault(kind="429", retry_after=retry_after)
