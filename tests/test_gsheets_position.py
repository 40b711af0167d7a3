"""`position: first` on Google Sheets: the tab is the spreadsheet's first sheet after every
sync (through real gspread against the emulator), and no move is sent when it already is."""

from __future__ import annotations

from helpers import column, tab

from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.plan import build_plan
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import ColumnType, SheetPosition

BOARD = tab(
    "Board", column("Figure"), column("Value", ColumnType.INTEGER), position=SheetPosition.FIRST
)
OTHER = tab("Other", column("Week"), column("Orders", ColumnType.INTEGER))
FRAMES = [TabFrame(template=OTHER, rows=[("W1", 3)]), TabFrame(template=BOARD, rows=[("A", 1)])]


def titles(sheet) -> list[str]:
    meta = sheet.fetch_sheet_metadata()
    ordered = sorted(meta["sheets"], key=lambda s: s["properties"].get("index", 0))
    return [s["properties"]["title"] for s in ordered]


def test_the_tab_is_first_after_every_sync(emulator, gspread_client):
    sheet = gspread_client.create("Ops")
    google = GoogleSheetsBackend(
        Settings.load(environ={}, sheets_api_url=emulator.url).sheets, sheet.id
    )
    google.write_tabs(FRAMES)
    assert titles(sheet) == ["Board", "Sheet1", "Other"]
    board_id = sheet.worksheet("Board").id
    sheet.batch_update(
        {"requests": [
            {"updateSheetProperties": {"properties": {"sheetId": board_id, "index": 3},
                                       "fields": "index"}},
            {"addSheet": {"properties": {"title": "Team notes", "index": 0}}},
        ]}
    )  # fmt: skip
    assert titles(sheet) == ["Team notes", "Sheet1", "Other", "Board"]
    google.write_tabs(FRAMES)
    assert titles(sheet) == ["Board", "Team notes", "Sheet1", "Other"]


def _state(board_index: int) -> BookState:
    sheets = {
        "Other": SheetState(11, "Other", 2, 2, index=1 - board_index),
        "Board": SheetState(22, "Board", 2, 2, index=board_index),
    }
    values = {"Other": [["Week", "Orders"], ["W1", 3]], "Board": [["Figure", "Value"], ["A", 1]]}
    return BookState(sheets, [], values, tab_tags={11: "Other", 22: "Board"})


def _moves(plan) -> list[dict]:
    return [
        r["updateSheetProperties"]["properties"]
        for r in plan.requests
        if r.get("updateSheetProperties", {}).get("fields") == "index"
    ]


def test_a_move_is_planned_only_when_the_tab_is_not_first():
    assert _moves(build_plan(_state(0), FRAMES, 2_000_000)) == []
    assert _moves(build_plan(_state(1), FRAMES, 2_000_000)) == [{"sheetId": 22, "index": 0}]
    assert _moves(build_plan(BookState(), FRAMES, 2_000_000))[0]["index"] == 0
