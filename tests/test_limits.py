"""Destination limits: fitting frames (truncation keeps the newest rows) and the messages.

Pure: frames in, fitted frames or one ``LimitError`` out. The backends call
these before writing; tests/test_gsheets_backend.py and test_xlsx_backend.py
check that they do, and what they report afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from sheets_sync.backends.fit import check_pivot_size, fit_cell_total, fit_each_tab
from sheets_sync.errors import LimitError
from sheets_sync.frame import Row, TabFrame
from sheets_sync.limits import GOOGLE_LIMITS, XLSX_LIMITS, Limits
from sheets_sync.tab_templates.model import (
    ColumnSpec,
    ColumnType,
    PivotSpec,
    PivotValue,
    TabTemplate,
)

COLUMNS = (
    ColumnSpec("Date", "day", ColumnType.DATE),
    ColumnSpec("Country", "country"),
    ColumnSpec("Orders", "orders", ColumnType.INTEGER),
)
WIDTH = len(COLUMNS)


def template(title: str = "KPI Daily", **changes: Any) -> TabTemplate:
    return TabTemplate(title=title, columns=changes.pop("columns", COLUMNS), **changes)


def day_rows(days: list[int], country: str = "FR") -> list[Row]:
    return [(dt.date(2025, 6, d), country, d) for d in days]


def frame(days: list[int], title: str = "KPI Daily", truncate: bool = False) -> TabFrame:
    return TabFrame(template(title, truncate_to_limit=truncate), day_rows(days))


def exactly(message: str) -> str:
    """A ``match=`` pattern for the whole message and nothing else."""
    return f"^{re.escape(message)}$"


# -- each tab on its own -----------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "cap", "kept"),
    [
        ([3, 1, 5, 2, 4], 4, [3, 5, 4]),  # newest three (the header takes a row), in order
        ([2, 1, 2, 1], 3, [2, 2]),  # ties on the newest day are both kept
        ([1, 2, 3], 4, [1, 2, 3]),  # fits: untouched
    ],
)
def test_a_truncatable_tab_over_the_row_limit_keeps_its_most_recent_rows(days, cap, kept):
    (fitted,) = fit_each_tab([frame(days, truncate=True)], Limits("test", max_rows_per_sheet=cap))
    assert [r[0].day for r in fitted.rows] == kept
    assert fitted.truncated_from == (len(days) if kept != days else None)


def test_a_tab_without_a_date_column_keeps_its_first_rows():
    plain = template(columns=(ColumnSpec("Country", "country"),), truncate_to_limit=True)
    rows = [("FR",), ("DE",), ("IT",), ("ES",)]
    (fitted,) = fit_each_tab([TabFrame(plain, rows)], Limits("test", max_rows_per_sheet=3))
    assert list(fitted.rows) == [("FR",), ("DE",)]
    assert fitted.truncated_from == 4


def test_missing_dates_count_as_the_oldest():
    rows = [(None, "FR", 1), (dt.date(2025, 6, 1), "FR", 2), (dt.date(2025, 6, 2), "FR", 3)]
    limits = Limits("test", max_rows_per_sheet=3)
    (fitted,) = fit_each_tab([TabFrame(template(truncate_to_limit=True), rows)], limits)
    assert [r[2] for r in fitted.rows] == [2, 3]


LONG = "x" * 11


@pytest.mark.parametrize(
    ("tab", "limits", "message"),
    [
        (
            frame([1, 2, 3, 4, 5]),
            Limits("test", max_rows_per_sheet=5),
            "tab 'KPI Daily': 6 rows (with the header) exceed test's 5 rows per sheet; "
            "shorten `window_days` or set `truncate_to_limit: true` in its template",
        ),
        (
            frame([1, 2]),
            Limits("test", max_columns=2),
            "tab 'KPI Daily': 3 columns exceed test's 2 columns per sheet; "
            "remove columns from its template",
        ),
        (
            TabFrame(template(), [(dt.date(2025, 6, 1), "FR", 1), (None, LONG, 2)]),
            Limits("test", max_cell_chars=10),
            "tab 'KPI Daily': the cell in row 3, column 'Country' has 11 characters, "
            "test allows at most 10 per cell; shorten that value at its source",
        ),
        (
            frame([1], title="A title of 21 letters"),
            Limits("test", max_title_chars=20),
            "tab 'A title of 21 letters': the title has 21 characters, test allows at "
            "most 20; shorten `title` in its template",
        ),
    ],
    ids=["rows", "columns", "cell characters", "title"],
)
def test_each_tab_over_a_limit_names_the_tab_and_the_figures(tab, limits, message):
    with pytest.raises(LimitError, match=exactly(message)):
        fit_each_tab([tab], limits)


def test_a_truncatable_tab_still_fails_on_limits_truncation_cannot_fix():
    with pytest.raises(LimitError, match=r"'KPI Daily': 3 columns exceed test's 2"):
        fit_each_tab([frame([1, 2], truncate=True)], Limits("test", max_columns=2))


@pytest.mark.parametrize(
    ("titles", "pivot", "clash"),
    [
        (["KPI Daily", "kpi daily"], None, ("kpi daily", "KPI Daily")),
        (["KPI Daily"], "KPI DAILY", ("KPI DAILY", "KPI Daily")),
    ],
    ids=["two tabs", "tab and pivot"],
)
def test_two_sheets_whose_titles_differ_only_by_case_are_refused(titles, pivot, clash):
    pivots = (PivotSpec(pivot, ("Country",), (PivotValue("Orders"),)),) if pivot else ()
    frames = [
        TabFrame(template(t, pivots=pivots if i == 0 else ()), []) for i, t in enumerate(titles)
    ]
    message = (
        f"tab {clash[0]!r} clashes with {clash[1]!r}: xlsx cannot hold two sheets with the "
        "same title (case-insensitive); rename one in its template"
    )
    with pytest.raises(LimitError, match=exactly(message)):
        fit_each_tab(frames, XLSX_LIMITS)


def test_a_pivot_title_is_held_to_the_title_limit():
    spec = PivotSpec("Pivot · Country × Week × Sellers", ("Country",), (PivotValue("Orders"),))
    with pytest.raises(LimitError, match=r"'Pivot · Country × Week × Sellers'.*32.*at most 31"):
        fit_each_tab([TabFrame(template(pivots=(spec,)), [])], XLSX_LIMITS)


@pytest.mark.parametrize(
    ("limits", "fits"),
    [(XLSX_LIMITS, False), (GOOGLE_LIMITS, True)],
    ids=["xlsx", "google"],
)
def test_each_destination_has_its_own_figures(limits, fits):
    """32,768 characters: over a workbook's cell, within a Google cell."""
    tab = TabFrame(template(), [(None, "x" * 32_768, 1)])
    if fits:
        assert fit_each_tab([tab], limits) == [tab]
    else:
        with pytest.raises(LimitError, match="32,768 characters, xlsx allows at most 32,767"):
            fit_each_tab([tab], limits)


