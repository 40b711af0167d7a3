"""What each destination accepts: rows, columns, cells, characters, title length (docs/design.md §6).

The figures only, below the templates (whose loader checks a title against the
longest any destination accepts) and the backends (which fit frames into them
with :mod:`sheets_sync.backends.fit`, where the messages are).
"""

from __future__ import annotations

from dataclasses import dataclass

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_CELL_CHARS = 32_767
XLSX_MAX_TITLE_CHARS = 31

GOOGLE_MAX_CELLS = 10_000_000
GOOGLE_MAX_COLUMNS = 18_278
GOOGLE_MAX_CELL_CHARS = 50_000
GOOGLE_MAX_TITLE_CHARS = 100


@dataclass(frozen=True)
class Limits:
    """What one destination accepts; ``None`` means no such limit."""

    name: str
    max_rows_per_sheet: int | None = None
    max_columns: int | None = None
    max_cells_total: int | None = None
    max_cell_chars: int | None = None
    max_title_chars: int | None = None


XLSX_LIMITS = Limits(
    name="xlsx",
    max_rows_per_sheet=XLSX_MAX_ROWS,
    max_columns=XLSX_MAX_COLUMNS,
    max_cell_chars=XLSX_MAX_CELL_CHARS,
    max_title_chars=XLSX_MAX_TITLE_CHARS,
)

GOOGLE_LIMITS = Limits(
    name="Google Sheets",
    max_columns=GOOGLE_MAX_COLUMNS,
    max_cells_total=GOOGLE_MAX_CELLS,
    max_cell_chars=GOOGLE_MAX_CELL_CHARS,
    max_title_chars=GOOGLE_MAX_TITLE_CHARS,
)
