"""The figures at the price the team typed: filled by the next sync, at no extra request.

`Expected at new price 28d` and `Cost change at new price 28d` exist only on a
row holding a `New price` not pushed yet: the sync fills them from what it
read of the sheet anyway (to keep that edit), with the win model's figure
for the typed price (:func:`sheets_sync.winmodel.expected_at_price`), and
leaves them empty elsewhere — also where the push would refuse the typed
value. Both destinations (the emulator, whose counters show no extra
request; a workbook), both databases. The mechanism itself (a frame's
columns computed from its pending edits, one call per tab) is checked on
both backends with a tab built in code.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import gspread
import pytest
from helpers import column, tab
from openpyxl import load_workbook
from pricing_data import USER, key
from pricing_sheets import TITLE, TeamSheet
from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination
from sheets_sync.frame import FromPending, PendingEdit, TabFrame
from sheets_sync.guards import as_of_day
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing import push_pricing
from sheets_sync.pricing.model import PricingKey
from sheets_sync.tab_templates.model import ColumnType
from sheets_sync.winmodel import Market, expected_at_price, fit

GOOD, CRACKED, FLAWLESS = key(), key(grade="cracked"), key(grade="flawless")
OFFLINE, S2_GOOD, S2_P2 = key("S1", "P2"), key("S2"), key("S2", "P2")
EXPECTED, COST = "Expected at new price 28d", "Cost change at new price 28d"
CURRENT = {GOOD: 120, CRACKED: 50, FLAWLESS: 150, OFFLINE: 0, S2_GOOD: 118, S2_P2: 300}
SYNC_REQUESTS = {
    "spreadsheets.get": 1,
    "spreadsheets.developerMetadata.search": 1,
    "spreadsheets.values.batchGet": 1,
    "spreadsheets.batchUpdate": 1,
    "spreadsheets.values.batchUpdate": 1,
}
"""A re-sync that changes some cells: its reads, one structure batch, one values write."""


def sync(engine: Engine, team: TeamSheet) -> None:
    sync_now(engine, team.settings, team.destination, tabs=[TITLE])


def model_figures(engine: Engine, listing: PricingKey, typed: str) -> tuple[float, float]:
    """The win model's expected orders at ``typed`` for ``listing`` (the other listings of
    its cell at their current prices), and those orders × (typed − current)."""
    with engine.begin() as conn:
        model = fit(conn, as_of_day(conn, None))
    others = [100 * p for k, p in CURRENT.items() if k[1:] == listing[1:] and k != listing]
    market = Market(listing.product, listing.grade, listing.country, "smartphone")
    orders = expected_at_price(model, market, int(Decimal(typed) * 100), others)
    return orders, orders * (float(typed) - CURRENT[listing])


def figures(team: TeamSheet, listing: PricingKey) -> tuple[Any, Any]:
    return team.cell(listing, EXPECTED), team.cell(listing, COST)


def kinds_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    counts = {k: n - before["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
    return {k: n for k, n in counts.items() if n}


def test_a_typed_price_fills_both_figures_after_the_next_sync_and_nothing_else_does(
    request: pytest.FixtureRequest, engine: Engine, team: TeamSheet
) -> None:
    team.type({
        (GOOD, "New price"): 125,
        (CRACKED, "New price"): "abc",  # not a price: the push refuses it
        (FLAWLESS, "New price"): 0, (FLAWLESS, "Reason"): "end of line",
        (OFFLINE, "New price"): "=290",  # a formula is never evaluated
        (S2_P2, "New price"): 6000,  # above the ceiling
        (S2_GOOD, "Reason"): "a reason alone",
    })  # fmt: skip
    controls = request.getfixturevalue("controls") if team.ws is not None else None
    start = controls.counters() if controls is not None else None
    sync(engine, team)
    if controls is not None:
        assert kinds_since(start, controls.counters()) == SYNC_REQUESTS

    orders, cost = model_figures(engine, GOOD, "125")
    assert orders > 0.1 and cost > 0
    assert figures(team, GOOD) == (pytest.approx(orders, abs=0.005), pytest.approx(cost, abs=0.005))
    assert figures(team, FLAWLESS) == (0, 0)  # offline wins nothing, pays nothing
    for listing in (CRACKED, OFFLINE, S2_P2, S2_GOOD):
        assert figures(team, listing) == (None, None), listing
    assert team.cell(CRACKED, "New price") == "abc"  # the team's edits are kept
    assert team.cell(S2_P2, "New price") == 6000


def test_the_figure_follows_the_typed_price_and_leaves_once_it_is_pushed(
    engine: Engine, team: TeamSheet
) -> None:
    team.type({(GOOD, "New price"): "€ 119,50"})  # as the push reads it: 119.50
    sync(engine, team)
    orders, cost = model_figures(engine, GOOD, "119.50")
    assert figures(team, GOOD) == (pytest.approx(orders, abs=0.005), pytest.approx(cost, abs=0.005))
    assert cost < 0  # a lower price: money kept on the orders still won

    assert push_pricing(engine, team.settings, team.destination, user=USER).applied == 1
    sync(engine, team)
    assert team.cell(GOOD, "New price") is None
    assert figures(team, GOOD) == (None, None)


# -- the mechanism, on both backends --------------------------------------------------


TEMPLATE = tab(
    "Typed",
    column("Item"),
    column("Typed", editable=True),
    column("Note", editable=True),
    column("Length", ColumnType.INTEGER),
    key=("Item",),
)


class Recorder:
    """A pending step's function that records its calls: the length of each typed value."""

    def __init__(self) -> None:
        self.calls: list[list[PendingEdit]] = []

    def __call__(self, edits: Sequence[PendingEdit]) -> list[tuple[int]]:
        self.calls.append(list(edits))
        return [(len(str(e.values.get("typed", ""))),) for e in edits]


