"""The shape of an archived team note, shared by both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.archive import ArchivedNote, column_name, key_or_row, key_text, notes_of_row

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
