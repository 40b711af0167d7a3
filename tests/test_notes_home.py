"""Notes come home: a row whose key returns gets back the team's archived cells (issue 24).

Both destinations, each through its real backend (the workbook file; the
emulator through real gspread), edited from the outside as the team would:
a note leaves with its row, comes back when the key is in the tab again, its
archive row marked ``Restored at`` and kept; a row leaving again is archived
again; a cell the team typed since is never overwritten; a note whose column
is gone stays archived with a warning; an archive from before ``Restored at``,
with its columns moved and its rows sorted, still works. Expected values are
written out here, never computed with the product's helpers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import kpi_data
import pytest
from helpers import column, tab, templates_with_daily_window
from notes_sheets import Destination, Spreadsheet, open_destination

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now
from sheets_sync.tab_templates.model import ColumnType

ARCHIVE = "Archived notes"
HEADER = ["Tab", "Key", "Column", "Value", "Archived at", "Restored at"]
SELLERS = tab(
    "Sellers",
    column("Seller ID"),
    column("Seller"),
    column("Orders", ColumnType.INTEGER),
    key=("Seller ID",),
)
OWNERS = tab("Owners", column("Seller ID"), column("Team"), key=("Seller ID",))


def sellers(*ids: int) -> TabFrame:
    return TabFrame(SELLERS, [(f"S{n}", f"Seller {n}", n * 10) for n in ids])


def owners(*ids: int) -> TabFrame:
    return TabFrame(OWNERS, [(f"S{n}", f"Team {n}") for n in ids])


@pytest.fixture(params=["xlsx", "gsheets"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    return open_destination(request.param, request, tmp_path)


def cell(row: list[Any], index: int) -> Any:
    return row[index] if index < len(row) else ""


def notes(dest: Destination) -> list[list[Any]]:
    """The archive's rows as (tab, key, column, value, restored?), header excluded."""
    table = dest.grid(ARCHIVE)
    at = [table[0].index(h) for h in HEADER]
    return [
        [*(cell(r, i) for i in at[:4]), cell(r, at[5]) != ""]
        for r in table[1:]
        if any(v != "" for v in r)
    ]


def row_of(dest: Destination, title: str, key: str) -> int:
    """The 1-based sheet row holding ``key`` in the first column."""
    return 1 + next(i for i, r in enumerate(dest.grid(title)) if r and r[0] == key)


def with_owner_notes(dest: Destination) -> None:
    """Sellers S1…S3 synced, the team's ``Owner`` column beside them (D)."""
    dest.sync(sellers(1, 2, 3))
    dest.type_in("Sellers", 1, 4, [["Owner"], ["ana"], ["ben"], ["cy"]])


def test_a_note_leaves_with_its_row_and_comes_home_with_its_key(dest: Destination) -> None:
    with_owner_notes(dest)
    left = dest.sync(sellers(2, 3))
    assert left.tabs[0].archived_notes == 1
    assert dest.grid(ARCHIVE)[0] == HEADER
    assert notes(dest) == [["Sellers", "S1", "Owner", "ana", False]]

    back = dest.sync(sellers(1, 2, 3))
    assert back.tabs[0].restored_notes == 1
    assert dest.column("Sellers", "Owner") == {"S1": "ana", "S2": "ben", "S3": "cy"}
    assert notes(dest) == [["Sellers", "S1", "Owner", "ana", True]]  # marked, not deleted

    dest.type_in("Sellers", row_of(dest, "Sellers", "S1"), 4, [["ana, then dan"]])
    dest.sync(sellers(2, 3))  # leaves again: archived again, below
    assert notes(dest) == [
        ["Sellers", "S1", "Owner", "ana", True],
        ["Sellers", "S1", "Owner", "ana, then dan", False],
    ]
    again = dest.sync(sellers(1, 2, 3))  # the latest archived value comes home
    assert again.tabs[0].restored_notes == 1
    assert dest.column("Sellers", "Owner")["S1"] == "ana, then dan"
    assert [n[4] for n in notes(dest)] == [True, True]
    dest.type_in("Sellers", row_of(dest, "Sellers", "S1"), 4, [[""]])  # the team clears it
    assert dest.sync(sellers(1, 2, 3)).tabs[0].restored_notes == 0  # a note goes home once
    assert dest.column("Sellers", "Owner")["S1"] == ""