def typed_frame(recorder: Recorder, typed: dict[str, Any] | None = None) -> TabFrame:
    """Items A–D; ``typed``: values the data itself has in `Typed` (the data wins)."""
    rows = [(item, (typed or {}).get(item), None, None) for item in "ABCD"]
    return TabFrame(TEMPLATE, rows, from_pending=FromPending((3,), recorder))


@pytest.fixture(params=["xlsx", "gsheets"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Settings]:
    if request.param == "xlsx":
        return f"xlsx:{tmp_path / 'typed.xlsx'}", Settings.load(environ={})
    emulator = request.getfixturevalue("emulator")
    sheet = request.getfixturevalue("gspread_client").create("Typed")
    return f"gsheets:{sheet.id}", Settings.load(environ={}, sheets_api_url=emulator.url)


def type_cells(
    request: pytest.FixtureRequest, where: tuple[str, Settings], cells: dict[str, Any]
) -> None:
    """Type into column B (`Typed`) or C (`Note`) of the rows of items A–D (rows 2–5)."""
    destination, _ = where
    if destination.startswith("xlsx:"):
        path = Path(destination.removeprefix("xlsx:"))
        wb = load_workbook(path)
        for a1, value in cells.items():
            wb["Typed"][a1] = value
        wb.save(path)
        return
    client: gspread.Client = request.getfixturevalue("gspread_client")
    ws = client.open_by_key(destination.removeprefix("gsheets:")).worksheet("Typed")
    ws.batch_update([{"range": a1, "values": [[v]]} for a1, v in cells.items()], raw=True)


def test_both_backends_call_the_step_once_with_every_pending_edit_by_source(
    request: pytest.FixtureRequest, destination: tuple[str, Settings]
) -> None:
    target, settings = destination
    recorder = Recorder()
    open_destination(target, settings.sheets, None).write_tabs([typed_frame(recorder)])
    assert recorder.calls == []  # nothing typed yet: never called
    type_cells(request, destination, {"B2": "abcd", "C3": "a note", "B4": "  ", "B5": "xy"})
    backend = open_destination(target, settings.sheets, None)
    backend.write_tabs([typed_frame(recorder, typed={"D": "from the data"})])

    [call] = recorder.calls
    assert call == [
        PendingEdit({"item": "A"}, {"typed": "abcd"}),
        PendingEdit({"item": "B"}, {"note": "a note"}),
    ]  # C holds blanks only; D's cell is the data's, not a pending edit
    table = backend.read_tab("Typed")
    lengths = [row[3] if len(row) > 3 and row[3] != "" else None for row in table[1:]]
    assert lengths == [4, 0, None, None]
