"""Spreadsheet state: sheets, named ranges, limits, and range resolution.

A ``spreadsheets:batchUpdate`` runs on a :meth:`Spreadsheet.fork` and is
committed only if every request succeeds (all or nothing, like Google). A fork
shares each sheet's grid until a request writes to it (copy on write), so a
metadata-only batch never copies cells.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sheets_emulator import a1
from sheets_emulator.apierror import ApiError, bad_request, not_found
from sheets_emulator.grid import Grid

MAX_CELLS = 10_000_000
MAX_COLUMNS = a1.MAX_COLUMNS
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
    },
}


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Sheet:
    """One tab: its properties, its grid (shared until written) and its sheet-level objects."""

    def __init__(self, properties: dict[str, Any], grid: Grid | None = None) -> None:
        self.properties = properties
        self._grid = grid or Grid()
        self._shared = False
        self.basic_filter: dict[str, Any] | None = None
        self.protected_ranges: list[dict[str, Any]] = []
        self.conditional_formats: list[dict[str, Any]] = []
        self.merges: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []
        self.row_groups: list[dict[str, Any]] = []
        self.column_groups: list[dict[str, Any]] = []
        self.has_pivots = False

    @property
    def sheet_id(self) -> int:
        return int(self.properties["sheetId"])

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    @property
    def row_count(self) -> int:
        return int(self.properties["gridProperties"]["rowCount"])

    @property
    def col_count(self) -> int:
        return int(self.properties["gridProperties"]["columnCount"])

    @property
    def grid(self) -> Grid:
        """For reading. Writers call :meth:`writable` first."""
        return self._grid

    def writable(self) -> Grid:
        if self._shared:
            self._grid = self._grid.copy()
            self._shared = False
        return self._grid

    def fork(self) -> Sheet:
        other = Sheet(copy.deepcopy(self.properties), self._grid)
        other._shared = True
        other.basic_filter = copy.deepcopy(self.basic_filter)
        other.protected_ranges = copy.deepcopy(self.protected_ranges)
        other.conditional_formats = copy.deepcopy(self.conditional_formats)
        other.merges = copy.deepcopy(self.merges)
        other.charts = copy.deepcopy(self.charts)
        other.row_groups = copy.deepcopy(self.row_groups)
        other.column_groups = copy.deepcopy(self.column_groups)
        other.has_pivots = self.has_pivots
        return other


@dataclass
class Spreadsheet:
    """A spreadsheet and its Drive-side metadata (owner, permissions, times)."""

    spreadsheet_id: str
    properties: dict[str, Any]
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    created_time: str = field(default_factory=now_rfc3339)
    modified_time: str = field(default_factory=now_rfc3339)
    owner: str = "anonymous"
    permissions: list[dict[str, Any]] = field(default_factory=list)
    forbidden: bool = False
    rng: random.Random = field(default_factory=random.Random)
    developer_metadata: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    def fork(self) -> Spreadsheet:
        return Spreadsheet(
            self.spreadsheet_id,
            copy.deepcopy(self.properties),
            [s.fork() for s in self.sheets],
            copy.deepcopy(self.named_ranges),
            self.created_time,
            self.modified_time,
            self.owner,
            copy.deepcopy(self.permissions),
            self.forbidden,
            self.rng,
            copy.deepcopy(self.developer_metadata),
        )

    def touch(self) -> None:
        self.modified_time = now_rfc3339()

    # -- sheets ----------------------------------------------------------------

    def new_sheet_id(self) -> int:
        used = {s.sheet_id for s in self.sheets}
        while True:
            candidate = self.rng.randrange(1, 2**31 - 1)
            if candidate not in used:
                return candidate

    def sheet_by_id(self, sheet_id: Any, where: str = "") -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise bad_request(f"{where}No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        return None

    def reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.properties["index"] = i

    def total_cells(self) -> int:
        return sum(s.row_count * s.col_count for s in self.sheets)

    def check_cells(self, extra: int = 0) -> None:
        """Google's 10,000,000-cell workbook limit, checked whenever the grid grows."""
        if self.total_cells() + extra > MAX_CELLS:
            raise bad_request(
                "This action would increase the number of cells in the workbook above the "
                f"limit of {MAX_CELLS} cells."
            )

    # -- ranges ----------------------------------------------------------------

    def resolve(self, text: str) -> tuple[Sheet, a1.Bounds]:
        """An A1 range, sheet title or named range → (sheet, bounds)."""
        title, cells = a1.split_sheet(text)
        if title is None and cells is not None:
            sheet = self.sheet_by_title(cells)
            if sheet is not None:
                return sheet, a1.WHOLE
            named = self.named_range(cells)
            if named is not None:
                return self.grid_range(named["range"])
            bounds = a1.parse_cells(cells)
            if bounds is None or not self.sheets:
                raise bad_request(f"Unable to parse range: {text}")
            return self._first_visible(), bounds
        sheet = self.sheet_by_title(title or "")
        if sheet is None:
            raise bad_request(f"Unable to parse range: {text}")
        if cells is None:
            return sheet, a1.WHOLE
        bounds = a1.parse_cells(cells)
        if bounds is None:
            named = self.named_range(cells)
            if named is None:
                raise bad_request(f"Unable to parse range: {text}")
            return self.grid_range(named["range"])
        return sheet, bounds

    def _first_visible(self) -> Sheet:
        return next((s for s in self.sheets if not s.properties.get("hidden")), self.sheets[0])

    def named_range(self, name: str) -> dict[str, Any] | None:
        return next((n for n in self.named_ranges if n["name"] == name), None)

    def grid_range(self, rng: dict[str, Any], where: str = "") -> tuple[Sheet, a1.Bounds]:
        """A GridRange JSON → (sheet, bounds); missing indexes are unbounded."""
        sheet = self.sheet_by_id(rng.get("sheetId", 0), where)
        r0, c0 = int(rng.get("startRowIndex", 0)), int(rng.get("startColumnIndex", 0))
        r1, c1 = rng.get("endRowIndex"), rng.get("endColumnIndex")
        bounds = a1.Bounds(r0, None if r1 is None else int(r1), c0, None if c1 is None else int(c1))
        check_bounds(sheet, bounds, where)
        return sheet, bounds