def test_a_note_comes_home_to_its_column_when_a_managed_column_is_restored_left_of_it(
    dest: Destination,
) -> None:
    """The team deleted the managed ``Seller`` column while S1 was away: the sync puts it
    back, which moves ``Owner`` one column right, and the note lands in ``Owner``."""
    with_owner_notes(dest)
    dest.sync(sellers(2, 3))
    dest.delete_column("Sellers", 2)
    dest.sync(sellers(1, 2, 3))
    table = dest.grid("Sellers")
    assert table[0][:4] == ["Seller ID", "Seller", "Orders", "Owner"]
    assert {r[0]: r[1:4] for r in table[1:]} == {
        "S1": ["Seller 1", 10, "ana"],
        "S2": ["Seller 2", 20, "ben"],
        "S3": ["Seller 3", 30, "cy"],
    }


def test_a_note_from_another_tab_with_the_same_key_stays_out(dest: Destination) -> None:
    """Sellers and Owners are both keyed by Seller ID; S1's Sellers note is not the
    Owners tab's, though that tab has a team column of the same name."""
    dest.sync(sellers(1, 2, 3), owners(1, 2, 3))
    dest.type_in("Sellers", 1, 4, [["Owner"], ["ana"]])
    dest.type_in("Owners", 1, 3, [["Owner"], [""], ["bob"]])
    dest.sync(sellers(2, 3), owners(1, 2, 3))  # S1 leaves Sellers only
    dest.sync(sellers(2, 3), owners(1, 2, 3))
    assert dest.column("Owners", "Owner") == {"S1": "", "S2": "bob", "S3": ""}
    dest.sync(sellers(1, 2, 3), owners(1, 2, 3))
    assert dest.column("Owners", "Owner") == {"S1": "", "S2": "bob", "S3": ""}
    assert dest.column("Sellers", "Owner")["S1"] == "ana"


@pytest.mark.parametrize("change", ["renamed", "deleted"])
def test_a_note_whose_column_is_gone_stays_archived_and_says_so(
    dest: Destination, change: str
) -> None:
    dest.sync(sellers(1, 2, 3))
    dest.type_in("Sellers", 1, 4, [["Owner", "Next step"], ["ana", "call"]])
    dest.sync(sellers(2, 3))
    if change == "renamed":
        dest.type_in("Sellers", 1, 4, [["Who"]])
    else:
        dest.delete_column("Sellers", 4)
    back = dest.sync(sellers(1, 2, 3))
    assert dest.column("Sellers", "Next step")["S1"] == "call"
    assert back.tabs[0].restored_notes == 1
    assert back.tabs[0].warnings == [
        "tab 'Sellers': 1 archived note(s) of rows back in the tab stay in 'Archived notes', "
        "as the tab has no team column 'Owner' any more; add a column headed 'Owner' beside "
        "the tab's columns and sync again to bring them back, or copy them from the archive"
    ]
    assert notes(dest) == [
        ["Sellers", "S1", "Owner", "ana", False],
        ["Sellers", "S1", "Next step", "call", True],
    ]
    # the team brings an Owner column back and types in it first: theirs is kept
    free = len(dest.grid("Sellers")[0]) + 1
    dest.type_in("Sellers", 1, free, [["Owner"]])
    dest.type_in("Sellers", row_of(dest, "Sellers", "S1"), free, [["bob"]])
    later = dest.sync(sellers(1, 2, 3))
    assert dest.column("Sellers", "Owner")["S1"] == "bob"
    assert (later.tabs[0].restored_notes, later.tabs[0].warnings) == (0, [])
    assert notes(dest)[0] == ["Sellers", "S1", "Owner", "ana", False]  # still to be found


def test_an_archive_from_before_restored_at_moved_and_sorted_by_the_team(
    dest: Destination,
) -> None:
    """Columns are found by header and rows by content: the team put Value first, added
    a column of theirs, sorted another tab's note above; Restored at is added after theirs."""
    with_owner_notes(dest)
    dest.sync(sellers(2, 3))
    stamp = dest.grid(ARCHIVE)[1][4]
    dest.replace_all(
        ARCHIVE,
        [
            ["Value", "Tab", "Key", "Column", "Archived at", "Checked"],
            ["old", "Pricing", "S1", "Owner", stamp, "no"],
            ["ana", "Sellers", "S1", "Owner", stamp, "yes"],
        ],
    )
    report = dest.sync(sellers(1, 3))  # S1 comes home, S2 leaves
    assert (report.tabs[0].restored_notes, report.tabs[0].archived_notes) == (1, 1)
    assert dest.column("Sellers", "Owner") == {"S1": "ana", "S3": "cy"}
    table = dest.grid(ARCHIVE)
    assert table[0] == ["Value", "Tab", "Key", "Column", "Archived at", "Checked", "Restored at"]
    assert [cell(r, 5) for r in table[1:]] == ["no", "yes", ""]  # the team's column untouched
    assert [cell(r, 6) != "" for r in table[1:]] == [False, True, False]
    assert [r[:4] for r in table[1:]] == [
        ["old", "Pricing", "S1", "Owner"],
        ["ana", "Sellers", "S1", "Owner"],
        ["ben", "Sellers", "S2", "Owner"],
    ]


