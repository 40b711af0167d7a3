"""Google backend guards a user relies on, checked from the outside.

Each test syncs through the real backend against the emulator and reads the
result back with gspread (or checks the exact bytes sent), comparing with
values computed here in plain Python, never with the product's own helpers
(``same_cell``, ``to_cell``, ``_json_size``), which would share their bugs:

* a changed money amount or a moved date is written, however close the new
  value is to the old one;
* exactly the non-editable managed columns are protected, with the strength
  docs/google_backend.md gives (real protection on a tab the team edits, a warning
  on a report tab);
* no ``values:batchUpdate`` body is larger than the payload cap, even when a
  sync is hundreds of scattered one-cell changes, and every value arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import gspread
import helpers
import pytest
import requests

from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.plan import build_plan
from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, TabTemplate

EPOCH = dt.datetime(1899, 12, 30)
MIN_CAP = 10_000  # the smallest payload cap Settings accepts
UNFORMATTED = {
    "value_render_option": "UNFORMATTED_VALUE",
    "date_time_render_option": "SERIAL_NUMBER",
}


def serial(value: Any) -> float | int:
    """Google's serial number of a date or naive datetime (days since 1899-12-30)."""
    if isinstance(value, dt.datetime):
        return (value - EPOCH).total_seconds() / 86400
    return (value - EPOCH.date()).days


