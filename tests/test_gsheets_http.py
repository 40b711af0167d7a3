"""Our retry layer under gspread, against the emulator's fault injection.

Sleeping goes through an injected fake clock, so a storm of 429s or a
deadline of minutes costs no wall time.
"""

from __future__ import annotations

import json
from pathlib import Path

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import FakeClock

from sheets_sync.backends.gsheets.auth import account_email, is_local_emulator, load_credentials
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy, _replayable
from sheets_sync.backends.gsheets.session import RewritingSession, google_session
from sheets_sync.config import Settings
from sheets_sync.errors import (
    ConfigError,
    DestinationError,
    SheetsAPIError,
    TransientSheetsAPIError,
)

VALUES = "'Sheet1'!A1:B2"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sheet_id(gspread_client: gspread.Client) -> str:
    return str(gspread_client.create("Retries").id)


def client(
    emulator, clock: FakeClock, deadline: float = 60.0, draw: float = 1.0
) -> RetryingHTTPClient:
    return RetryingHTTPClient(
        google_session(emulator.url),
        RetryPolicy(deadline_seconds=deadline, base_seconds=0.5, cap_seconds=8.0),
        timeout=5,
        clock=clock,
        sleep=clock.sleep,
        draw=lambda: draw,
    )


def write(http: RetryingHTTPClient, sheet_id: str, values: list[list[object]]) -> None:
    body = {"valueInputOption": "RAW", "data": [{"range": VALUES, "values": values}]}
    http.values_batch_update(sheet_id, body)


def read(http: RetryingHTTPClient, sheet_id: str) -> list[list[object]]:
    return http.values_get(sheet_id, VALUES).get("values", [])


@pytest.mark.parametrize(
    ("attempt", "draw", "delay"),
    [(0, 1.0, 0.5), (3, 1.0, 4.0), (10, 1.0, 8.0), (10, 0.25, 2.0), (5, 0.0, 0.0)],
)
def test_backoff_is_exponential_capped_and_fully_jittered(attempt, draw, delay):
    assert RetryPolicy(base_seconds=0.5, cap_seconds=8.0).backoff(attempt, draw) == delay


def test_a_429_storm_completes_within_the_deadline(emulator, controls, clock, sheet_id):
    http = client(emulator, clock, deadline=60)
    controls.fault(kind="429", times=6, request_kind="spreadsheets.values.batchUpdate")
    write(http, sheet_id, [[1, 2], [3, 4]])
    assert read(http, sheet_id) == [["1", "2"], ["3", "4"]]
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert http.counters.requests == 8 and http.counters.retries == 6
    assert controls.counters()["by_kind"]["spreadsheets.values.batchUpdate"] == 7


def test_retry_after_is_honoured_when_longer_than_the_backoff(emulator, controls, clock, sheet_id):
    http = client(emulator, clock)
    controls.fault(kind="429", times=1, retry_after=7, method="GET")
    read(http, sheet_id)
    assert clock.sleeps == [7.0]


RETRY_DATE = "Wed, 21 Oct 2026 07:28:00 GMT"
RETRY_DATE_EPOCH = 1792567680.0  # the same instant as a POSIX timestamp


@pytest.mark.parametrize(
    ("retry_after", "wall_now", "slept"),
    [
        (RETRY_DATE, RETRY_DATE_EPOCH - 7, 7.0),  # seven seconds away: wait them out
        (RETRY_DATE, RETRY_DATE_EPOCH - 90.5, 90.5),  # longer than any backoff
        (RETRY_DATE, RETRY_DATE_EPOCH + 3600, 0.5),  # already past: the backoff decides
        ("Wednesday, 21-Oct-26 07:28:00 GMT", RETRY_DATE_EPOCH - 4, 4.0),  # RFC 850 form
        ("soon, maybe", RETRY_DATE_EPOCH, 0.5),  # unreadable: ignored
    ],
)
def test_retry_after_as_an_http_date_is_honoured(
    emulator, controls, clock, sheet_id, retry_after, wall_now, slept
):
    http = client(emulator, clock, deadline=120)
    http.wall_clock = lambda: wall_now
    controls.fault(kind="429", times=1, retry_after=retry_after, method="GET")
    read(http, sheet_id)
    assert clock.sleeps == [slept]


