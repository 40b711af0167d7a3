"""The shape of an archived team note, shared by both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.archive import (
    ArchivedNote,
    archive_layout,
    column_name,
    key_or_row,
    key_text,
    notes_of_row,
    read_archive,
)

WHEN = dt.datetime(2026, 12, 1, 6, 0)


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ((dt.date(2025, 6, 30), "FR", "S1", "smartphone"), "2025-06-30 · FR · S1 · smartphone"),
        (("S1",), "S1"),
        ((None, 3), " · 3"),
    ],
)
def test_key_text(parts: tuple[object, ...], text: str) -> None:
    assert key_text(parts) == text


def test_only_non_empty_cells_are_archived_with_their_column() -> None:
    cells = [("Owner", "Ana"), ("Comment", ""), ("G", 0), ("Follow-up", None)]
    assert notes_of_row("Onboarding", ("S9",), cells, WHEN) == [
        ArchivedNote("Onboarding", "S9", "Owner", "Ana", WHEN),
        ArchivedNote("Onboarding", "S9", "G", 0, WHEN),
    ]


@pytest.mark.parametrize(
    ("parts", "named"),
    [
        (("S1", "FR"), ("S1", "FR")),
        (("S1", None), ("S1", None)),
        ((None, ""), ("row 7",)),
        ((), ("row 7",)),
    ],
)
def test_a_key_with_nothing_left_is_named_by_its_row(
    parts: tuple[object, ...], named: tuple[object, ...]
) -> None:
    assert key_or_row(parts, 7) == named


@pytest.mark.parametrize(("header", "name"), [("Owner", "Owner"), ("", "K"), (None, "K"), (0, "0")])
def test_a_team_column_is_named_by_its_header_or_letter(header: object, name: str) -> None:
    assert column_name(header, "K") == name


# -- reading the archive back (columns by header, rows by content) ---------------------

HEADER = ["Tab", "Key", "Column", "Value", "Archived at", "Restored at"]


@pytest.mark.parametrize(
    ("row1", "at", "named"),
    [
        (HEADER, dict(zip(HEADER, range(6), strict=True)), ()),
        (HEADER[:5], dict(zip(HEADER, range(6), strict=True)), ("Restored at",)),
        (  # the team's column where Restored at would go: ours goes right of it
            [*HEADER[:5], "Checked"],
            {**dict(zip(HEADER[:5], range(5), strict=True)), "Restored at": 6},
            ("Restored at",),
        ),
        (  # moved by the team
            ["Value", "Tab", "Key", "Column", "Archived at"],
            {"Value": 0, "Tab": 1, "Key": 2, "Column": 3, "Archived at": 4, "Restored at": 5},
            ("Restored at",),
        ),
        (  # an adopted sheet: the usual places, named where row 1 is empty
            ["my own archive"],
            dict(zip(HEADER, range(6), strict=True)),
            tuple(HEADER[1:]),
        ),
    ],
    ids=["current", "before-restored-at", "team-column", "moved", "adopted"],
)
def test_archive_columns_are_found_by_header(
    row1: list[str], at: dict[str, int], named: tuple[str, ...]
) -> None:
    layout = archive_layout(row1)
    assert (layout.at, layout.to_name) == (at, named)


def test_the_latest_note_of_a_cell_waits_unless_it_went_home_already() -> None:
    rows = [
        HEADER,
        ["Sellers", "S1", "Owner", "old", dt.datetime(2026, 1, 1), ""],
        ["Sellers", "S1", "Owner", "new", dt.datetime(2026, 2, 1), ""],
        ["Sellers", "S2", "Owner", "gone", dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 1)],
        ["Sellers", "S2", "Owner", "older", dt.datetime(2026, 1, 1), ""],
        ["Owners", "S3", "Owner", "elsewhere", dt.datetime(2026, 1, 1), ""],
        ["", "", "", "a team's line", "", ""],
    ]
    waiting = read_archive(rows).waiting("Sellers")
    assert {k: {c: e.value for c, e in v.items()} for k, v in waiting.items()} == {
        "S1": {"Owner": "new"}
    }
    assert waiting["S1"]["Owner"].row == 2
