"""The ``pause`` fault: a request held before it touches the spreadsheets, so a test can
edit the sheet in between (as the team would during a push), then release it.

The held request runs in a thread with its own gspread client; the test talks to
the emulator meanwhile, through gspread and the controls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gspread
import pytest
import requests
from fixtures_emulator import EmulatorControls
from gspread.urls import SPREADSHEET_URL

from sheets_emulator.client import emulator_client
from sheets_emulator.server import EmulatorServer

UPDATE_KIND = "spreadsheets.values.update"


@pytest.fixture
def sh(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    book = gspread_client.create("Paused")
    book.sheet1.update([["SKU", "Price"], ["A-1", 100], ["B-2", 250]], "A1")
    return book


class Background:
    """One call in a thread, with its outcome kept for the test to look at."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as error:
            self.error = error

    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float = 10) -> Any:
        self._thread.join(timeout)
        assert self.done(), "the held request never finished"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def other_client(emulator: EmulatorServer) -> Iterator[gspread.Client]:
    """A second client for the held request (the test keeps using ``gspread_client``)."""
    client = emulator_client(emulator.url)
    client.set_timeout(10)
    yield client


def test_a_paused_request_waits_while_others_go_on_and_then_lands(
    sh: gspread.Spreadsheet, other_client: gspread.Client, controls: EmulatorControls
) -> None:
    controls.fault(kind="pause", request_kind=UPDATE_KIND)
    held = Background(lambda: other_client.open_by_key(sh.id).sheet1.update([[260]], "B3"))
    controls.wait_held()
    assert [f["holding"] for f in controls.faults()] == [1]
    assert sh.sheet1.get("B3") == [["250"]]  # reads are served while it is held
    sh.sheet1.update([["typed meanwhile"]], "C1")  # and so are writes
    assert not held.done()
    assert controls.release() == 1
    assert held.join()["updatedRange"] == "Sheet1!B3"
    assert sh.sheet1.get("A1:C3") == [["SKU", "Price", "typed meanwhile"], ["A-1", "100"],
                                      ["B-2", "260"]]  # fmt: skip
    assert controls.held() == 0


def test_the_team_edits_the_sheet_while_a_push_by_metadata_is_held(
    sh: gspread.Spreadsheet, other_client: gspread.Client, controls: EmulatorControls
) -> None:
    price = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}
    meta = {"metadataId": 9, "metadataKey": "price", "visibility": "DOCUMENT"}
    create = {"developerMetadata": {**meta, "location": {"dimensionRange": price}}}
    sh.batch_update({"requests": [{"createDeveloperMetadata": create}]})
    controls.fault(kind="pause", nth=2, request_kind="spreadsheets.values.batchUpdateByDataFilter")
    url = SPREADSHEET_URL % sh.id + "/values:batchUpdateByDataFilter"
    lookup = {"developerMetadataLookup": {"metadataId": 9}}
    body = {"valueInputOption": "RAW", "data": [{"dataFilter": lookup, "values": [["Price"]]}]}
    pusher = other_client.open_by_key(sh.id)
    pusher.client.request("post", url, json=body)  # the first: not held
    held = Background(lambda: pusher.client.request("post", url, json=body).json())
    controls.wait_held()
    sh.sheet1.insert_cols([["Note"]], 2)  # the team inserts a column before the price
    controls.release()
    assert held.join()["responses"][0]["updatedRange"] == "Sheet1!C1"
    assert sh.sheet1.get("A1:C1") == [["SKU", "Note", "Price"]]


def test_a_held_request_is_released_by_itself_after_hang_seconds(
    sh: gspread.Spreadsheet, other_client: gspread.Client, controls: EmulatorControls
) -> None:
    controls.fault(kind="pause", request_kind=UPDATE_KIND, hang_seconds=0.3)
    started = time.monotonic()
    held = Background(lambda: other_client.open_by_key(sh.id).sheet1.update([[1]], "D1"))
    controls.wait_held()
    held.join(timeout=5)
    assert time.monotonic() - started >= 0.3
    assert sh.sheet1.acell("D1").value == "1"
    assert controls.held() == 0


@pytest.mark.parametrize("how", ["delete_faults", "reset"])
def test_removing_the_faults_or_resetting_releases_held_requests(
    sh: gspread.Spreadsheet, other_client: gspread.Client, controls: EmulatorControls, how: str
) -> None:
    controls.fault(kind="pause", request_kind=UPDATE_KIND)
    held = Background(lambda: other_client.open_by_key(sh.id).sheet1.update([[1]], "D1"))
    controls.wait_held()
    if how == "reset":
        controls.reset()
        with pytest.raises(gspread.exceptions.APIError):  # the spreadsheet went with the reset
            held.join()
    else:
        requests.delete(f"{controls.url}/faults", timeout=10).raise_for_status()
        held.join()
        assert sh.sheet1.acell("D1").value == "1"


def test_only_the_nth_matching_request_is_held(
    sh: gspread.Spreadsheet, controls: EmulatorControls
) -> None:
    controls.fault(kind="pause", nth=2, request_kind=UPDATE_KIND, hang_seconds=5)
    sh.sheet1.update([[1]], "D1")  # the first goes through at once
    assert controls.held() == 0
    assert controls.faults()[0]["seen"] == 1


def test_wait_held_times_out_with_an_assertion(controls: EmulatorControls) -> None:
    controls.fault(kind="pause", request_kind=UPDATE_KIND)
    with pytest.raises(AssertionError, match="0 request"):
        controls.wait_held(timeout=0.2)
    assert controls.release() == 0
