"""A tab's computed content: typed rows in the template's column order.

A frame is what the query layer hands to the backends. Values are plain
Python: ``str``, ``int``, ``Decimal``, ``float``, ``date``, ``datetime``,
``bool`` or ``None`` (an empty cell). Backends turn them into cells.

Some columns depend on what the team typed and has not pushed yet (the
Pricing tab's expected orders at the typed `New price`, docs/design.md §7):
the database cannot know it, the backend reads it anyway (to keep the
team's pending edits). Such a frame carries :class:`FromPending`, and each
backend, having read the sheet, calls :meth:`TabFrame.with_pending` once with
every pending edit of the tab: one batch, no extra read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sheets_sync.tab_templates.model import TabTemplate
from sheets_sync.vocabulary.prices import is_blank

Row = tuple[Any, ...]


@dataclass(frozen=True)
class PendingEdit:
    """One row's pending edit, named in the query's words (column sources, not headers):
    ``key`` its key cells as the frame holds them, ``values`` the team's non-blank cells
    in editable columns, as the sheet holds them (a formula as its text)."""

    key: Mapping[str, Any]
    values: Mapping[str, Any]


@dataclass(frozen=True)
class FromPending:
    """Columns filled from the rows' pending edits: ``indexes`` (template columns) and
    ``compute``, which answers one row of values for those columns per edit, typed as
    the columns are; ``None`` leaves a cell empty. Rows without an edit keep the
    frame's value (the query leaves them empty)."""

    indexes: tuple[int, ...]
    compute: Callable[[Sequence[PendingEdit]], Sequence[Sequence[Any]]]


@dataclass(frozen=True)
class TabFrame:
    template: TabTemplate
    rows: Sequence[Row]
    truncated_from: int | None = None
    from_pending: FromPending | None = None

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

    def with_pending(self, found: Mapping[int, Mapping[int, Any]]) -> TabFrame:
        """This frame with its :class:`FromPending` columns filled on the rows holding a
        pending edit. ``found``: row index → {editable column index: the sheet's cell}.

        A cell counts as the backends keep it: not blank, and only where the data has
        no value of its own (the data's value is written over it).
        """
        if self.from_pending is None:
            return self
        edits = {i: cells for i, cells in self._pending(found).items() if cells}
        if not edits:
            return self
        sources = [c.source for c in self.template.columns]
        asked = [
            PendingEdit(
                {sources[k]: self.rows[i][k] for k in self.template.key_indexes},
                {sources[j]: value for j, value in cells.items()},
            )
            for i, cells in edits.items()
        ]
        answers = self.from_pending.compute(asked)
        rows = list(self.rows)
        for i, values in zip(edits, answers, strict=True):
            row = list(rows[i])
            for j, value in zip(self.from_pending.indexes, values, strict=True):
                row[j] = value
            rows[i] = tuple(row)
        return dataclasses.replace(self, rows=rows)

    def _pending(self, found: Mapping[int, Mapping[int, Any]]) -> dict[int, dict[int, Any]]:
        editable = set(self.template.editable_indexes)
        return {
            i: {
                j: value
                for j, value in cells.items()
                if j in editable and not is_blank(value) and self.rows[i][j] is None
            }
            for i, cells in found.items()
        }
