"""Two syncs of one spreadsheet at once (a nightly run and a menu refresh).

Before runs were serialised, both read the sheet, both planned row deletions
and insertions from that same state, and the second batch applied on top of
the first: hundreds of duplicate keys or blank rows, and team notes on the
wrong rows. With the lock the second run waits, then plans from what the
first one wrote.

To make the race certain rather than lucky, each run's transport (the
``requests.Session`` a backend is given, as on a slow network) pauses after
its first read of the spreadsheet until the other run has read too, or for a
few seconds when the other run is not coming (it is waiting for the lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import gspread
import kpi_data
import pytest
from gspread.utils import rowcol_to_a1
from helpers import templates_with_daily_window
from sqlalchemy.engine import Engine

from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.session import RewritingSession
from sheets_sync.config import Settings
from sheets_sync.jobs import runs
from sheets_sync.jobs.run import sync_now
from sheets_sync.sync import SyncResult, load_all_templates

START = dt.date(2025, 3, 1)
FIRST_DAY = dt.date(2025, 3, 20)
TAB = "KPI Daily"


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    kpi_data.load(engine, kpi_data.random_orders(300, START, 25, seed=11))
    return engine


class PauseAfterFirstRead(RewritingSession):
    """A session that meets the other run at ``barrier`` after its first Sheets read."""

    def __init__(self, base_url: str, barrier: threading.Barrier) -> None:
        super().__init__(base_url)
        self.barrier = barrier
        self.paused = False

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        if not self.paused and str(method).upper() == "GET" and "/v4/spreadsheets/" in str(url):
            self.paused = True
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait(timeout=3)
        return response


def paused_backend(settings: Settings, sheet_id: str, barrier: threading.Barrier) -> Any:
    session = PauseAfterFirstRead(settings.sheets.sheets_api_url or "", barrier)
    http = RetryingHTTPClient(session, RetryPolicy(deadline_seconds=60), timeout=30)
    return GoogleSheetsBackend(settings.sheets, sheet_id, http=http)


def settings_for(db_url: str, emulator: Any, templates: Path) -> Settings:
    return Settings.load(
        environ={},
        database_url=db_url,
        sheets_api_url=emulator.url,
        templates_dir=templates,
        lock_wait_seconds=120,
    )


def key_of(row: list[str], key_indexes: list[int]) -> tuple[str, ...]:
    return tuple(row[i] for i in key_indexes)


def write_team_notes(ws: gspread.Worksheet, width: int, key_indexes: list[int]) -> dict[tuple, str]:
    """A note right of the managed columns on every row, naming the row's key."""
    rows = ws.get_all_values()[1:]
    notes = {key_of(r, key_indexes): "note " + "|".join(key_of(r, key_indexes)) for r in rows}
    column = [["Team note"], *([notes[key_of(r, key_indexes)]] for r in rows)]
    ws.add_cols(1)  # the grid ends at the managed columns, as the team finds it
    end = rowcol_to_a1(len(column), width + 1)
    ws.update(column, f"{rowcol_to_a1(1, width + 1)}:{end}", raw=True)
    return notes


def test_two_syncs_at_once_keep_keys_unique_and_notes_on_their_rows(
    loaded: Engine, db_url: str, emulator: Any, gspread_client: gspread.Client, tmp_path: Path
) -> None:
    sheet = gspread_client.create("Trade-In Ops")
    settings = settings_for(
        db_url, emulator, templates_with_daily_window(tmp_path / "templates", 7)
    )
    destination = f"gsheets:{sheet.id}"
    sync_now(loaded, settings, destination, tabs=[TAB], as_of=FIRST_DAY)
    template = load_all_templates(settings)[TAB]
    width, key_indexes = len(template.columns), list(template.key_indexes)
    notes = write_team_notes(sheet.worksheet(TAB), width, key_indexes)

    results: list[SyncResult] = []
    errors: list[BaseException] = []

    barrier = threading.Barrier(2)

    def sync(trigger: str) -> None:
        try:
            backend = paused_backend(settings, sheet.id, barrier)
            next_day = FIRST_DAY + dt.timedelta(days=2)
            results.append(
                sync_now(loaded, settings, backend, tabs=[TAB], trigger=trigger, as_of=next_day)
            )
        except BaseException as error:  # reported below, with the thread's trigger
            errors.append(error)

    threads = [threading.Thread(target=sync, args=(t,)) for t in ("cron", "menu")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(results) == 2

    values = sheet.worksheet(TAB).get_all_values()
    header, rows = values[0], values[1:]
    assert header[: width + 1] == [*template.headers, "Team note"]
    keys = [key_of(r, key_indexes) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate keys after two concurrent syncs"
    assert all(any(r[:width]) for r in rows), "blank rows after two concurrent syncs"
    expected = kpi_data.frame(loaded, template, as_of=FIRST_DAY + dt.timedelta(days=2))
    assert len(rows) == len(expected.rows)
    for row in rows:
        note = row[width] if len(row) > width else ""
        key = key_of(row, key_indexes)
        assert note == notes.get(key, ""), f"the note of {key} moved or vanished"
    assert {runs.get_run(loaded, r.run_id)["status"] for r in results} == {"succeeded"}