# -- the destination's cell total ---------------------------------------------------


def test_the_cell_total_shrinks_truncatable_tabs_only_keeping_their_newest_rows():
    fixed = frame([1, 2, 3, 4], title="Fixed")
    elastic = frame(list(range(1, 11)), truncate=True)
    cap = (5 + 6) * WIDTH  # Fixed needs 5 rows with its header; 6 are left for the other
    fitted = fit_cell_total([fixed, elastic], Limits("test", max_cells_total=cap))
    assert fitted[0] is fixed
    assert [r[0].day for r in fitted[1].rows] == [6, 7, 8, 9, 10]
    assert fitted[1].truncated_from == 10


def test_cells_the_destination_keeps_elsewhere_leave_less_room():
    tab = frame(list(range(1, 11)), truncate=True)
    cap = 11 * WIDTH
    other = 4 * WIDTH + 1  # one cell more than four rows: five rows go
    (fitted,) = fit_cell_total([tab], Limits("test", max_cells_total=cap), other_cells=other)
    assert [r[0].day for r in fitted.rows] == [6, 7, 8, 9, 10]
    assert other + fitted.cell_count <= cap


def test_a_second_cut_remembers_the_row_count_before_the_first():
    limits = Limits("test", max_rows_per_sheet=9, max_cells_total=5 * WIDTH)
    (fitted,) = fit_cell_total(
        fit_each_tab([frame(list(range(1, 21)), truncate=True)], limits), limits
    )
    assert [r[0].day for r in fitted.rows] == [17, 18, 19, 20]
    assert fitted.truncated_from == 20


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (
            0,
            "after the sync the spreadsheet would hold 39 cells, over test's 30 cells per "
            "spreadsheet; the biggest tab is 'KPI Daily' with 33 cells: shorten its "
            "`window_days` or set `truncate_to_limit: true` in its template",
        ),
        (
            25,
            "after the sync the spreadsheet would hold 64 cells (25 of them outside the "
            "synced tabs' data), over test's 30 cells per spreadsheet; the biggest tab is "
            "'KPI Daily' with 33 cells: shorten its `window_days` or set "
            "`truncate_to_limit: true` in its template, or delete unused sheets",
        ),
    ],
    ids=["frames alone", "with other sheets"],
)
def test_over_the_cell_total_names_the_total_and_the_biggest_tab(other, message):
    small = frame([1], title="Small")
    big = frame(list(range(1, 11)))
    with pytest.raises(LimitError, match=exactly(message)):
        fit_cell_total([small, big], Limits("test", max_cells_total=30), other_cells=other)


