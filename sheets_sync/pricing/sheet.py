"""The Pricing tab as a push sees it: the edited rows in, each row's outcome out.

Only the product's own columns are read and written, found exactly as the
sync finds them (developer metadata on Google, hidden defined names in a
workbook; see :meth:`SheetBackend.read_managed`), wherever the team moved
them. A column the team added is never read or written, whatever its header:
a team column titled ``Status`` keeps the team's notes. A Pricing tab whose
columns carry no tags (made before they existed) is refused: sync first.

The write-back (docs/design.md §7, step 6) is planned against the tab as it
is at write time, not as the push read it (:func:`plan_write_back`): the key
columns are read again immediately before writing (and before every retry of
a write whose answer was lost), and each outcome goes to the row holding its
key *now*. A row whose key is gone gets nothing (the summary says "applied,
not written back"). `New price` and `Reason` are cleared only where they
still hold exactly what the push read: a price typed since stays, and the
row's `Status` says that it is waiting. An applied row gets its new
`Current price` and `Version` and a `Status` starting ``✔ applied``; an
unchanged one its `Version`; a rejected or conflicting row keeps what the
user typed and gets ``✖ rejected: …`` / ``⚠ conflict: …``. Text is RAW.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sheets_sync.backends.base import CellWrite, ColumnValues, SheetBackend, WriteReport
from sheets_sync.errors import PricingError
from sheets_sync.pricing.model import KEY_HEADERS, Kind, Outcome, PricingKey, SheetRow
from sheets_sync.pricing.parse import is_blank

TITLE = "Pricing"
EDIT_HEADERS = ("New price", "Reason")
READ_HEADERS = (*KEY_HEADERS, *EDIT_HEADERS, "Version", "Current price", "Status")
"""Read, and read again at write time: the keys and edits to match, and every column
written (a column's place is known only by reading it)."""
STATUS_CHARS = 1000
"""A Status cell is cut here: one pasted essay must not break the cell limit."""


def read_edits(backend: SheetBackend) -> tuple[list[SheetRow], ColumnValues]:
    """The rows with a non-blank `New price`, and the read they came from."""
    read = backend.read_managed(TITLE, READ_HEADERS)
    where = backend.destination
    if read is None:
        raise PricingError(
            f"{where} has no {TITLE!r} tab made by sheets-sync; run `sheets-sync sync --to "
            f"{where} --tabs {TITLE}` to create it, then edit and push"
        )
    if not read.columns:
        raise PricingError(
            f"the {TITLE!r} tab of {where} was not made by this version of sheets-sync, so its "
            f"columns cannot be told from the team's; sync first (`sheets-sync sync --to "
            f"{where} --tabs {TITLE}`), then push"
        )
    missing = [h for h in READ_HEADERS if h not in read.columns]
    if missing:
        raise PricingError(
            f"the {TITLE!r} tab of {where} lost its column(s) "
            f"{', '.join(repr(h) for h in missing)}; run `sheets-sync sync --to {where} --tabs "
            f"{TITLE}` to restore them (typed New prices are kept), then push again"
        )
    return list(_edited_rows(read)), read


def _edited_rows(read: ColumnValues) -> Iterator[SheetRow]:
    v = read.values
    for index, new_price in enumerate(v["New price"]):
        if is_blank(new_price):
            continue
        yield SheetRow(
            index + 2, _key_at(v, index), new_price, v["Reason"][index], v["Version"][index],
            v["Current price"][index],
        )  # fmt: skip


def _key_at(values: dict[str, list[Any]], index: int) -> PricingKey:
    return PricingKey(*(_key_part(values[h][index]) for h in KEY_HEADERS))


def _key_part(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def write_back(backend: SheetBackend, outcomes: Sequence[Outcome]) -> WriteReport:
    """Every outcome's cells, on the row holding its key at write time, in one write."""
    return backend.write_planned(TITLE, READ_HEADERS, plan_write_back(outcomes))


def plan_write_back(outcomes: Sequence[Outcome]) -> Callable[[ColumnValues], list[CellWrite]]:
    """The planner :meth:`SheetBackend.write_planned` calls with the tab as it is now.

    It may be called again (a retry after a lost answer): each call places every
    outcome afresh and records where (``row_now``, ``written_back``, ``newer_edit``).
    """

    def plan(now: ColumnValues) -> list[CellWrite]:
        complete = all(h in now.columns for h in READ_HEADERS)
        rows = _rows_by_key(now) if complete else {}
        cells: list[CellWrite] = []
        for outcome in outcomes:
            target = _target_row(outcome, rows, now) if complete else None
            outcome.row_now, outcome.written_back = target, target is not None
            outcome.newer_edit = None
            if target is not None:
                cells += outcome_cells(now, outcome, target)
        return cells

    return plan


def _rows_by_key(now: ColumnValues) -> dict[PricingKey, list[int]]:
    rows: dict[PricingKey, list[int]] = defaultdict(list)
    for index in range(now.row_count):
        rows[_key_at(now.values, index)].append(index + 2)
    return rows


def _target_row(
    outcome: Outcome, rows: dict[PricingKey, list[int]], now: ColumnValues
) -> int | None:
    """The row holding the outcome's key now; one that could be another's is never chosen.

    A row without any key cell can only be the same row, still keyless and
    still holding the same `New price`. When a key repeats, the row still
    holding the pushed `New price` is the one (or the row it was read from).
    """
    read = outcome.row
    if not any(read.key):
        same = rows.get(read.key, [])
        return (
            read.row
            if read.row in same and _cell(now, "New price", read.row) == read.new_price
            else None
        )
    candidates = rows.get(read.key, [])
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    holding = [r for r in candidates if _cell(now, "New price", r) == read.new_price]
    if len(holding) == 1:
        return holding[0]
    return read.row if read.row in candidates else None


def _cell(now: ColumnValues, header: str, row: int) -> Any:
    column = now.values[header]
    return column[row - 2] if 0 <= row - 2 < len(column) else None


def outcome_cells(now: ColumnValues, outcome: Outcome, row: int) -> list[CellWrite]:
    """The cells one outcome sets on ``row``, given what the row holds now."""
    columns, read = now.columns, outcome.row
    typed_now = _cell(now, "New price", row)
    unchanged_edit = typed_now == read.new_price
    if not unchanged_edit and not is_blank(typed_now):
        outcome.newer_edit = typed_now
    cells = [CellWrite(row, columns["Status"], _cut(outcome.status()))]
    if outcome.kind is Kind.APPLIED:
        cells.append(CellWrite(row, columns["Current price"], outcome.price))
    if outcome.kind in (Kind.APPLIED, Kind.UNCHANGED):
        cells.append(CellWrite(row, columns["Version"], outcome.version))
        if unchanged_edit:
            cells.append(CellWrite(row, columns["New price"], None))
            reason_now = _cell(now, "Reason", row)
            if reason_now == read.reason and not is_blank(reason_now):
                cells.append(CellWrite(row, columns["Reason"], None))
    return cells


def _cut(status: str) -> str:
    return status if len(status) <= STATUS_CHARS else status[: STATUS_CHARS - 1] + "…"