def test_a_keyless_tab_keeps_team_cells_by_position_archives_what_goes_and_warns(
    dest: Destination,
) -> None:
    log = tab("Log", column("Event"), column("Count", ColumnType.INTEGER))
    dest.sync(TabFrame(log, [("a", 1), ("b", 2), ("c", 3)]))
    dest.type_in("Log", 1, 3, [["Note"], ["n1"], ["n2"], ["n3"]])
    report = dest.sync(TabFrame(log, [("a", 1), ("b", 2)]))
    assert report.tabs[0].archived_notes == 1
    assert notes(dest) == [["Log", "row 4", "Note", "n3", False]]
    assert [r[2] for r in dest.grid("Log")[1:]] == ["n1", "n2"]
    assert report.tabs[0].warnings == [
        "tab 'Log' has no key, so the team's cells in its column(s) 'Note' are kept by row "
        "position, not by row (those of rows that go are moved to 'Archived notes'); give its "
        "template a `key:` (the columns identifying a row) so they follow their rows"
    ]


def test_notes_come_home_within_the_sync_s_usual_requests(emulator, controls, gspread_client):
    """The archive is read with the tabs and written in the structural batch: a sync that
    brings a note home and archives another costs what any sync costs."""
    dest = Spreadsheet(emulator, gspread_client.create("Trade-In Ops"))
    with_owner_notes(dest)
    dest.sync(sellers(2, 3))
    start = controls.counters()
    report = dest.sync(sellers(1, 2))  # S1 comes home, S3 leaves
    assert (report.tabs[0].restored_notes, report.tabs[0].archived_notes) == (1, 1)
    after = controls.counters()
    kinds = {k: n - start["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
    assert {k: n for k, n in kinds.items() if n} == {
        "spreadsheets.get": 1,
        "spreadsheets.developerMetadata.search": 1,
        "spreadsheets.values.batchGet": 1,
        "spreadsheets.batchUpdate": 1,
        "spreadsheets.values.batchUpdate": 1,
    }
    assert dest.column("Sellers", "Owner") == {"S1": "ana", "S2": "ben"}


# -- end to end: a sync with an earlier --as-of brings its days back, notes and all --------

START = dt.date(2025, 3, 1)
LAST_DAY = dt.date(2025, 3, 20)
DAILY_KEY = ("Date", "Country", "Seller ID", "Category")


def checked(dest: Destination) -> dict[tuple[Any, ...], Any]:
    """The team's ``Checked`` cell of every KPI Daily row, by the row's key cells."""
    table = dest.grid("KPI Daily")
    at = [table[0].index(h) for h in DAILY_KEY]
    note = table[0].index("Checked")
    return {tuple(r[i] for i in at): cell(r, note) for r in table[1:]}


def test_an_earlier_as_of_brings_back_the_notes_of_the_days_it_shows(
    dest: Destination, db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    kpi_data.load(engine, kpi_data.random_orders(150, START, 21))
    folder = templates_with_daily_window(tmp_path / "templates", 7)
    settings = Settings.load(environ={}, templates_dir=folder)

    def daily(day: dt.date) -> Any:
        return sync_now(engine, settings, dest.backend, tabs=["KPI Daily"], as_of=day)

    daily(LAST_DAY - dt.timedelta(days=2))
    table = dest.grid("KPI Daily")
    typed = [["Checked"], *([f"ok {n}"] for n in range(2, len(table) + 1))]
    dest.type_in("KPI Daily", 1, len(table[0]) + 1, typed)
    before = checked(dest)
    daily(LAST_DAY)  # two days leave the window with their notes
    assert 0 < len(notes(dest)) < len(before)
    result = daily(LAST_DAY - dt.timedelta(days=2))  # and come back
    assert checked(dest) == before
    assert all(n[4] for n in notes(dest))
    back = f"{len(notes(dest))} archived team cell(s) back on their rows in KPI Daily"
    assert back in " ".join(result.warnings)
