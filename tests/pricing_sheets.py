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
from excel_edits import delete_column, insert_columns
from gspread.utils import rowcol_to_a1
from helpers import TEMPLATES
from openpyxl import load_workbook

from sheets_sync.backends.base import SheetBackend
from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination

TITLE = "Pricing"


class TeamSheet:
    """One synced Pricing tab; rows are found by their key, cells by their header."""

    def __init__(self, destination: str, settings: Settings, ws: gspread.Worksheet | None) -> None:
        self.destination = destination
        self.settings = settings
        self.ws = ws

    @property
    def backend(self) -> SheetBackend:
        return open_destination(self.destination, self.settings)

    def table(self) -> list[list[Any]]:
        return self.backend.read_tab(TITLE)

    def cell(self, key: tuple[str, ...], header: str) -> Any:
        table = self.table()
        row = self._row_index(table, key)
        values = table[row]
        column = table[0].index(header)
        value = values[column] if column < len(values) else None
        return None if value == "" else value

    def row_number(self, key: tuple[str, ...]) -> int:
        """The 1-based sheet row of a listing."""
        return self._row_index(self.table(), key) + 1

    def type(self, edits: dict[tuple[tuple[str, ...], str], Any]) -> None:
        """Type each value into the cell of (key, header)."""
        table = self.table()
        cells = {
            (self._row_index(table, key) + 1, table[0].index(header) + 1): value
            for (key, header), value in edits.items()
        }
        self.set_cells(cells)

    def set_cells(self, cells: dict[tuple[int, int], Any]) -> None:
        """Type into 1-based (row, column) cells."""
        if self.ws is None:
            path = Path(self.destination.removeprefix("xlsx:"))
            wb = load_workbook(path)
            for (row, column), value in cells.items():
                wb[TITLE].cell(row=row, column=column).value = value
            wb.save(path)
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
        table = self.table()
        self.set_cells({(1, table[0].index(old) + 1): new})

    def insert_first_column(self, header: str) -> None:
        """The team adds a column of its own at the far left."""
        self.insert_column(1, header)

    def insert_column(self, at: int, header: str) -> None:
        """The team inserts a column of its own before column ``at`` and titles it."""
        if self.ws is None:
            insert_columns(self.path, TITLE, at, {1: header})
        else:
            self.ws.insert_cols([[header]], col=at, value_input_option="RAW")

    def delete_column(self, header: str) -> None:
        """The team deletes the column headed ``header`` (the leftmost of that title)."""
        at = self.table()[0].index(header) + 1
        if self.ws is None:
            delete_column(self.path, TITLE, at)
        else:
            self.ws.delete_columns(at)

    @property
    def path(self) -> Path:
        return Path(self.destination.removeprefix("xlsx:"))

    @staticmethod
    def _row_index(table: list[list[Any]], key: tuple[str, ...]) -> int:
        header = table[0]
        where = [header.index(h) for h in ("Seller ID", "Product ID", "Grade", "Country")]
        for index, row in enumerate(table[1:], start=1):
            if tuple(row[i] for i in where) == key:
                return index
        raise KeyError(key)


def settings_for(db_url: str, emulator: Any = None, **overrides: Any) -> Settings:
    return Settings.load(
        environ={}, database_url=db_url, templates_dir=TEMPLATES,
        sheets_api_url=emulator.url if emulator is not None else None, **overrides,
    )  # fmt: skip
