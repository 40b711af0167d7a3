"""A tab's computed content: typed rows in the template's column order.

A frame is what the query layer hands to the backends. Values are plain
Python: ``str``, ``int``, ``Decimal``, ``float``, ``date``, ``datetime``,
``bool`` or ``None`` (an empty cell). Backends turn them into cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sheets_sync.tab_templates.model import TabTemplate

Row = tuple[Any, ...]


@dataclass(frozen=True)
class TabFrame:
    template: TabTemplate
    rows: Sequence[Row]
    truncated_from: int | None = None

    @property
    def title(self) -> str:
        return self.template.title

    @property
    def headers(self) -> list[str]:
        return self.template.headers

    @property
    def width(self) -> int:
        return len(self.template.columns)

    @property
    def cell_count(self) -> int:
        """Cells including the header row."""
        return (len(self.rows) + 1) * self.width

    def key_of(self, row: Row) -> Row:
        return tuple(row[i] for i in self.template.key_indexes)
