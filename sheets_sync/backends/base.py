"""The small interface every sheet backend implements (xlsx, Google Sheets).

The sync engine computes frames and hands them over; it does not know which
backend it talks to. A backend checks its destination's limits before the
first write, writes all managed tabs (and the pivots declared on them) in as
few round trips as it can, and reports what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sheets_sync.frame import TabFrame
from sheets_sync.limits import Limits


@dataclass
class TabReport:
    title: str
    rows: int
    cells_written: int
    seconds: float = 0.0


@dataclass
class WriteReport:
    """What one write did; Google backends fill the HTTP figures too."""

    tabs: list[TabReport] = field(default_factory=list)
    api_calls: int = 0
    bytes_sent: int = 0

    @property
    def cells_written(self) -> int:
        return sum(t.cells_written for t in self.tabs)

    @property
    def rows_written(self) -> int:
        return sum(t.rows for t in self.tabs)


class SheetBackend(Protocol):
    """A destination of managed tabs: ``xlsx:PATH`` or ``gsheets:SPREADSHEET_ID``."""

    limits: Limits
    """What the destination accepts; the engine fits windows to it before writing."""

    @property
    def destination(self) -> str:
        """The destination as the user wrote it (recorded in ``sync_runs``)."""
        ...

    def check_limits(self, frames: Sequence[TabFrame]) -> None:
        """Raise ``LimitError`` naming the tab and figure before anything is written."""
        ...

    def write_tabs(self, frames: Sequence[TabFrame]) -> WriteReport:
        """Write every frame's tab (and its pivots); atomic per run where possible."""
        ...

    def read_tab(self, title: str) -> list[list[Any]]:
        """The tab's cells as the user sees them, formulas as text (for write-back)."""
        ...
