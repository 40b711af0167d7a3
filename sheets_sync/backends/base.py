"""The small interface every sheet backend implements (xlsx, Google Sheets).

The sync engine computes frames and hands them over; it does not know which
backend it talks to. A backend fits the frames to its destination's limits
once, before the first write (only it knows what the destination already
holds; see :mod:`sheets_sync.limits`), writes all managed tabs (and the pivots
declared on them) in as few round trips as it can, and reports what it
actually wrote, so summaries and ``sync_runs`` never repeat the engine's
pre-truncation figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sheets_sync.frame import TabFrame


@dataclass
class WrittenTab:
    """What one write put on one sheet: a managed tab or a pivot sheet.

    ``rows`` are data rows after the write (header excluded); ``None`` for a
    pivot the destination computes itself (Google). ``cells`` are cells sent:
    every cell for a workbook, only the changed ones for Google.
    ``truncated_from`` is the row count before the tab was cut to fit.
    ``archived_notes``: the team's cells moved to ``Archived notes`` because
    their row left this tab. ``compute_seconds`` is attached by the engine;
    backends fill the rest.
    """

    title: str
    rows: int | None
    cells: int
    truncated_from: int | None = None
    write_seconds: float = 0.0
    compute_seconds: float = 0.0
    archived_notes: int = 0

    @property
    def seconds(self) -> float:
        return self.compute_seconds + self.write_seconds


@dataclass
class WriteReport:
    """What one write did: managed tabs in frame order, then pivot sheets.

    Google backends fill the HTTP figures too.
    """

    tabs: list[WrittenTab] = field(default_factory=list)
    api_calls: int = 0
    bytes_sent: int = 0

    @property
    def cells_written(self) -> int:
        return sum(t.cells for t in self.tabs)

    @property
    def rows_written(self) -> int:
        return sum(t.rows or 0 for t in self.tabs)


@dataclass(frozen=True)
class WriteOptions:
    """What the user allowed this run to do to the team's sheet beyond the usual.

    ``allow_shrink``: a keyed tab may lose more than ``max_shrink_share`` of its
    rows (or all of them). ``adopt``: a sheet titled like a managed tab but not
    created by the product is taken over instead of refused.
    """

    allow_shrink: bool = False
    max_shrink_share: float = 0.5
    adopt: bool = False


DEFAULT_OPTIONS = WriteOptions()


@dataclass
class ColumnValues:
    """Some columns of a tab, each found by its header in row 1 wherever it sits.

    ``columns`` maps every header of row 1 to its 1-based column (so a caller
    can write to columns it did not read); ``values`` maps each requested
    header found there to the cells of rows 2 … ``row_count`` + 1 as the user
    typed them (formulas as text, empty cells ``None``), all padded to
    ``row_count``. ``api_calls`` and ``bytes_sent`` count the reads (Google).
    """

    columns: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    row_count: int = 0
    api_calls: int = 0
    bytes_sent: int = 0


@dataclass(frozen=True)
class CellWrite:
    """One cell to set: 1-based ``row`` and ``column``; ``None`` clears it; text is RAW."""

    row: int
    column: int
    value: Any


class SheetBackend(Protocol):
    """A destination of managed tabs: ``xlsx:PATH`` or ``gsheets:SPREADSHEET_ID``."""

    @property
    def destination(self) -> str:
        """The destination as the user wrote it (recorded in ``sync_runs``)."""
        ...

    def write_tabs(
        self, frames: Sequence[TabFrame], options: WriteOptions = DEFAULT_OPTIONS
    ) -> WriteReport:
        """Fit the frames to the destination's limits (``LimitError`` before anything is
        written), write every tab and its pivots (atomic per run where possible), and
        report what was written."""
        ...

    def read_tab(self, title: str) -> list[list[Any]]:
        """The tab's cells as the user sees them, formulas as text (for write-back)."""
        ...

    def read_columns(self, title: str, headers: Sequence[str]) -> ColumnValues | None:
        """Only the columns headed ``headers`` (formulas as text), in as few reads as the
        destination allows; ``None`` when the tab does not exist."""
        ...

    def write_cells(self, title: str, cells: Sequence[CellWrite]) -> WriteReport:
        """Set these cells of an existing tab, and nothing else, in one write where the
        destination allows (a pricing push's write-back)."""
        ...
