"""A pricing push the team can trust with live prices (docs/design.md §7, trust rules).

Each test syncs the real Pricing tab to a workbook or to the emulator (real
gspread over HTTP), lets the team work on it the way people do — columns of
their own titled like ours, rows inserted and sorted, a colleague typing,
rows deleted, keys overwritten, a Version cleared — sometimes *while the push
runs*, and checks that every price that went live was typed on that
listing's row, exactly once, that every `Status` is true of its own row, and
that nothing of the team's was lost.

"While the push runs" is made deterministic without stand-ins: the team's
edits are made from a database hook, between the push's read of the sheet
and its write-back (:func:`during_the_push`), and on Google from the
emulator's ``pause`` fault, which holds one real request until the test
releases it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pricing_data import USER, changes, grid, key, load_pricing
from pricing_sheets import TITLE, TeamSheet, settings_for
from sqlalchemy import event
from sqlalchemy.engine import Engine

from sheets_sync.errors import PricingError
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing.model import Kind
from sheets_sync.pricing.push import PushSummary, push_pricing

GOOD, CRACKED, FLAWLESS = key(), key(grade="cracked"), key(grade="flawless")
S2_GOOD, S2_P2 = key("S2"), key("S2", "P2")
MANAGED = ("Seller ID", "Product ID", "Grade", "Country", "Current price", "New price",
           "Reason", "Status", "Version")  # fmt: skip


def push(engine: Engine, team: TeamSheet, **kwargs: Any) -> PushSummary:
    kwargs.setdefault("user", USER)
    return push_pricing(engine, team.settings, team.destination, **kwargs)


@contextmanager
def during_the_push(engine: Engine, edit: Callable[[], None]) -> Iterator[list[bool]]:
    """Run ``edit`` once, while the push applies its edits: after it read the sheet, before
    it writes the results back (the moment a slow Sheets answer leaves the team)."""
    done: list[bool] = []

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PRICE_CHANGES") and not done:
            done.append(True)
            edit()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def statuses(team: TeamSheet) -> dict[int, str]:
    """Row number → the product's `Status` cell, for every row that has one."""
    column = team.column("Status")
    table = team.table()
    return {
        r: row[column]
        for r, row in enumerate(table, start=1)
        if r > 1 and column < len(row) and row[column] not in (None, "")
    }


# -- only the product's columns ----------------------------------------------------------


@pytest.mark.parametrize("header", ["Status", "New price", "Reason", "Version", "Current price"])
def test_a_team_column_titled_like_ours_is_never_read_or_written(
    engine: Engine, team: TeamSheet, header: str
) -> None:
    rows = len(team.table())
    notes = {r: f"team note {r}" for r in range(2, rows + 1)}
    notes[team.row_number(CRACKED)] = 99  # looks like a price: still the team's
    team.insert_column(2, header, notes)
    team.type({(GOOD, "New price"): "125"})

    summary = push(engine, team)

    assert (summary.applied, summary.rejected, summary.conflicts) == (1, 0, 0)
    assert grid(engine)[GOOD][:2] == (Decimal("125.00"), 2)
    assert grid(engine)[CRACKED][:2] == (Decimal("50.00"), 1)  # the team's 99 is no price
    assert [team.cell_at(r, 2) for r in range(1, rows + 1)] == [header, *notes.values()]
    assert team.cell(GOOD, "Status").startswith("✔ applied")
    assert (team.cell(GOOD, "Current price"), team.cell(GOOD, "Version")) == (125, 2)
    assert set(statuses(team)) == {team.row_number(GOOD)}


