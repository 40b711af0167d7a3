"""What the spreadsheet looks like now, from the three batched reads a sync makes.

``spreadsheets.get`` with :data:`METADATA_FIELDS` (no grid data) gives every
sheet's properties, protected ranges, basic filter and conditional formats,
plus the named ranges; one ``developerMetadata:search`` (:data:`SEARCH_BODY`)
gives the product's tags: which sheets it manages (:data:`TAB_KEY`, on the
sheet) and where each managed column is now (:data:`COLUMN_KEY`, on one
column; Google moves it with the column). One ``values:batchGet`` of every
managed sheet's whole rows inside its grid (``FORMULA`` render so a formula
typed over a managed cell is seen and overwritten, ``SERIAL_NUMBER`` dates)
gives their content, the team's columns included. Charts come with the
metadata read (``sheets.charts``), and the product's charts are known by their
:data:`CHART_KEY` tags in the same search.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

METADATA_FIELDS = (
    "spreadsheetId,properties.title,"
    "sheets(properties(sheetId,title,index,sheetType,gridProperties),"
    "protectedRanges,basicFilter,conditionalFormats,charts),"
    "namedRanges"
)
VALUE_READ_PARAMS: Mapping[str, str] = MappingProxyType(
    {
        "valueRenderOption": "FORMULA",
        "dateTimeRenderOption": "SERIAL_NUMBER",
        "majorDimension": "ROWS",
    }
)
"""Read-only: gspread's ``values_batch_get`` adds ``ranges`` to the params it is given,
so each call takes a copy (:func:`value_read_params`); a shared dict would carry
``ranges`` into the next ``values.get``, which Google refuses (400)."""


def value_read_params() -> dict[str, str | int | bool | float | list[str] | None]:
    return dict(VALUE_READ_PARAMS)


TAB_KEY = "sheets-sync.tab"
"""Sheet-level tag of a managed sheet; its value is the managed title."""
COLUMN_KEY = "sheets-sync.column"
"""Column-level tag of a managed column; its value is the column's header at creation."""
CHART_KEY = "sheets-sync.chart"
"""Spreadsheet-level tag of a managed chart; its value is JSON ``{tab, title, chartId}``."""
SEARCH_BODY = {
    "dataFilters": [
        {"developerMetadataLookup": {"metadataKey": TAB_KEY}},
        {"developerMetadataLookup": {"metadataKey": COLUMN_KEY}},
        {"developerMetadataLookup": {"metadataKey": CHART_KEY}},
    ]
}


@dataclass(frozen=True)
class ChartTag:
    """A chart the product drew: its id, and the id of the tag saying so (to delete it)."""

    chart_id: int
    metadata_id: int


@dataclass(frozen=True)
class SheetState:
    sheet_id: int
    title: str
    row_count: int
    col_count: int
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)
    index: int = 0

    @property
    def cells(self) -> int:
        return self.row_count * self.col_count


