"""The product sends Google only the fields its Sheets API v4 discovery document calls current.

Google marks every plain ``Color`` field deprecated (``backgroundColor`` →
``backgroundColorStyle``, ``textFormat.foregroundColor`` →
``foregroundColorStyle``, …) and a filter's ``criteria`` (→ ``filterSpecs``).
The emulator counts each deprecated field a request uses
(``counters()["deprecated_fields"]``, ``"<method> <body path>" → uses``). Every
request of a first sync of every shipped tab, a next-day sync, a sync after the
team's own edits (which themselves use deprecated fields, as a filter set in
the Sheets UI is answered) and a pricing push must add nothing to it. One
database kind (SQLite) is enough: the requests do not depend on it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gspread
import pytest
from fixtures_sync import LAST_DAY
from pricing_data import USER, key, load_pricing
from pricing_sheets import TITLE as PRICING
from pricing_sheets import TeamSheet, settings_for
from sqlalchemy.engine import Engine

import sheets_emulator
from sheets_sync.backends.gsheets.current import DEPRECATED_COLOURS
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db
from sheets_sync.jobs.run import sync_now
from sheets_sync.pricing.push import push_pricing

DISCOVERY = Path(sheets_emulator.__file__).parent / "discovery" / "sheets.v4.json"
NEXT_DAY = LAST_DAY + dt.timedelta(days=1)
RED = {"red": 1}


@dataclass
class Shop:
    """A loaded SQLite database and a spreadsheet on the emulator to sync it to."""

    engine: Engine
    settings: Settings
    spreadsheet: gspread.Spreadsheet

    @property
    def destination(self) -> str:
        return f"gsheets:{self.spreadsheet.id}"

    def sync(self, as_of: dt.date) -> None:
        sync_now(self.engine, self.settings, self.destination, as_of=as_of)


@pytest.fixture
def shop(tmp_path: Path, emulator: Any, gspread_client: gspread.Client) -> Shop:
    url = f"sqlite:///{tmp_path / 'tradein.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_pricing(engine)
    spreadsheet = gspread_client.create("Trade-In Ops")
    return Shop(engine, settings_for(url, emulator), spreadsheet)


def deprecated(controls: Any) -> Counter[str]:
    return Counter(controls.counters()["deprecated_fields"])


def team_edits(spreadsheet: gspread.Spreadsheet) -> None:
    """The team's own requests: a filter answered in the deprecated shape (criteria, a sort
    by fill colour), one of the product's conditional formats deleted, a column of its own."""
    daily = spreadsheet.worksheet("KPI Daily")
    weekly = spreadsheet.worksheet("KPI Weekly")
    daily.insert_cols([["Team note"]], col=2)  # Country moves from D to E
    team_filter = {
        "range": {"sheetId": daily.id, "startRowIndex": 0, "startColumnIndex": 0},
        "criteria": {"4": {"hiddenValues": ["DE"]}},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING", "backgroundColor": RED}],
    }
    spreadsheet.batch_update(
        {
            "requests": [
                {"setBasicFilter": {"filter": team_filter}},
                {"deleteConditionalFormatRule": {"sheetId": weekly.id, "index": 0}},
            ]
        }
    )


def basic_filter(spreadsheet: gspread.Spreadsheet, title: str) -> dict[str, Any]:
    params = {"fields": "sheets(properties.title,basicFilter)"}
    sheets = spreadsheet.fetch_sheet_metadata(params)["sheets"]
    return next(s["basicFilter"] for s in sheets if s["properties"]["title"] == title)


def test_syncs_and_a_pricing_push_send_no_deprecated_field(shop: Shop, controls: Any) -> None:
    shop.sync(LAST_DAY)
    shop.sync(NEXT_DAY)
    assert deprecated(controls) == Counter()

    team_edits(shop.spreadsheet)
    teams = deprecated(controls)
    assert teams, "the emulator counts deprecated fields (the team's own filter uses some)"
    shop.sync(NEXT_DAY)
    team = TeamSheet(shop.destination, shop.settings, shop.spreadsheet.worksheet(PRICING))
    team.type({(key(), "New price"): 130, (key(), "Reason"): "competitor"})
    summary = push_pricing(shop.engine, shop.settings, shop.destination, user=USER)
    assert summary.applied == 1
    assert deprecated(controls) == teams  # the product added none

    sent = Counter(controls.counters()["batch_requests"])
    for kind in ("repeatCell", "addConditionalFormatRule", "setBasicFilter", "addChart"):
        assert sent[kind] > 0, f"no {kind} was sent: nothing with colours or filters was tried"
    kept = basic_filter(shop.spreadsheet, "KPI Daily")  # the team's filter, kept
    assert kept["filterSpecs"][0]["columnIndex"] == 4
    assert kept["filterSpecs"][0]["filterCriteria"] == {"hiddenValues": ["DE"]}


def deprecated_in_document() -> dict[str, set[str]]:
    """Google's deprecated fields (``deprecated: true`` or a "Deprecated" description) by
    name, each with the schemas that have it."""
    schemas = json.loads(DISCOVERY.read_text(encoding="utf-8"))["schemas"]
    out: dict[str, set[str]] = {}
    for name, schema_ in schemas.items():
        for field, spec in schema_.get("properties", {}).items():
            text = str(spec.get("description", ""))
            if spec.get("deprecated") or "Deprecated" in text:
                out.setdefault(field, set()).add(name)
    return out


def test_the_product_knows_every_colour_field_google_deprecates_and_its_style_twin() -> None:
    schemas = json.loads(DISCOVERY.read_text(encoding="utf-8"))["schemas"]
    colours = {
        field: where
        for field, where in deprecated_in_document().items()
        if all(schemas[s]["properties"][field].get("$ref") == "Color" for s in where)
    }
    assert set(colours) == DEPRECATED_COLOURS
    others = set(deprecated_in_document()) - set(colours)
    # criteria → filterSpecs (current.py converts a team's filter); a Border's width is never sent.
    assert others == {"criteria", "width"}, "a newly deprecated field: send its replacement"
    for field, where in colours.items():
        for name in where:
            twin = schemas[name]["properties"].get(f"{field}Style", {})
            assert twin.get("$ref") == "ColorStyle", f"{name}.{field} has no {field}Style"
