"""Plan building for the Google backend: pure functions, no HTTP.

A small in-test applier replays a plan's row requests and value ranges on a
list-of-rows sheet, so the assertions are about the resulting content (what
the team sees), not about the exact request shapes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from helpers import INJECTION, column, tab

from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.gsheets import structure
from sheets_sync.backends.gsheets.bodies import pack
from sheets_sync.backends.gsheets.cells import a1_range, column_letter, same_cell, to_cell
from sheets_sync.backends.gsheets.plan import build_plan, cells_besides_frames
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import (
    ColumnType,
    ConditionalFormat,
    ConditionKind,
    PivotSpec,
    PivotValue,
    TabTemplate,
)

CAP = 2_000_000


def daily_template(key: tuple[str, ...] = ("Date", "Country"), pivots=()) -> TabTemplate:
    return tab(
        "KPI Daily",
        column("Date", ColumnType.DATE),
        column("Country"),
        column("Orders created", ColumnType.INTEGER),
        column("Paid amount", ColumnType.MONEY),
        key=key,
        pivots=pivots,
    )


def day_rows(first: date, days: int, countries=("DE", "FR"), bump: int = 0) -> list[tuple]:
    return [
        (first + timedelta(days=d), c, d * 10 + i + bump, Decimal(f"{d}.{i}5"))
        for d in range(days)
        for i, c in enumerate(countries)
    ]


def sheet_with(frame: TabFrame, team: dict[int, str] | None = None) -> list[list[Any]]:
    """What the API would read back after a perfect sync, plus team cells in column E."""
    rows = [list(frame.headers)] + [[to_cell(v) for v in r] for r in frame.rows]
    for index, note in (team or {}).items():
        rows[index] = rows[index] + [note]
    return rows


def state_of(title: str, rows: list[list[Any]], sheet_id: int = 7) -> BookState:
    sheet = SheetState(sheet_id, title, len(rows) + 10, 6)
    return BookState({title: sheet}, [], {title: [r[:4] for r in rows]})


def apply(plan, title: str, grid: list[list[Any]]) -> list[list[Any]]:
    """Replay row deletions/insertions, the grid resize, then the value writes."""
    grid = [list(r) for r in grid]
    for request in plan.requests:
        kind, body = next(iter(request.items()))
        if kind == "deleteDimension":
            rng = body["range"]
            del grid[rng["startIndex"] : rng["endIndex"]]
        elif kind == "insertDimension":
            rng = body["range"]
            grid[rng["startIndex"] : rng["startIndex"]] = [
                [] for _ in range(rng["endIndex"] - rng["startIndex"])
            ]
        elif kind == "updateSheetProperties":
            rows = body["properties"]["gridProperties"]["rowCount"]
            grid = (grid + [[] for _ in range(rows)])[:rows]
        elif kind == "addSheet":
            grid = [[] for _ in range(body["properties"]["gridProperties"]["rowCount"])]
    for body in plan.value_bodies:
        assert body["valueInputOption"] == "RAW"
        for vr in body["data"]:
            _write(grid, title, vr)
    while grid and not any(c not in ("", None) for c in grid[-1]):
        grid.pop()
    return grid


def _write(grid: list[list[Any]], title: str, vr: dict[str, Any]) -> None:
    sheet, bounds = vr["range"].rsplit("!", 1)
    assert sheet == "'" + title + "'"
    col_letters, row = re.match(r"([A-Z]+)(\d+)", bounds).groups()
    col0 = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(col_letters))) - 1
    for r, values in enumerate(vr["values"], start=int(row) - 1):
        line = grid[r]
        line.extend([""] * (col0 + len(values) - len(line)))
        line[col0 : col0 + len(values)] = values


def managed(grid: list[list[Any]]) -> list[list[Any]]:
    return [[*r, "", "", "", ""][:4] for r in grid]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (date(1899, 12, 31), 1),
        (date(2024, 1, 1), 45292),
        (datetime(2024, 1, 1, 12, 0), 45292.5),
        (Decimal("12.50"), 12.5),
        (7, 7),
        (True, True),
        (float("nan"), ""),
        (INJECTION, INJECTION),
    ],
)
def test_values_become_typed_json_cells(value, cell):
    assert to_cell(value) == cell
    assert type(to_cell(value)) is type(cell)


@pytest.mark.parametrize(
    ("current", "desired", "same"),
    [
        (None, "", True),
        ("", "", True),
        (1, True, False),
        (12.5, 12.5000000001, True),
        (45292, 45292.0, True),
        ("1", 1, False),
    ],
)
def test_cells_compare_as_the_sheet_holds_them(current, desired, same):
    assert same_cell(current, desired) is same


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (18277, "ZZZ")]
)
def test_column_letters(index, letters):
    assert column_letter(index) == letters


def test_ranges_quote_titles_with_quotes_and_symbols():
    assert a1_range("Pivot · Bob's", 1, 0, 3, 2) == "'Pivot · Bob''s'!A2:B3"


def test_first_sync_builds_every_sheet_in_one_batch_and_writes_every_cell():
    pivot = PivotSpec("Pivot · Country", rows=("Country",), values=(PivotValue("Orders created"),))
    frame = TabFrame(daily_template(pivots=(pivot,)), day_rows(date(2024, 3, 1), 5))
    plan = build_plan(BookState(), [frame], CAP)
    kinds = [next(iter(r)) for r in plan.requests]
    assert kinds.count("addSheet") == 2
    assert "addNamedRange" in kinds and "setBasicFilter" in kinds
    table = next(r["updateCells"] for r in plan.requests if "updateCells" in r)
    source = table["rows"][0]["values"][0]["pivotTable"]["source"]
    assert (source["startRowIndex"], source["endRowIndex"]) == (0, 11)
    assert plan.cells_written == frame.cell_count
    assert apply(plan, "KPI Daily", []) == sheet_with(frame)


@pytest.mark.parametrize("key", [("Date", "Country"), ()], ids=["keyed", "unkeyed"])
def test_next_day_moves_the_window_and_writes_only_the_new_day(key):
    before = TabFrame(daily_template(key), day_rows(date(2024, 3, 1), 30))
    after = TabFrame(daily_template(key), [*before.rows[2:], *day_rows(date(2024, 3, 31), 1)])
    plan = build_plan(state_of("KPI Daily", sheet_with(before)), [after], CAP)
    deletes = [r["deleteDimension"]["range"] for r in plan.requests if "deleteDimension" in r]
    assert [(d["startIndex"], d["endIndex"]) for d in deletes] == [(1, 3)]
    assert not any("insertDimension" in r for r in plan.requests)
    assert plan.cells_written == 2 * after.width
    assert apply(plan, "KPI Daily", sheet_with(before)) == sheet_with(after)


def test_keyed_rows_keep_team_cells_through_churn_and_a_resort():
    before = TabFrame(daily_template(), day_rows(date(2024, 3, 1), 4))
    sheet = sheet_with(before, team={1: "call DE", 4: "check FR", 8: "last"})
    resorted = [sheet[0], *sorted(sheet[1:], key=lambda r: (r[1], -r[0]))]
    rows = day_rows(date(2024, 3, 1), 5, bump=1)
    rows = [
        r for r in rows if r[0] != date(2024, 3, 2)
    ]  # a day vanishes, one appears, values change
    after = TabFrame(daily_template(), rows)
    grid = apply(build_plan(state_of("KPI Daily", resorted), [after], CAP), "KPI Daily", resorted)
    by_key = {(r[0], r[1]): r for r in grid[1:]}
    assert sorted(managed(grid)[1:]) == sorted(sheet_with(after)[1:])
    assert by_key[(to_cell(date(2024, 3, 1)), "DE")][4:] == ["call DE"]
    assert by_key[(to_cell(date(2024, 3, 4)), "FR")][4:] == ["last"]
    assert all(len(r) <= 4 or r[4] != "check FR" for r in grid)  # its day vanished with its row
    assert grid[0] == list(after.headers)


def test_new_keys_are_inserted_beside_their_neighbours():
    before = TabFrame(daily_template(), day_rows(date(2024, 3, 1), 3, countries=("DE",)))
    after = TabFrame(daily_template(), day_rows(date(2024, 3, 1), 3, countries=("DE", "ES")))
    plan = build_plan(state_of("KPI Daily", sheet_with(before)), [after], CAP)
    inserts = [
        r["insertDimension"]["range"]["startIndex"] for r in plan.requests if "insertDimension" in r
    ]
    assert inserts == [2, 4]  # after 03-01 DE and 03-02 DE; the last ES row is appended
    assert apply(plan, "KPI Daily", sheet_with(before)) == sheet_with(after)
    assert plan.cells_written == 3 * after.width


def test_a_formula_typed_over_a_managed_cell_is_overwritten_and_text_stays_raw():
    frame = TabFrame(daily_template(), [(date(2024, 3, 1), INJECTION, 1, Decimal(2))])
    sheet = sheet_with(frame)
    sheet[1][2] = "=1+1"
    plan = build_plan(state_of("KPI Daily", sheet), [frame], CAP)
    assert plan.cells_written == 1
    written = plan.value_bodies[0]["data"][0]
    assert written["range"] == "'KPI Daily'!C2:C2" and written["values"] == [[1]]


def test_unchanged_tab_writes_no_values():
    frame = TabFrame(daily_template(), day_rows(date(2024, 3, 1), 10))
    plan = build_plan(state_of("KPI Daily", sheet_with(frame)), [frame], CAP)
    assert plan.value_bodies == [] and plan.cells_written == 0
    assert not any("deleteDimension" in r or "insertDimension" in r for r in plan.requests)


@pytest.mark.parametrize("cap", [10_000, 30_000])
def test_value_bodies_stay_under_the_payload_cap_and_cover_every_cell(cap):
    frame = TabFrame(
        daily_template(), day_rows(date(2020, 1, 1), 600, countries=("DE", "FR", "ES"))
    )
    plan = build_plan(BookState(), [frame], cap)
    sizes = [len(json.dumps(b, separators=(",", ":")).encode()) for b in plan.value_bodies]
    assert len(sizes) > 1 and max(sizes) <= cap
    assert apply(plan, "KPI Daily", []) == sheet_with(frame)


def test_pack_keeps_small_ranges_in_one_body():
    ranges = [
        {"range": f"'T'!A{i}:A{i}", "majorDimension": "ROWS", "values": [[i]]} for i in range(1, 50)
    ]
    assert len(pack(ranges, 10_000)) == 1


COUNTRY_PIVOT = PivotSpec(
    "Pivot · Country", rows=("Country",), values=(PivotValue("Orders created"),)
)


@pytest.mark.parametrize(
    ("pivots", "pivot_sheet", "pivot_cells"),
    [((), None, 0), ((COUNTRY_PIVOT,), None, 1000 * 26), ((COUNTRY_PIVOT,), (30, 5), 150)],
    ids=["no pivot", "new pivot sheet at its default size", "existing pivot sheet"],
)
def test_cells_besides_the_frames_count_other_sheets_team_columns_and_pivots(
    pivots, pivot_sheet, pivot_cells
):
    frame = TabFrame(daily_template(pivots=pivots), day_rows(date(2024, 3, 1), 4))
    state = state_of("KPI Daily", sheet_with(frame))  # six columns: two are the team's
    state.sheets["Notes"] = SheetState(99, "Notes", 100, 10)
    if pivot_sheet:
        state.sheets[COUNTRY_PIVOT.title] = SheetState(100, COUNTRY_PIVOT.title, *pivot_sheet)
    besides = cells_besides_frames(state, [frame])
    assert besides == 1000 + 9 * 2 + pivot_cells  # Notes, the team's columns on nine rows
    assert besides + frame.cell_count == 9 * 6 + 1000 + pivot_cells  # all after the sync


def test_the_plan_reports_each_tab_then_each_pivot_sheet():
    rows = day_rows(date(2024, 3, 1), 3)
    cut = TabFrame(daily_template(pivots=(COUNTRY_PIVOT,)), rows, truncated_from=9)
    other = TabFrame(dataclasses.replace(daily_template(), title="Other"), [])
    plan = build_plan(BookState(), [cut, other], CAP)
    got = [(t.title, t.rows, t.cells, t.truncated_from) for t in plan.tabs]
    assert got == [
        ("KPI Daily", 6, cut.cell_count, 9),
        ("Other", 0, other.width, None),
        ("Pivot · Country", None, 0, None),  # Google computes the pivot's rows itself
    ]


def pricing_template() -> TabTemplate:
    return tab(
        "Pricing",
        column("Seller ID"),
        column("Current price", ColumnType.MONEY),
        column("New price", ColumnType.MONEY, editable=True),
        column("Status"),
        key=("Seller ID",),
    )


def test_a_price_the_team_typed_survives_a_sync_until_it_is_pushed():
    before = [
        ["Seller ID", "Current price", "New price", "Status"],
        ["S1", 10, 12.5, "old"],
        ["S2", 20, "", "x"],
    ]
    frame = TabFrame(
        pricing_template(), [("S1", Decimal("11.00"), None, None), ("S2", Decimal(20), None, None)]
    )
    plan = build_plan(state_of("Pricing", before), [frame], CAP)
    grid = apply(plan, "Pricing", before)
    assert grid[1:] == [["S1", 11.0, 12.5, ""], ["S2", 20, "", ""]]
    written = [vr["range"] for body in plan.value_bodies for vr in body["data"]]
    assert all("C" not in rng.split("!")[1] for rng in written)


def test_a_tab_that_empties_keeps_a_row_below_its_frozen_header():
    before = TabFrame(daily_template(), day_rows(date(2024, 3, 1), 2))
    rows = sheet_with(before)
    state = BookState(
        {"KPI Daily": SheetState(7, "KPI Daily", len(rows), 4)}, [], {"KPI Daily": rows}
    )
    allowed = WriteOptions(allow_shrink=True)  # emptying a keyed tab is refused otherwise
    plan = build_plan(state, [TabFrame(daily_template(), [])], CAP, allowed)
    kinds = [next(iter(r)) for r in plan.requests]
    assert kinds.index("appendDimension") < kinds.index("deleteDimension")
    resize = next(r["updateSheetProperties"] for r in plan.requests if "updateSheetProperties" in r)
    assert resize["properties"]["gridProperties"]["rowCount"] == 2
    assert apply(plan, "KPI Daily", rows) == [list(before.headers)]


# -- structure already in place is not re-sent -----------------------------------

RAG = (
    ConditionalFormat("Country", ConditionKind.TEXT_EQ, ("FR",), background="#F4CCCC", bold=True),
    ConditionalFormat("Orders created", ConditionKind.NUMBER_LESS, ("5",), font_color="#CC0000"),
)


def google_answer(sent: Any, twins: str = "both") -> Any:
    """What Google answers for a rule or range we sent: defaults left out, colours in 8-bit
    steps with zero channels dropped, each ``…ColorStyle`` with its deprecated plain twin
    (``twins="both"``; ``"style"`` / ``"plain"`` answer one of the two)."""
    if isinstance(sent, list):
        return [google_answer(item, twins) for item in sent]
    if not isinstance(sent, dict):
        return sent
    out: dict[str, Any] = {}
    for key, item in sent.items():
        if key in ("sheetId", "startRowIndex", "startColumnIndex") and item == 0:
            continue
        if key in ("backgroundColorStyle", "foregroundColorStyle"):
            stored = {c: round(round(v * 255) / 255, 8) for c, v in item["rgbColor"].items() if v}
            if twins != "plain":
                out[key] = {"rgbColor": stored}
            if twins != "style":
                out[key.removesuffix("Style")] = dict(stored)
        else:
            out[key] = google_answer(item, twins)
    return out


def test_conditional_formats_send_only_current_colour_fields():
    template = dataclasses.replace(daily_template(), conditional_formats=RAG)
    [first, second] = [
        r["addConditionalFormatRule"]["rule"]["booleanRule"]["format"]
        for r in structure.conditional_formats(template, 0, None)
    ]
    assert first == {
        "backgroundColorStyle": {"rgbColor": {"red": 0.9569, "green": 0.8, "blue": 0.8}},
        "textFormat": {"bold": True},
    }
    red = {"rgbColor": {"red": 0.8, "green": 0.0, "blue": 0.0}}
    assert second == {"textFormat": {"foregroundColorStyle": red}}


@pytest.mark.parametrize("twins", ["both", "style", "plain"])
@pytest.mark.parametrize("sheet_id", [0, 7])
def test_conditional_formats_read_back_in_google_s_shape_are_not_re_sent(sheet_id, twins):
    template = dataclasses.replace(daily_template(), conditional_formats=RAG)
    wanted = structure.conditional_formats(template, sheet_id, None)
    rules = [r["addConditionalFormatRule"]["rule"] for r in wanted]
    answered = google_answer(rules, twins)
    current = SheetState(sheet_id, "KPI Daily", 10, 4, conditional_formats=answered)
    assert structure.conditional_formats(template, sheet_id, current) == []


def test_a_changed_conditional_format_colour_is_re_sent():
    template = dataclasses.replace(daily_template(), conditional_formats=RAG)
    rules = [
        r["addConditionalFormatRule"]["rule"]
        for r in structure.conditional_formats(template, 0, None)
    ]
    recoloured = dataclasses.replace(
        template, conditional_formats=(dataclasses.replace(RAG[0], background="#F4CCCD"), RAG[1])
    )
    current = SheetState(0, "KPI Daily", 10, 4, conditional_formats=google_answer(rules))
    assert structure.conditional_formats(recoloured, 0, current) != []


@pytest.mark.parametrize("sheet_id", [0, 7])
def test_a_named_range_read_back_without_defaults_is_not_updated(sheet_id):
    [add] = structure.named_range("KPI Daily", sheet_id, 20, 4, None)
    sent = add["addNamedRange"]["namedRange"]
    existing = {"namedRangeId": "n1", "name": sent["name"], "range": google_answer(sent["range"])}
    assert structure.named_range("KPI Daily", sheet_id, 20, 4, existing) == []
    assert structure.named_range("KPI Daily", sheet_id, 21, 4, existing) != []


# -- the team's filter is sent back under its current names -----------------------

RED = {"red": 0.95686275, "green": 0.8, "blue": 0.8}
TEAM_CRITERIA = {"hiddenValues": ["FR"], "visibleBackgroundColor": RED}
TEAM_SORT = {"dimensionIndex": 2, "sortOrder": "ASCENDING", "backgroundColor": RED}


def test_a_team_filter_answered_with_both_twins_is_sent_back_with_current_fields_only():
    styled = {"hiddenValues": ["FR"], "visibleBackgroundColorStyle": {"rgbColor": RED}}
    answered = {
        "range": {"endRowIndex": 5, "endColumnIndex": 4},
        "criteria": {"1": TEAM_CRITERIA | {"visibleBackgroundColorStyle": {"rgbColor": RED}}},
        "filterSpecs": [{"columnIndex": 1, "filterCriteria": TEAM_CRITERIA | styled}],
        "sortSpecs": [TEAM_SORT | {"backgroundColorStyle": {"rgbColor": RED}}],
    }
    current = SheetState(0, "KPI Daily", 10, 4, basic_filter=answered)
    [request] = structure.basic_filter(daily_template(), 0, 9, current)
    sent = request["setBasicFilter"]["filter"]
    assert sent["filterSpecs"] == [{"columnIndex": 1, "filterCriteria": styled}]
    assert sent["sortSpecs"] == [
        {"dimensionIndex": 2, "sortOrder": "ASCENDING", "backgroundColorStyle": {"rgbColor": RED}}
    ]
    assert "criteria" not in sent and sent["range"]["endRowIndex"] == 10


def test_a_team_filter_answered_in_deprecated_fields_only_is_moved_to_their_twins():
    answered = {"range": {"endRowIndex": 5}, "criteria": {"3": TEAM_CRITERIA, "1": {}}}
    current = SheetState(0, "KPI Daily", 10, 4, basic_filter=answered)
    [request] = structure.basic_filter(daily_template(), 0, 9, current)
    styled = {"hiddenValues": ["FR"], "visibleBackgroundColorStyle": {"rgbColor": RED}}
    assert request["setBasicFilter"]["filter"]["filterSpecs"] == [
        {"columnIndex": 1, "filterCriteria": {}},
        {"columnIndex": 3, "filterCriteria": styled},
    ]
    assert "criteria" not in request["setBasicFilter"]["filter"]


def test_the_header_format_names_only_current_fields():
    [header, *_] = structure.presentation(daily_template(), 0, 10)
    repeat = header["repeatCell"]
    assert repeat["fields"] == "userEnteredFormat(textFormat.bold,backgroundColorStyle)"
    assert set(repeat["cell"]["userEnteredFormat"]) == {"textFormat", "backgroundColorStyle"}


def test_the_read_back_keeps_each_repeated_value_once_and_every_value_its_type() -> None:
    """A next-day sync holds every managed cell it read; equal texts and numbers share one
    object, but 1, 1.0 and True stay what they were read as (booleans compare by type)."""
    read = json.loads('[["FR", 1, 1.0, true, 45231], ["FR", 1.0, 1, true, 45231]]')
    assert read[0][0] is not read[1][0] and read[0][4] is not read[1][4]
    state = BookState().with_values(["Pricing"], [{"values": read}])
    first, second = state.values["Pricing"]
    assert first == ["FR", 1, 1.0, True, 45231] and second == ["FR", 1.0, 1, True, 45231]
    assert [type(v) for v in first] == [str, int, float, bool, int]
    assert [type(v) for v in second] == [str, float, int, bool, int]
    assert first[0] is second[0] and first[4] is second[4] and first[1] is second[2]