class TimedSession(RewritingSession):
    """A real session to the emulator that records each attempt's timeout; an attempt
    that fails is charged its whole timeout on the fake clock (a hang that ran out)."""

    def __init__(self, base_url: str, clock: FakeClock) -> None:
        super().__init__(base_url)
        self.clock = clock
        self.timeouts: list[float] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.timeouts.append(kwargs["timeout"])
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.RequestException:
            timeout = kwargs["timeout"]
            self.clock.now += timeout[1] if isinstance(timeout, tuple) else timeout  # read part
            raise


@pytest.mark.parametrize(
    ("deadline", "timeout", "timeouts"),
    [
        (30.0, 60.0, [30.0]),  # one hung request may not take 60 s of a 30 s deadline
        (100.0, 60.0, [60.0, 39.5]),  # the retry gets only what is left after 60 + 0.5
        (200.0, 60.0, [60.0, 60.0, 60.0, 16.5]),
    ],
)
def test_a_hung_request_never_outlives_the_retry_deadline(
    emulator, controls, clock, sheet_id, deadline, timeout, timeouts
):
    session = TimedSession(emulator.url, clock)
    http = RetryingHTTPClient(
        session,
        RetryPolicy(deadline_seconds=deadline, base_seconds=0.5, cap_seconds=8.0),
        timeout=timeout,
        clock=clock,
        sleep=clock.sleep,
        draw=lambda: 1.0,
    )
    controls.fault(kind="hang", times=100, method="GET", hang_seconds=0.05)
    start = clock.now
    with pytest.raises(TransientSheetsAPIError, match="retry deadline reached"):
        read(http, sheet_id)
    assert session.timeouts == timeouts
    assert clock.now - start == pytest.approx(deadline)


def test_a_connect_and_read_timeout_pair_is_capped_too(emulator, controls, clock, sheet_id):
    session = TimedSession(emulator.url, clock)
    http = RetryingHTTPClient(
        session,
        RetryPolicy(deadline_seconds=30.0, base_seconds=0.5, cap_seconds=8.0),
        clock=clock,
        sleep=clock.sleep,
        draw=lambda: 1.0,
    )
    http.set_timeout((5.0, 60.0))  # gspread's own setter: (connect, read)
    controls.fault(kind="hang", times=100, method="GET", hang_seconds=0.05)
    with pytest.raises(TransientSheetsAPIError, match="retry deadline reached"):
        read(http, sheet_id)
    assert session.timeouts == [(5.0, 30.0)]


def test_transient_errors_give_up_at_the_deadline(emulator, controls, clock, sheet_id):
    http = client(emulator, clock, deadline=20)
    controls.fault(kind="503", times=1000, method="GET")
    with pytest.raises(TransientSheetsAPIError, match="retry deadline reached") as raised:
        read(http, sheet_id)
    assert raised.value.status == 503
    assert sum(clock.sleeps) <= 20
    assert clock.sleeps[-1] == 8.0


def test_a_dropped_connection_on_a_value_write_is_retried_and_writes_once(
    emulator, controls, clock, sheet_id
):
    http = client(emulator, clock)
    controls.fault(kind="drop", times=2, request_kind="spreadsheets.values.batchUpdate")
    write(http, sheet_id, [["a", "b"]])
    assert read(http, sheet_id) == [["a", "b"]]
    assert len(clock.sleeps) == 2


def test_a_structural_batch_that_may_have_applied_is_not_replayed(
    emulator, controls, clock, sheet_id
):
    http = client(emulator, clock)
    controls.fault(kind="500", times=1, request_kind="spreadsheets.batchUpdate")
    insert = {
        "insertDimension": {
            "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}
        }
    }
    with pytest.raises(TransientSheetsAPIError, match="not replayed"):
        http.batch_update(sheet_id, {"requests": [insert]})
    assert clock.sleeps == []
    assert controls.counters()["by_kind"]["spreadsheets.batchUpdate"] == 1


def test_a_structural_batch_refused_by_quota_is_retried(emulator, controls, clock, sheet_id):
    http = client(emulator, clock)
    controls.fault(kind="429", times=2, request_kind="spreadsheets.batchUpdate")
    http.batch_update(
        sheet_id,
        {
            "requests": [
                {"updateSpreadsheetProperties": {"properties": {"title": "T"}, "fields": "title"}}
            ]
        },
    )
    assert len(clock.sleeps) == 2


