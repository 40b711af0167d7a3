"""The small interface every sheet backend implements (xlsx, Google Sheets).

The sync engine computes frames and hands them over; it does not know which
backend it talks to. A backend fits the frames to its destination's limits
once, before the first write (only it knows what the destination already
holds; see :mod:`sheets_sync.backends.fit`), writes all managed tabs (and the pivots
declared on them) in as few round trips as it can, and reports what it
actually wrote, so summaries and ``sync_runs`` never repeat the engine's
pre-truncation figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    their row left this tab; ``restored_notes``: archived cells back on their
    row, its key being in the tab again. ``warnings``: what the team should
    know about their cells on this tab (notes that could not come home, a tab
    without a key keeping them by position). ``compute_seconds`` is attached by
    the engine; backends fill the rest.
    """

    title: str
    rows: int | None
    cells: int
    truncated_from: int | None = None
    write_seconds: float = 0.0
    compute_seconds: float = 0.0
    archived_notes: int = 0
    restored_notes: int = 0
    warnings: list[str] = field(default_factory=list)

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
    """Some managed columns of a managed tab, each found where the product's own tag
    says it is (developer metadata on Google, a hidden defined name in a workbook).

    Never found by header text: a column the team inserted and titled like
    one of ours is the team's and is neither read nor written. ``columns``
    maps each requested managed header found to its 1-based column now;
    ``values`` maps it to the cells of rows 2 … ``row_count`` + 1 as the user
    typed them (formulas as text, empty cells ``None``), all padded to
    ``row_count``. ``api_calls`` and ``bytes_sent`` count the reads (Google).
    """

    columns: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    row_count: int = 0
    api_calls: int = 0
    bytes_sent: int = 0


def holdable(value: Any) -> bool:
    """Whether a ``hold_while_pending`` cell (`Version`) is kept on a row with a pending
    edit: only a whole number, the version the edit was typed against. A blank or garbled
    one is restored by the sync, so the push's "Version is empty: sync" advice works."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    if isinstance(value, float):
        return value.is_integer() and value >= 1
    return isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()


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

    @property
    def quota_wait_seconds(self) -> float:
        """How long this backend's requests have waited, since it was opened, for the
        destination's request quota (Google's, shared by every run; a workbook has none)."""
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

    def read_managed(self, title: str, headers: Sequence[str]) -> ColumnValues | None:
        """The managed columns headed ``headers`` of managed tab ``title``, located by the
        product's tags wherever the team moved them (formulas as text), in as few reads as
        the destination allows. ``None`` when the destination has no managed tab ``title``;
        a requested column missing from ``columns`` was deleted, or never tagged."""
        ...

    def write_planned(
        self,
        title: str,
        headers: Sequence[str],
        plan: Callable[[ColumnValues], Sequence[CellWrite]],
    ) -> WriteReport:
        """Re-read the managed columns ``headers`` of tab ``title`` immediately before writing,
        and write the cells ``plan`` makes from what they hold now (a pricing push's
        write-back lands on the rows holding its keys at that moment).

        Where an answer can be lost (Google), a failed write is retried only after
        reading again and planning again, so a retry never lands on rows that moved.
        """
        ...
