"""The Pricing tab as the team sees it, on a workbook or the emulator, for end-to-end tests.

:class:`TeamSheet` types into cells the way a person does (openpyxl for a
workbook; gspread for Google, numbers as numbers, formulas entered as
formulas, other text RAW) and reads the tab back through the product's own
reader (formulas as text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gspread
import pytest
from excel_edits import delete_column, insert_columns
from gspread.utils import rowcol_to_a1
from helpers import TEMPLATES
from openpyxl import load_workbook
from pricing_data import load_pricing
from sqlalchemy.engine import Engine

from sheets_sync.backends.base import SheetBackend
from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination
from sheets_sync.jobs.run import sync_now

TITLE = "Pricing"


class TeamSheet:
    """One synced Pricing tab; rows are found by their key, cells by their column.

    The product's columns are known the way the team knows them, independently
    of the product's tags: by header right after the sync, then followed through
    every column the team inserts or deletes here (so a team column titled
    ``Status`` is never mistaken for the product's).
    """

    def __init__(self, destination: str, settings: Settings, ws: gspread.Worksheet | None) -> None:
        self.destination = destination
        self.settings = settings
        self.ws = ws
        self.columns: dict[str, int] | None = None  # header → 0-based index, once tracked

    @property
    def backend(self) -> SheetBackend:
        return open_destination(self.destination, self.settings.sheets, None)  # the team reads

    def table(self) -> list[list[Any]]:
        return self.backend.read_tab(TITLE)

    def forget_columns(self) -> None:
        """After a sync put the product's columns back in order: find them by header again."""
        self.columns = None

    def column(self, header: str, table: list[list[Any]] | None = None) -> int:
        """The 0-based index of the product's column ``header``."""
        if self.columns is None:
            first = (table or self.table())[0]
            self.columns = {h: first.index(h) for h in dict.fromkeys(first) if isinstance(h, str)}
        return self.columns[header]

    def cell(self, key: tuple[str, ...], header: str) -> Any:
        table = self.table()
        values = table[self._row_index(table, key)]
        column = self.column(header, table)
        value = values[column] if column < len(values) else None
        return None if value == "" else value

    def cell_at(self, row: int, column: int) -> Any:
        """The value of 1-based (row, column), None when empty."""
        table = self.table()
        values = table[row - 1] if row - 1 < len(table) else []
        value = values[column - 1] if column - 1 < len(values) else None
        return None if value == "" else value

    def row_number(self, key: tuple[str, ...]) -> int:
        """The 1-based sheet row of a listing."""
        return self._row_index(self.table(), key) + 1

    def type(self, edits: dict[tuple[tuple[str, ...], str], Any]) -> None:
        """Type each value into the cell of (key, header)."""
        table = self.table()
        cells = {
            (self._row_index(table, key) + 1, self.column(header, table) + 1): value
            for (key, header), value in edits.items()
        }
        self.set_cells(cells)

    def set_cells(self, cells: dict[tuple[int, int], Any]) -> None:
        """Type into 1-based (row, column) cells."""
        if self.ws is None:
            wb = load_workbook(self.path)
            for (row, column), value in cells.items():
                wb[TITLE].cell(row=row, column=column).value = value
            wb.save(self.path)
            return
        raw = [{"range": rowcol_to_a1(*rc), "values": [[v]]} for rc, v in cells.items()
               if not (isinstance(v, str) and v.startswith("="))]  # fmt: skip
        typed = [{"range": rowcol_to_a1(*rc), "values": [[v]]} for rc, v in cells.items()
                 if isinstance(v, str) and v.startswith("=")]  # fmt: skip
        if raw:
            self.ws.batch_update(raw, raw=True)
        if typed:
            self.ws.batch_update(typed, raw=False)

    def rename_header(self, old: str, new: str) -> None:
        self.set_cells({(1, self.column(old) + 1): new})

    def insert_first_column(self, header: str) -> None:
        """The team adds a column of its own at the far left."""
        self.insert_column(1, header)

    def insert_column(self, at: int, header: str, values: dict[int, Any] | None = None) -> None:
        """The team inserts a column of its own before column ``at``, titles it and types
        ``values`` ({row: value}) in it."""
        self.column("Seller ID")  # track the product's columns from before the insert
        cells = {1: header, **(values or {})}
        if self.ws is None:
            insert_columns(self.path, TITLE, at, cells)
        else:
            self.ws.insert_cols([[]], col=at)
            self.set_cells({(row, at): value for row, value in cells.items()})
        assert self.columns is not None
        self.columns = {h: i + 1 if i >= at - 1 else i for h, i in self.columns.items()}

    def delete_column(self, header: str) -> None:
        """The team deletes the product's column ``header``."""
        at = self.column(header) + 1
        if self.ws is None:
            delete_column(self.path, TITLE, at)
        else:
            self.ws.delete_columns(at)
        assert self.columns is not None
        del self.columns[header]
        self.columns = {h: i - 1 if i >= at else i for h, i in self.columns.items()}

    def insert_rows(self, at: int, rows: list[list[Any]]) -> None:
        """The team inserts rows before row ``at`` (values from column A)."""
        if self.ws is None:
            wb = load_workbook(self.path)
            ws = wb[TITLE]
            ws.insert_rows(at, len(rows))
            for offset, values in enumerate(rows):
                for column, value in enumerate(values, start=1):
                    ws.cell(row=at + offset, column=column).value = value
            wb.save(self.path)
        else:
            self.ws.insert_rows(rows or [[]], row=at, value_input_option="RAW")

    def sort_rows(self, header: str, descending: bool = True) -> None:
        """The team sorts the data rows by one of the product's columns."""
        column = self.column(header) + 1
        if self.ws is None:
            wb = load_workbook(self.path)
            ws = wb[TITLE]
            rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
            rows.sort(key=lambda r: (r[column - 1] is None, str(r[column - 1])), reverse=descending)
            for r, values in enumerate(rows, start=2):
                for c, value in enumerate(values, start=1):
                    ws.cell(row=r, column=c).value = value
            wb.save(self.path)
        else:
            last = rowcol_to_a1(self.ws.row_count, self.ws.col_count)
            self.ws.sort((column, "des" if descending else "asc"), range=f"A2:{last}")

    @property
    def path(self) -> Path:
        return Path(self.destination.removeprefix("xlsx:"))

    def _row_index(self, table: list[list[Any]], key: tuple[str, ...]) -> int:
        where = [self.column(h, table) for h in ("Seller ID", "Product ID", "Grade", "Country")]
        for index, row in enumerate(table[1:], start=1):
            if tuple(row[i] if i < len(row) else None for i in where) == key:
                return index
        raise KeyError(key)


def settings_for(db_url: str, emulator: Any = None, **overrides: Any) -> Settings:
    return Settings.load(
        environ={}, database_url=db_url, templates_dir=TEMPLATES,
        sheets_api_url=emulator.url if emulator is not None else None, **overrides,
    )  # fmt: skip


def synced_team(
    request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path
) -> TeamSheet:
    """The Pricing tab synced from the pricing dataset to a workbook or the emulator
    (``request.param``), ready for the team's edits."""
    load_pricing(engine)
    if request.param == "xlsx":
        settings = settings_for(db_url)
        sheet = TeamSheet(f"xlsx:{tmp_path / 'ops.xlsx'}", settings, None)
    else:
        emulator = request.getfixturevalue("emulator")
        spreadsheet = request.getfixturevalue("gspread_client").create("Trade-In Ops")
        settings = settings_for(db_url, emulator)
        sheet = TeamSheet(f"gsheets:{spreadsheet.id}", settings, None)
    sync_now(engine, settings, sheet.destination, tabs=[TITLE])
    if request.param == "gsheets":
        sheet.ws = spreadsheet.worksheet(TITLE)
    return sheet
