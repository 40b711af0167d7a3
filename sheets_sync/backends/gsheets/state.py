"""What the spreadsheet looks like now, from the two batched reads a sync makes.

``spreadsheets.get`` with :data:`METADATA_FIELDS` (no grid data) gives every
sheet's properties, protected ranges, basic filter and conditional formats,
plus the named ranges; one ``values:batchGet`` of the managed columns of every
managed tab (``FORMULA`` render so a formula typed over a managed cell is seen
and overwritten, ``SERIAL_NUMBER`` dates) gives their content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

METADATA_FIELDS = (
    "spreadsheetId,properties.title,"
    "sheets(properties(sheetId,title,index,sheetType,gridProperties),"
    "protectedRanges,basicFilter,conditionalFormats),"
    "namedRanges"
)
VALUE_READ_PARAMS: dict[str, str | int | bool | float | list[str] | None] = {
    "valueRenderOption": "FORMULA",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
}


@dataclass(frozen=True)
class SheetState:
    sheet_id: int
    title: str
    row_count: int
    col_count: int
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None

    @property
    def cells(self) -> int:
        return self.row_count * self.col_count


@dataclass(frozen=True)
class BookState:
    """The spreadsheet before the write; ``values`` holds managed tabs only (header first)."""

    sheets: dict[str, SheetState] = field(default_factory=dict)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, list[list[Any]]] = field(default_factory=dict)

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
            )
            sheets[state.title] = state
        return cls(sheets=sheets, named_ranges=list(metadata.get("namedRanges", [])))

    def with_values(
        self, titles: Sequence[str], value_ranges: Sequence[Mapping[str, Any]]
    ) -> BookState:
        """Attach a batchGet answer; ranges come back in the order they were asked."""
        values = {t: list(r.get("values", [])) for t, r in zip(titles, value_ranges, strict=True)}
        return BookState(self.sheets, self.named_ranges, values)

    @property
    def sheet_ids(self) -> set[int]:
        return {s.sheet_id for s in self.sheets.values()}

    def named_range(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.named_ranges if r.get("name") == name), None)