@dataclass(frozen=True)
class BookState:
    """The spreadsheet before the write.

    ``sheets`` is keyed by title; once ownership is resolved
    (:mod:`.ownership`), a managed sheet is keyed by its *managed* title even
    if the team renamed it (``SheetState.title`` keeps the current one).
    ``values`` holds managed sheets only: whole rows, header first.
    ``tab_tags``: sheet id → managed title; ``column_tags``: sheet id →
    {header at creation → current column index}.
    """

    sheets: dict[str, SheetState] = field(default_factory=dict)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, list[list[Any]]] = field(default_factory=dict)
    tab_tags: dict[int, str] = field(default_factory=dict)
    column_tags: dict[int, dict[str, int]] = field(default_factory=dict)
    chart_tags: dict[tuple[str, str], ChartTag] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> BookState:
        sheets = {}
        for sheet in metadata.get("sheets", []):
            props = sheet.get("properties", {})
            grid = props.get("gridProperties", {})
            state = SheetState(
                sheet_id=int(props.get("sheetId", 0)),
                title=str(props.get("title", "")),
                row_count=int(grid.get("rowCount", 0)),
                col_count=int(grid.get("columnCount", 0)),
                protected_ranges=list(sheet.get("protectedRanges", [])),
                conditional_formats=list(sheet.get("conditionalFormats", [])),
                basic_filter=sheet.get("basicFilter"),
                charts=list(sheet.get("charts", [])),
                index=int(props.get("index", 0)),  # Google leaves 0 out
            )
            sheets[state.title] = state
        return cls(sheets=sheets, named_ranges=list(metadata.get("namedRanges", [])))

    def with_tags(self, search_answer: Mapping[str, Any]) -> BookState:
        """Attach a ``developerMetadata:search`` answer (Google leaves zeros out)."""
        tabs: dict[int, str] = {}
        columns: dict[int, dict[str, int]] = {}
        charts: dict[tuple[str, str], ChartTag] = {}
        for match in search_answer.get("matchedDeveloperMetadata", []):
            entry = match.get("developerMetadata", {})
            if entry.get("metadataKey") == CHART_KEY:
                _chart_tag(entry, charts)
                continue
            location = entry.get("location", {})
            value = str(entry.get("metadataValue", ""))
            on_sheet = location.get("locationType") == "SHEET" or "sheetId" in location
            if entry.get("metadataKey") == TAB_KEY and on_sheet:
                tabs.setdefault(int(location.get("sheetId", 0)), value)
            rng = location.get("dimensionRange")
            if entry.get("metadataKey") == COLUMN_KEY and rng and rng.get("dimension") == "COLUMNS":
                found = columns.setdefault(int(rng.get("sheetId", 0)), {})
                index = int(rng.get("startIndex", 0))
                found[value] = min(index, found.get(value, index))
        return replace(self, tab_tags=tabs, column_tags=columns, chart_tags=charts)

    def with_values(
        self, titles: Sequence[str], value_ranges: Sequence[Mapping[str, Any]]
    ) -> BookState:
        """Attach a batchGet answer; ranges come back in the order they were asked.

        Each repeated value is kept once (:func:`shared_values`): the answer holds
        every managed cell, the largest thing a next-day sync reads.
        """
        values = {t: list(r.get("values", [])) for t, r in zip(titles, value_ranges, strict=True)}
        shared_values(values.values())
        return replace(self, values=values)

    @property
    def sheet_ids(self) -> set[int]:
        return {s.sheet_id for s in self.sheets.values()}

    def named_range(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.named_ranges if r.get("name") == name), None)

    def columns_of(self, title: str) -> dict[str, int]:
        """Where the managed columns of a managed sheet are now (empty: not tagged yet)."""
        sheet = self.sheets.get(title)
        return self.column_tags.get(sheet.sheet_id, {}) if sheet else {}


def _chart_tag(entry: Mapping[str, Any], out: dict[tuple[str, str], ChartTag]) -> None:
    """One chart tag; a value that is not ours (edited by hand) is ignored, never trusted."""
    try:
        value = json.loads(str(entry.get("metadataValue", "")))
        key = (str(value["tab"]), str(value["title"]))
        tag = ChartTag(int(value["chartId"]), int(entry["metadataId"]))
    except (ValueError, KeyError, TypeError):
        return
    out.setdefault(key, tag)


def shared_values(tables: Iterable[list[list[Any]]]) -> None:
    """Point every repeated text, number and serial date of ``tables`` at one object.

    JSON decoding makes a new object for every cell: the country, seller,
    category and grade of each of Pricing's 53,082 rows, and each date of KPI
    Daily, arrive as hundreds of thousands of equal objects of ~30–60 bytes.
    Sharing them freed ~30 MB of a full-size next-day sync's read-back
    (bench/sync_memory.py). One table per type, so ``1``, ``1.0`` and ``True``
    stay the types they were read as.
    """
    memo: dict[type, dict[Any, Any]] = {str: {}, float: {}, int: {}}
    for table in tables:
        for row in table:
            for index, value in enumerate(row):
                same = memo.get(type(value))
                if same is not None:
                    row[index] = same.setdefault(value, value)
