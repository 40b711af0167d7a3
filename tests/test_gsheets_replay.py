"""A structural batch that Google applied but whose answer was lost is never replayed blindly.

The emulator's ``*_after_apply`` faults commit the ``spreadsheets:batchUpdate``
and then drop the connection (or answer 500/503), which is exactly the case a
blind retry gets wrong: the row deletions would run twice. The backend must
read the sheet again and re-plan from what is actually there.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from test_gsheets_backend import (  # the module's helpers and fixtures, not its tests
    LAST_DAY,
    assert_same_content,
    backend,
    daily,
    expected,
    kinds_since,
    kpi_engine,
    sheet,
)

__all__ = ["daily", "kpi_engine", "sheet"]  # fixtures used by name below

FAULTS = ("drop_after_apply", "500_after_apply", "503_after_apply")


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("days_later", [1, 3])
def test_an_applied_then_lost_structural_batch_is_re_planned_not_replayed(
    emulator, controls, sheet, daily, fault, days_later
):
    gs = backend(emulator, sheet.id)
    gs.write_tabs([daily(LAST_DAY - dt.timedelta(days=days_later), 7)])
    frame = daily(LAST_DAY, 7)
    controls.fault(kind=fault, times=1, request_kind="spreadsheets.batchUpdate")
    start = controls.counters()
    gs.write_tabs([frame])
    assert fired(controls) == 1
    assert_same_content(gs.read_tab(frame.title), expected(frame))  # no row lost or doubled
    counts = kinds_since(start, controls.counters())
    assert counts["spreadsheets.get"] == 2  # read again after the lost answer
    assert sheet.worksheet(frame.title).row_count >= len(frame.rows) + 1


@pytest.mark.parametrize("fault", FAULTS)
def test_team_columns_survive_an_applied_then_lost_batch(emulator, controls, sheet, daily, fault):
    today, tomorrow = daily(LAST_DAY - dt.timedelta(days=3), 7), daily(LAST_DAY, 7)
    gs = backend(emulator, sheet.id)
    gs.write_tabs([today])
    ws = sheet.worksheet(today.title)
    ws.add_cols(1)
    rows = ws.get_values(value_render_option="UNFORMATTED_VALUE")
    key = today.template.key_indexes
    notes = {tuple(r[i] for i in key): f"note {n}" for n, r in enumerate(rows[1:])}
    ws.update([[notes[tuple(r[i] for i in key)]] for r in rows[1:]], f"{_col(today.width)}2")
    controls.fault(kind=fault, times=1, request_kind="spreadsheets.batchUpdate")
    gs.write_tabs([tomorrow])
    assert fired(controls) == 1
    after = ws.get_values(value_render_option="UNFORMATTED_VALUE")
    assert len(after) == len(tomorrow.rows) + 1
    for row in after[1:]:
        k = tuple(row[i] for i in key)
        assert (row[today.width] if len(row) > today.width else "") == notes.get(k, "")


def fired(controls) -> int:
    """How often the injected faults fired (the test must really have lost an answer)."""
    answer = requests.get(f"{controls.url}/faults", timeout=10).json()
    return sum(f["fired"] for f in answer["faults"])


def _col(index: int) -> str:
    return chr(ord("A") + index)