def plain(value: Any) -> Any:
    """A frame value as the sheet should hold it, computed without product code."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return serial(value)
    return value


@pytest.fixture
def sheet(gspread_client: gspread.Client) -> gspread.Spreadsheet:
    return gspread_client.create("Trade-In Ops")


def make_backend(
    emulator: Any, sheet_id: str, cap: int = 2_000_000, session: requests.Session | None = None
) -> GoogleSheetsBackend:
    """The real backend on the emulator; ``session`` lets a test watch the wire."""
    settings = Settings.load(environ={}, sheets_api_url=emulator.url, payload_cap_bytes=cap)
    http = RetryingHTTPClient(
        session or google_session(emulator.url), RetryPolicy(deadline_seconds=30), timeout=10
    )
    return GoogleSheetsBackend(settings.sheets, sheet_id, http=http)


def read_back(sheet: gspread.Spreadsheet, title: str) -> list[list[Any]]:
    return sheet.worksheet(title).get_values(**UNFORMATTED)


# -- 1. A small change is still a change ---------------------------------------

LEDGER = TabTemplate(
    title="Ledger",
    columns=(
        ColumnSpec("Order ID", "order_id"),
        ColumnSpec("Paid", "paid", ColumnType.MONEY),
        ColumnSpec("Paid on", "paid_on", ColumnType.DATE),
        ColumnSpec("Inspected at", "inspected_at", ColumnType.DATETIME),
    ),
    key=("Order ID",),
)
BEFORE = {
    "Paid": Decimal("1234.56"),
    "Paid on": dt.date(2025, 3, 1),
    "Inspected at": dt.datetime(2025, 3, 1, 9, 30),
}


def ledger(changed: str | None = None, value: Any = None) -> TabFrame:
    """Three orders; the middle one gets ``value`` in column ``changed``."""
    rows = []
    for order in ("O-1", "O-2", "O-3"):
        row = {"Order ID": order, **BEFORE}
        if order == "O-2" and changed is not None:
            row[changed] = value
        rows.append(tuple(row[h] for h in LEDGER.headers))
    return TabFrame(LEDGER, rows)


@pytest.mark.parametrize(
    ("column", "after"),
    [
        ("Paid", Decimal("1235.00")),
        ("Paid", Decimal("1234.57")),
        ("Paid on", dt.date(2025, 3, 9)),
        ("Paid on", dt.date(2025, 3, 2)),
        ("Inspected at", dt.datetime(2025, 3, 1, 10, 30)),
        ("Inspected at", dt.datetime(2025, 3, 1, 9, 31)),
    ],
    ids=["money-44c", "money-1c", "date-8d", "date-1d", "datetime-1h", "datetime-1min"],
)
def test_a_value_close_to_the_old_one_is_still_written(emulator, sheet, column, after):
    gs = make_backend(emulator, sheet.id)
    gs.write_tabs([ledger()])
    assert read_back(sheet, "Ledger")[2] == ["O-2", *(plain(BEFORE[h]) for h in LEDGER.headers[1:])]
    report = gs.write_tabs([ledger(column, after)])
    rows = read_back(sheet, "Ledger")
    index = LEDGER.headers.index(column)
    assert [row[index] for row in rows[1:]] == [
        plain(BEFORE[column]),
        plain(after),
        plain(BEFORE[column]),
    ]
    assert sum(t.cells for t in report.tabs) == 1


# -- 2. Protection covers exactly what the team must not type over -------------


def blank_frame(template: TabTemplate) -> TabFrame:
    """Two rows with only their key filled: protection does not depend on the values."""
    keys = template.key_indexes or (0,)
    rows = []
    for n in (1, 2):
        row: list[Any] = [None] * len(template.columns)
        for i in keys:
            row[i] = f"K{n}-{i}"
        rows.append(tuple(row))
    return TabFrame(template, rows)


def custom(editable: tuple[str, ...]) -> TabTemplate:
    headers = ("Seller ID", "Owner", "Orders", "Comment", "Status")
    columns = tuple(ColumnSpec(h, h.lower(), editable=h in editable) for h in headers)
    return TabTemplate(title="Coverage", columns=columns, key=("Seller ID",))


# (template, editable headers written out here, warningOnly per docs/google_backend.md)
PROTECTION_CASES = {
    "pricing": (lambda: helpers.shipped_template("pricing"), {"New price", "Reason"}, False),
    "kpi-daily": (lambda: helpers.shipped_template("kpi_daily"), set(), True),
    "editable-middle": (lambda: custom(("Owner", "Comment")), {"Owner", "Comment"}, False),
    "editable-first-last": (
        lambda: custom(("Seller ID", "Status")),
        {"Seller ID", "Status"},
        False,
    ),
}


def protected_columns(sheet: gspread.Spreadsheet, title: str) -> list[tuple[int, bool, dict]]:
    """(column, warningOnly, range) for every column a protected range on ``title`` covers."""
    fields = "sheets(properties(title),protectedRanges)"
    meta = sheet.fetch_sheet_metadata(params={"fields": fields})
    tab = next(s for s in meta["sheets"] if s["properties"]["title"] == title)
    out = []
    for protected in tab.get("protectedRanges", []):
        rng = protected["range"]
        for col in range(rng.get("startColumnIndex", 0), rng["endColumnIndex"]):
            out.append((col, protected.get("warningOnly", False), rng))
    return out


@pytest.mark.parametrize("case", list(PROTECTION_CASES))
def test_exactly_the_non_editable_columns_are_protected(emulator, sheet, case):
    make_template, editable, warning_only = PROTECTION_CASES[case]
    template = dataclasses.replace(make_template(), pivots=())
    assert editable <= set(template.headers)
    frame = blank_frame(template)
    for _ in range(2):  # a rerun keeps the same protection, never a second copy
        make_backend(emulator, sheet.id).write_tabs([frame])
        covered = protected_columns(sheet, template.title)
        want = [i for i, h in enumerate(template.headers) if h not in editable]
        assert sorted(col for col, _, _ in covered) == want
        assert {flag for _, flag, _ in covered} == {warning_only}
        # whole columns, so rows added by later syncs are protected too
        assert all(r.get("startRowIndex", 0) == 0 and "endRowIndex" not in r for *_, r in covered)


# -- 3. Payload cap with hundreds of one-cell changes ---------------------------

NOTES = TabTemplate(
    title="Notes",
    columns=(
        ColumnSpec("Key", "key"),
        ColumnSpec("Note", "note"),
        ColumnSpec("Count", "count", ColumnType.INTEGER),
    ),
    key=("Key",),
)
ROWS = 800


def notes(text: str, every_other: str | None = None, count: int = ROWS) -> TabFrame:
    """``count`` rows; with ``every_other``, the Note of every other row is replaced."""
    rows = []
    for i in range(count):
        note = f"{every_other} {i}" if every_other is not None and i % 2 else f"{text} {i}"
        rows.append((f"K{i:04d}", note, i))
    return TabFrame(NOTES, rows)


def as_sheet(frame: TabFrame) -> list[list[Any]]:
    return [list(frame.headers)] + [list(row) for row in frame.rows]


def wire_size(body: dict[str, Any]) -> int:
    """Bytes of the body as JSON, UTF-8, compact (how the backend sends it)."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


