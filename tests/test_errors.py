"""The library's errors cross a process boundary intact (sheets_sync/errors.py).

A sync run in a child process (sheets_sync/jobs/processes.py) hands its error
to the process that asked, which raises it as a thread would: a Cloud Tasks
delivery then answers 503 for a busy spreadsheet or the quota, and the run
stays queued. Pickle's default rebuilds an exception from its message alone,
which fails for the errors that carry more.
"""

from __future__ import annotations

import pickle

import pytest

from sheets_sync.errors import (
    BusyError,
    ConfigError,
    MemoryBusy,
    QuotaWaitError,
    SheetsAPIError,
    TransientSheetsAPIError,
)


@pytest.mark.parametrize(
    "error",
    [
        BusyError("gsheets:abc is busy", "gsheets:abc", holder=None),
        QuotaWaitError("waited 300 s for quota", 300.0),
        SheetsAPIError("not shared", 403, {"error": {"code": 403}}),
        TransientSheetsAPIError("quota", 429, {"error": {"code": 429}}),
        MemoryBusy("no room"),
        ConfigError("SHEETS_SYNC_X is malformed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_error_comes_back_from_pickle_with_its_type_message_and_details(error) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert (str(back), back.args) == (str(error), error.args)
    assert back.__dict__ == error.__dict__