def test_a_destination_without_a_cell_total_fits_anything():
    tab = frame(list(range(1, 11)))
    assert fit_cell_total([tab], XLSX_LIMITS, other_cells=10**12) == [tab]


def test_the_two_cell_limits_say_which_one_was_broken():
    """Characters in one cell and cells in the spreadsheet: distinct, exact messages."""
    limits = Limits("test", max_cell_chars=10, max_cells_total=30)
    too_long = TabFrame(template(), [(None, LONG, 1)])
    per_cell = (
        "tab 'KPI Daily': the cell in row 2, column 'Country' has 11 characters, test "
        "allows at most 10 per cell; shorten that value at its source"
    )
    with pytest.raises(LimitError, match=exactly(per_cell)):
        fit_each_tab([too_long], limits)
    per_spreadsheet = (
        "after the sync the spreadsheet would hold 33 cells, over test's 30 cells per "
        "spreadsheet; the biggest tab is 'KPI Daily' with 33 cells: shorten its "
        "`window_days` or set `truncate_to_limit: true` in its template"
    )
    with pytest.raises(LimitError, match=exactly(per_spreadsheet)):
        fit_cell_total([frame(list(range(1, 11)))], limits)


# -- pivots computed locally --------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "columns", "fits"),
    [(1_048_576, 16_384, True), (1_048_577, 3, False), (3, 16_385, False)],
)
def test_a_pivot_table_must_fit_a_workbook_sheet(rows, columns, fits):
    if fits:
        check_pivot_size("KPI Daily", "Pivot", rows, columns, XLSX_LIMITS)
        return
    message = (
        f"pivot 'Pivot' of tab 'KPI Daily' would be {rows:,} rows × {columns:,} columns, "
        "over xlsx's 1,048,576 × 16,384; pivot on fewer distinct values (e.g. Week "
        "instead of Date) in its template"
    )
    with pytest.raises(LimitError, match=exactly(message)):
        check_pivot_size("KPI Daily", "Pivot", rows, columns, XLSX_LIMITS)