TEXTS = {"ascii": "note text abcdefghij", "accents": "note é à ü ñ ç ø", "symbols": "note ✔ ✘ € ★"}


@pytest.mark.parametrize("cap", [MIN_CAP, 12_347])
@pytest.mark.parametrize("text", list(TEXTS))
def test_scattered_one_cell_changes_stay_under_the_cap_on_the_wire(
    emulator, controls, sheet, text, cap
):
    sent: list[tuple[str, int]] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        sent.append((str(response.request.url), len(response.request.body or b"")))

    session = google_session(emulator.url)
    session.hooks["response"].append(record)
    gs = make_backend(emulator, sheet.id, cap=cap, session=session)
    gs.write_tabs([notes(TEXTS[text])])
    start, sent[:] = controls.counters(), []
    gs.write_tabs([notes(TEXTS[text], every_other=TEXTS[text] + " changed")])
    value_writes = [size for url, size in sent if url.split("?")[0].endswith("values:batchUpdate")]
    assert sum(size for _, size in sent) == controls.counters()["bytes_in"] - start["bytes_in"]
    assert len(value_writes) > 2 and max(value_writes) <= cap
    assert read_back(sheet, "Notes") == as_sheet(notes(TEXTS[text], TEXTS[text] + " changed"))


def grid_after(bodies: list[dict[str, Any]], start: list[list[Any]]) -> list[list[Any]]:
    """``start`` with every range of every body written over it."""
    grid = [list(row) for row in start]
    for body in bodies:
        for value_range in body["data"]:
            first = value_range["range"].rsplit("!", 1)[1].split(":")[0]
            letters, row = re.fullmatch(r"([A-Z]+)(\d+)", first).groups()
            col0 = ord(letters) - ord("A")
            for r, values in enumerate(value_range["values"], start=int(row) - 1):
                grid[r][col0 : col0 + len(values)] = values
    return grid


PLAN_ROWS = 400  # two bodies at the smallest cap, each of well over 100 one-cell ranges


@pytest.mark.parametrize("text", list(TEXTS))
def test_every_body_of_a_plan_fits_under_any_cap(text):
    before = as_sheet(notes(TEXTS[text], count=PLAN_ROWS))
    frame = notes(TEXTS[text], every_other=TEXTS[text] + " changed", count=PLAN_ROWS)
    state = BookState({"Notes": SheetState(7, "Notes", PLAN_ROWS + 1, 3)}, [], {"Notes": before})
    for cap in range(MIN_CAP, MIN_CAP + 100):  # every phase of the last piece against the cap
        plan = build_plan(state, [frame], cap)
        assert sum(len(b["data"]) for b in plan.value_bodies) == PLAN_ROWS // 2
        assert len(plan.value_bodies) > 1
        assert max(wire_size(b) for b in plan.value_bodies) <= cap, cap
        assert grid_after(plan.value_bodies, before) == as_sheet(frame)


LONG_TITLE = "Seller coverage by market and grade " + "x" * 64  # 100: Google's longest


@pytest.mark.parametrize("title", ["Notes", LONG_TITLE], ids=["short-title", "100-char-title"])
def test_a_first_sync_split_by_rows_fits_under_any_cap(title):
    rows = notes(TEXTS["ascii"], count=PLAN_ROWS).rows
    frame = TabFrame(dataclasses.replace(NOTES, title=title), rows)
    want = as_sheet(frame)
    for cap in range(MIN_CAP, MIN_CAP + 100):
        plan = build_plan(BookState(), [frame], cap)
        assert len(plan.value_bodies) > 1
        assert max(wire_size(b) for b in plan.value_bodies) <= cap, cap
        assert grid_after(plan.value_bodies, [[] for _ in want]) == want