def clip(sheet: Sheet, bounds: a1.Bounds) -> tuple[int, int, int, int]:
    """Bounds with open ends closed at the grid's edge."""
    r1 = sheet.row_count if bounds.r1 is None else bounds.r1
    c1 = sheet.col_count if bounds.c1 is None else bounds.c1
    return bounds.r0, r1, bounds.c0, c1


def check_bounds(sheet: Sheet, bounds: a1.Bounds, where: str = "") -> None:
    """A range past the grid is a 400, as Google answers it."""
    r0, r1, c0, c1 = clip(sheet, bounds)
    if r1 > sheet.row_count or c1 > sheet.col_count or r0 > r1 or c0 > c1 or r0 < 0 or c0 < 0:
        shown = a1.format_range(sheet.title, r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))
        raise bad_request(
            f"{where}Range ({shown}) exceeds grid limits. Max rows: {sheet.row_count}, "
            f"max columns: {sheet.col_count}"
        )


def grid_range_json(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> dict[str, Any]:
    return {
        "sheetId": sheet.sheet_id,
        "startRowIndex": r0,
        "endRowIndex": r1,
        "startColumnIndex": c0,
        "endColumnIndex": c1,
    }


def new_spreadsheet(title: str, owner: str) -> Spreadsheet:
    """What Drive's files.create makes: one 1000×26 sheet named ``Sheet1`` with id 0."""
    book = Spreadsheet(
        spreadsheet_id=secrets.token_urlsafe(33)[:44],
        properties={
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
        },
        owner=owner,
    )
    book.sheets.append(Sheet(sheet_properties(0, "Sheet1", 0, DEFAULT_ROWS, DEFAULT_COLS)))
    return book


def sheet_properties(sheet_id: int, title: str, index: int, rows: int, cols: int) -> dict[str, Any]:
    return {
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": rows, "columnCount": cols},
    }


class Store:
    """All spreadsheets, behind one lock (operations are short; clarity beats parallelism)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.books: dict[str, Spreadsheet] = {}

    def get(self, spreadsheet_id: str, user: str | None = None) -> Spreadsheet:
        book = self.books.get(spreadsheet_id)
        if book is None:
            raise not_found()
        if book.forbidden:
            raise ApiError(403, "The caller does not have permission")
        return book

    def put(self, book: Spreadsheet) -> None:
        """Store (or commit) a spreadsheet; the replaced state is dropped, so grids are owned."""
        for sheet in book.sheets:
            sheet._shared = False
        self.books[book.spreadsheet_id] = book

    def clear(self) -> None:
        self.books.clear()