def test_a_pricing_tab_without_tags_is_refused_saying_sync_first(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """A sheet titled Pricing that the product did not make: its columns are unknown."""
    from openpyxl import Workbook

    load_pricing(engine)
    path = tmp_path / "ops.xlsx"
    wb = Workbook()
    wb.active.title = TITLE
    wb.active.append(["Seller ID", "Product ID", "Grade", "Country", "New price", "Status"])
    wb.active.append(["S1", "P1", "good", "FR", 125, None])
    wb.save(path)
    with pytest.raises(PricingError, match="no 'Pricing' tab made by sheets-sync; run `sheets"):
        push_pricing(engine, settings_for(db_url), f"xlsx:{path}", USER)
    assert changes(engine) == []


# -- the write-back is checked by key at write time -------------------------------------------


def test_results_follow_their_rows_when_the_team_edits_during_the_push(
    engine: Engine, team: TeamSheet
) -> None:
    """Rows inserted at the top, the tab re-sorted and a colleague typing, all after the
    push read the sheet: each result lands on its own row, nothing typed since is lost."""
    team.type({(GOOD, "New price"): "125", (S2_GOOD, "New price"): "abc"})

    def team_works() -> None:
        team.insert_rows(2, [["note"], []])
        team.sort_rows("Current price")
        team.type({(GOOD, "New price"): 130, (CRACKED, "New price"): 55})

    with during_the_push(engine, team_works) as done:
        summary = push(engine, team)
    assert done and (summary.applied, summary.rejected) == (1, 1)

    assert grid(engine)[GOOD][:2] == (Decimal("125.00"), 2)
    assert grid(engine)[CRACKED][:2] == (Decimal("50.00"), 1)
    assert len(changes(engine)) == 1
    assert team.cell(GOOD, "New price") == 130  # typed after the read: kept, waiting
    assert team.cell(GOOD, "Status").startswith("✔ applied ")
    assert team.cell(GOOD, "Status").endswith(
        "120.00 → 125.00; New price was changed to '130' since this push read it: push "
        "again to apply it"
    )
    assert (team.cell(GOOD, "Current price"), team.cell(GOOD, "Version")) == (125, 2)
    assert team.cell(S2_GOOD, "Status").startswith("✖ rejected: 'abc' is not a price")
    assert team.cell(S2_GOOD, "New price") == "abc"
    assert (team.cell(CRACKED, "New price"), team.cell(CRACKED, "Version")) == (55, 1)
    assert set(statuses(team)) == {team.row_number(GOOD), team.row_number(S2_GOOD)}
    [typed_then] = [o for o in summary.outcomes if o.key == GOOD]
    assert typed_then.row_now == team.row_number(GOOD) != typed_then.row.row


def test_a_row_deleted_during_the_push_is_reported_not_written_elsewhere(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125", (CRACKED, "New price"): "55"})
    gone = team.row_number(GOOD)

    def delete_the_row() -> None:
        if team.ws is None:
            from openpyxl import load_workbook

            wb = load_workbook(team.path)
            wb[TITLE].delete_rows(gone)
            wb.save(team.path)
        else:
            team.ws.delete_rows(gone)

    with during_the_push(engine, delete_the_row):
        summary = push(engine, team)

    assert summary.applied == 2 and grid(engine)[GOOD][:2] == (Decimal("125.00"), 2)
    [lost] = summary.not_written_back
    assert lost.key == GOOD and lost.kind is Kind.APPLIED
    assert summary.to_dict()["not_written_back"] == 1
    [row] = [r for r in summary.to_dict()["rows"] if r["grade"] == "good"]
    assert row["note"] == "applied, not written back: the row was moved or deleted"
    assert set(statuses(team)) == {team.row_number(CRACKED)}
    assert summary.describe().endswith(", 1 not written back (rows moved or deleted)")


def test_a_reason_edited_since_the_read_is_kept(engine: Engine, team: TeamSheet) -> None:
    team.type({(GOOD, "New price"): "125", (GOOD, "Reason"): "match S2"})
    with during_the_push(engine, lambda: team.type({(GOOD, "Reason"): "match S2, see Slack"})):
        push(engine, team)
    assert team.cell(GOOD, "New price") is None  # the price pushed is gone from the cell
    assert team.cell(GOOD, "Reason") == "match S2, see Slack"
    assert changes(engine)[0]["reason"] == "match S2"


def test_a_lost_write_retries_only_after_reading_the_rows_again(
    engine: Engine, db_url: str, emulator: Any, gspread_client: Any, controls: Any
) -> None:
    """The first write lands but its answer is lost; before the retry the team inserts rows
    (held on the emulator while the retry's read is paused): the retry writes every result
    on its row as it is now, and nothing on the rows that moved under it."""
    load_pricing(engine)
    spreadsheet = gspread_client.create("Trade-In Ops")
    settings = settings_for(db_url, emulator)
    sync_now(engine, settings, f"gsheets:{spreadsheet.id}", tabs=[TITLE])
    team = TeamSheet(f"gsheets:{spreadsheet.id}", settings, spreadsheet.worksheet(TITLE))
    team.type({(GOOD, "New price"): "125", (S2_GOOD, "New price"): "abc"})
    controls.fault(
        kind="drop_after_apply", request_kind="spreadsheets.values.batchUpdateByDataFilter"
    )
    controls.fault(kind="pause", request_kind="spreadsheets.values.batchGetByDataFilter", nth=3)
    result: dict[str, Any] = {}
    pushing = threading.Thread(
        target=lambda: result.update(summary=push_pricing(engine, settings, team.destination, USER))
    )
    pushing.start()
    try:
        controls.wait_held()
        team.insert_rows(2, [["inserted"], ["inserted"], ["inserted"]])
    finally:
        controls.release()
        pushing.join(30)
    summary = result["summary"]
    assert summary.applied == 1 and len(changes(engine)) == 1
    assert controls.counters()["by_kind"]["spreadsheets.values.batchUpdateByDataFilter"] == 2
    assert set(statuses(team)) == {team.row_number(GOOD), team.row_number(S2_GOOD)}
    assert team.cell(GOOD, "Status").endswith("120.00 → 125.00")
    assert (team.cell(GOOD, "Version"), team.cell(GOOD, "New price")) == (2, None)
    assert [team.cell_at(r, 1) for r in (2, 3, 4)] == ["inserted"] * 3


# -- rows, never the whole push ---------------------------------------------------------------


def test_a_keyless_row_and_another_market_are_their_rows_rejections(
    engine: Engine, team: TeamSheet
) -> None:
    """A price typed under the table, and one on a row of a market this sheet does not
    price: each row says why; the rest of the push goes through."""
    last = len(team.table())
    new_price = team.column("New price") + 1
    if team.ws is not None:
        team.ws.add_rows(5)  # Google's grid ends at the data; the team adds rows to type there
    team.set_cells({(last + 2, new_price): 99})
    team.type({(GOOD, "New price"): "125"})
    summary = push(engine, team, countries=("DE", "FR"))
    assert (summary.applied, summary.rejected) == (1, 1)
    assert team.cell_at(last + 2, team.column("Status") + 1) == (
        "✖ rejected: this row has no Seller ID, Product ID, Grade or Country: type new prices "
        "only on listing rows (run a sync to restore them)"
    )
    assert team.cell_at(last + 2, new_price) == 99

    team.type({(GOOD, "New price"): "126"})
    only_de = push(engine, team, countries=("DE",))
    assert only_de.applied == 0 and grid(engine)[GOOD][0] == Decimal("125.00")
    assert team.cell(GOOD, "Status") == (
        "✖ rejected: this sheet prices only DE; FR is another market: clear New price here "
        "and push it from the FR sheet"
    )


def test_a_blank_version_is_restored_by_the_next_sync_and_the_edit_then_pushes(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125", (GOOD, "Version"): ""})
    first = push(engine, team)
    assert first.rejected == 1 and team.cell(GOOD, "Status") == (
        "✖ rejected: Version is empty: run `sheets-sync sync` (or Refresh) to restore it "
        "(your New price is kept), then push again"
    )
    sync_now(engine, team.settings, team.destination, tabs=[TITLE])
    assert (team.cell(GOOD, "Version"), team.cell(GOOD, "New price")) == (1, "125")
    assert push(engine, team).applied == 1
    assert grid(engine)[GOOD][:2] == (Decimal("125.00"), 2)


def test_a_deleted_version_column_comes_back_with_the_sync_and_the_edit_then_pushes(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "125"})
    team.delete_column("Version")
    with pytest.raises(PricingError, match="lost its column\\(s\\) 'Version'"):
        push(engine, team)
    sync_now(engine, team.settings, team.destination, tabs=[TITLE])
    team.forget_columns()
    assert (team.cell(GOOD, "Version"), team.cell(GOOD, "New price")) == (1, "125")
    assert push(engine, team).applied == 1


# -- a row that no longer matches its listing -------------------------------------------------


def test_a_row_whose_key_was_overwritten_is_a_conflict_not_another_listings_update(
    engine: Engine, team: TeamSheet
) -> None:
    """The team typed `cracked` over the good row's Grade (protection bypassed, or a
    workbook): the row still shows the good listing's price, so nothing is applied."""
    team.type({(GOOD, "Grade"): "cracked"})
    team.set_cells({(2 + _index_of_overwritten(team), team.column("New price") + 1): "60"})
    before = grid(engine)
    summary = push(engine, team)
    assert (summary.applied, summary.conflicts) == (0, 1)
    assert grid(engine) == before and changes(engine) == []
    [outcome] = summary.outcomes
    assert outcome.status().startswith(
        "⚠ conflict: this row no longer matches its listing — sync to refresh it "
        "(Current price shows '120'; S1 × P1 × cracked × FR at version 1 was 50.00)"
    )


def _index_of_overwritten(team: TeamSheet) -> int:
    """The data index of the row showing 120 with grade `cracked` (the overwritten row)."""
    table = team.table()
    grade, price = team.column("Grade"), team.column("Current price")
    [index] = [i for i, r in enumerate(table[1:]) if r[grade] == "cracked" and r[price] == 120]
    return index
