"""The Pricing tab as a push sees it: the edited rows in, each row's outcome out.

Only the columns a push needs are read — the key, `New price`, `Reason`,
`Version` — found by their header wherever the team moved them. The
write-back (docs/design.md §7, step 6) touches only edited rows: an applied
row gets its new `Current price` and `Version`, an empty `New price` and
`Reason` (the reason is kept in `price_changes`; a leftover one would look
like a pending edit and hold the row's `Version` on the next sync) and a
`Status` starting ``✔ applied``; an unchanged one its `Version` and empty
`New price` and `Reason`; a rejected or conflicting row keeps what the user typed and gets
``✖ rejected: …`` / ``⚠ conflict: …``. Text is written RAW by both backends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sheets_sync.backends.base import CellWrite, ColumnValues, SheetBackend, WriteReport
from sheets_sync.errors import PricingError
from sheets_sync.pricing.model import Key, Kind, Outcome, SheetRow
from sheets_sync.pricing.parse import is_blank

TITLE = "Pricing"
KEY_HEADERS = ("Seller ID", "Product ID", "Grade", "Country")
EDIT_HEADERS = ("New price", "Reason", "Version")
READ_HEADERS = (*KEY_HEADERS, *EDIT_HEADERS)
WRITE_HEADERS = ("Current price", "New price", "Reason", "Status", "Version")
STATUS_CHARS = 1000
"""A Status cell is cut here: one pasted essay must not break the cell limit."""


def read_edits(backend: SheetBackend) -> tuple[list[SheetRow], ColumnValues]:
    """The rows with a non-blank `New price`, and the read they came from."""
    read = backend.read_columns(TITLE, READ_HEADERS)
    if read is None:
        raise PricingError(
            f"{backend.destination} has no {TITLE!r} tab; run `sheets-sync sync --to "
            f"{backend.destination} --tabs {TITLE}` to create it, then edit and push"
        )
    needed = dict.fromkeys((*READ_HEADERS, *WRITE_HEADERS))
    missing = [h for h in needed if h not in read.columns]
    if missing:
        raise PricingError(
            f"the {TITLE!r} tab of {backend.destination} has no column(s) "
            f"{', '.join(repr(h) for h in missing)} in row 1; restore the header(s) or run "
            f"`sheets-sync sync --to {backend.destination} --tabs {TITLE}` to rebuild the tab"
        )
    return list(_edited_rows(read)), read


def _edited_rows(read: ColumnValues) -> Iterator[SheetRow]:
    v = read.values
    for index, new_price in enumerate(v["New price"]):
        if is_blank(new_price):
            continue
        key: Key = (
            _key_part(v["Seller ID"][index]), _key_part(v["Product ID"][index]),
            _key_part(v["Grade"][index]), _key_part(v["Country"][index]),
        )  # fmt: skip
        yield SheetRow(index + 2, key, new_price, v["Reason"][index], v["Version"][index])


def _key_part(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def write_back(
    backend: SheetBackend, read: ColumnValues, outcomes: Sequence[Outcome]
) -> WriteReport:
    """The cells reporting every outcome, written in one call."""
    cells = [cell for outcome in outcomes for cell in outcome_cells(read.columns, outcome)]
    return backend.write_cells(TITLE, cells)


def outcome_cells(columns: dict[str, int], outcome: Outcome) -> list[CellWrite]:
    """The cells one outcome sets on its row."""
    row = outcome.row.row
    status = outcome.status()
    if len(status) > STATUS_CHARS:
        status = status[: STATUS_CHARS - 1] + "…"
    cells = [CellWrite(row, columns["Status"], status)]
    if outcome.kind is Kind.APPLIED:
        cells.append(CellWrite(row, columns["Current price"], outcome.price))
    if outcome.kind in (Kind.APPLIED, Kind.UNCHANGED):
        cells.append(CellWrite(row, columns["Version"], outcome.version))
        cells.append(CellWrite(row, columns["New price"], None))
        cells.append(CellWrite(row, columns["Reason"], None))
    return cells