def test_a_client_error_is_terminal_and_carries_the_answer(emulator, controls, clock, sheet_id):
    http = client(emulator, clock)
    with pytest.raises(SheetsAPIError) as raised:
        http.values_get(sheet_id, "'No such tab'!A1")
    assert raised.value.status == 400 and not isinstance(raised.value, TransientSheetsAPIError)
    assert raised.value.body["error"]["status"] == "INVALID_ARGUMENT"
    assert clock.sleeps == [] and http.counters.requests == 1


def test_bytes_counted_are_the_bytes_the_server_received(emulator, controls, clock, sheet_id):
    http = client(emulator, clock)
    before = controls.counters()["bytes_in"]
    write(http, sheet_id, [["é" * 100, 3.5]])
    assert http.counters.bytes_sent == controls.counters()["bytes_in"] - before > 200


# -- credentials ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (locally generated) service-account key; the emulator issues its tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = {
        "type": "service_account",
        "project_id": "tradein-ops",
        "private_key_id": "k1",
        "private_key": pem.decode(),
        "client_email": "sync-bot@tradein-ops.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path_factory.mktemp("sa") / "key.json"
    path.write_text(json.dumps(info))
    return path


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:9000", True),
        ("https://sheets.example.com", False),
        ("http://127.0.0.1.example.com", False),
        (None, False),
    ],
)
def test_only_a_loopback_api_url_goes_without_credentials(url, local):
    assert is_local_emulator(url) is local


def test_the_emulator_on_loopback_needs_no_credentials(emulator):
    settings = Settings.load(environ={}, sheets_api_url=emulator.url)
    assert (
        load_credentials(settings.sheets, environ={"GOOGLE_APPLICATION_CREDENTIALS": "/nope.json"})
        is None
    )


def test_a_missing_key_file_names_the_variable(tmp_path):
    settings = Settings.load(environ={})
    with pytest.raises(ConfigError, match=r"GOOGLE_APPLICATION_CREDENTIALS=.*no such file"):
        load_credentials(
            settings.sheets, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "key.json")}
        )


def test_a_key_file_that_is_not_a_service_account_is_refused(tmp_path):
    bad = tmp_path / "key.json"
    bad.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ConfigError, match="not a service-account JSON key"):
        load_credentials(
            Settings.load(environ={}).sheets, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(bad)}
        )


def test_an_unshared_spreadsheet_error_names_the_service_account(
    emulator, controls, key_file, gspread_client
):
    """A real token exchange through the emulator, then a spreadsheet the account cannot open."""
    sheet_id = gspread_client.create("Not shared").id
    settings = Settings.load(environ={})
    credentials = load_credentials(
        settings.sheets, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    )
    assert account_email(credentials) == "sync-bot@tradein-ops.iam.gserviceaccount.com"
    backend = GoogleSheetsBackend(
        settings.replace(sheets_api_url=emulator.url).sheets, sheet_id, credentials=credentials
    )
    assert backend.read_tab("Sheet1") == []  # the JWT grant went through; the token works
    controls.forbid(sheet_id)
    with pytest.raises(
        DestinationError, match=r"share it with sync-bot@tradein-ops\.iam\.gserviceaccount\.com"
    ):
        backend.read_tab("Sheet1")


@pytest.mark.parametrize(
    ("method", "url", "replayable"),
    [
        ("get", "https://sheets.googleapis.com/v4/spreadsheets/x/values:batchGet", True),
        ("post", "https://sheets.googleapis.com/v4/spreadsheets/x/values:batchUpdate", True),
        ("put", "https://sheets.googleapis.com/v4/spreadsheets/x/values/'T'!A1", True),
        ("post", "https://sheets.googleapis.com/v4/spreadsheets/x:batchUpdate", False),
        ("post", "https://sheets.googleapis.com/v4/spreadsheets/x/values/'T'!A1:append", False),
        ("post", "https://www.googleapis.com/drive/v3/files", False),
    ],
)
def test_only_idempotent_requests_are_replayed_after_an_ambiguous_failure(method, url, replayable):
    assert _replayable(method, url) is replayable
