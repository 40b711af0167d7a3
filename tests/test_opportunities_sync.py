"""`Pricing opportunities` synced: to a workbook and to the emulator, with the Dashboard's chart.

Syncing the tab brings the Dashboard its chart is drawn on; the tab holds the moves
the query computes (one header row, typed cells), a market sheet only its
rows, an empty market a tab of headers; the chart plots the growth moves by
extra orders, largest first, on both destinations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATES, shipped_template
from kpi_data import frame
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from test_winmodel import AS_OF, load_market

from sheets_sync.backends.gsheets.charts import data_title as gsheets_data_title
from sheets_sync.backends.xlsx.charts import data_title
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now

TITLE = "Pricing opportunities"
CHART = "Top 10 growth moves by extra orders, 28 days"


def settings_for(db_url: str, **more: Any) -> Settings:
    return Settings.load(environ={}, database_url=db_url, templates_dir=TEMPLATES, **more)


def expected(engine: Engine, **filters: tuple[str, ...]) -> TabFrame:
    tab = shipped_template("pricing_opportunities")
    return frame(engine, tab, as_of=AS_OF, filters=filters or None)


def plain(value: Any) -> Any:
    """A cell as both destinations give numbers back: floats (money and decimals) or text."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str | int) else float(value)


def chart_points(want: TabFrame) -> list[tuple[str, float]]:
    """The chart's rows: the growth moves' names and extra orders, largest first."""
    at = want.template.column_index
    growth = [r for r in want.rows if r[at("Move")] == "growth"]
    points = [(r[at("Listing")], float(r[at("Order change")])) for r in growth]
    return sorted(points, key=lambda p: -p[1])[:10]


def test_the_tab_and_its_dashboard_chart_in_a_workbook(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load_market(engine, thin=True)
    path = tmp_path / "ops.xlsx"
    result = sync_now(engine, settings_for(db_url), f"xlsx:{path}", tabs=[TITLE], as_of=AS_OF)
    assert {TITLE, "Dashboard"} <= {t.title for t in result.tabs}
    want = expected(engine)
    wb = load_workbook(path)
    got = [list(r) for r in wb[TITLE].iter_rows(values_only=True)]
    assert got[0] == want.headers
    assert [[plain(v) for v in r] for r in got[1:]] == [[plain(v) for v in r] for r in want.rows]
    assert [r[0] for r in got[1:]] == ["growth", "growth", "savings"]
    assert CHART in [c.title.tx.rich.p[0].r[0].t for c in wb["Dashboard"]._charts]
    data = wb[data_title(TITLE)]
    first = next(c for c in range(1, data.max_column + 1) if data.cell(1, c).value == CHART)
    block = [(data.cell(r, first).value, data.cell(r, first + 1).value)
             for r in range(2, data.max_row + 1)]  # fmt: skip
    assert block[0] == ("Listing", "Extra orders per 28 days")
    points = [(x, pytest.approx(y)) for x, y in block[1:] if x is not None]
    assert points == chart_points(want) and len(points) == 2


def test_a_market_sheet_and_an_empty_market(engine: Engine, db_url: str, tmp_path: Path) -> None:
    load_market(engine, thin=True)
    settings = settings_for(db_url)
    for filters, path in (({"seller_id": ("B",)}, "b.xlsx"), ({"country": ("DE",)}, "de.xlsx")):
        sync_now(engine, settings, f"xlsx:{tmp_path / path}", tabs=[TITLE], as_of=AS_OF,
                 filters=filters)  # fmt: skip
    seller_b = [
        list(r) for r in load_workbook(tmp_path / "b.xlsx")[TITLE].iter_rows(values_only=True)
    ]
    assert [(r[0], r[2]) for r in seller_b[1:]] == [("growth", "B")]
    want = expected(engine, seller_id=("B",))
    assert [plain(v) for v in seller_b[1]] == [plain(v) for v in want.rows[0]]
    germany = list(load_workbook(tmp_path / "de.xlsx")[TITLE].iter_rows(values_only=True))
    assert [list(r) for r in germany] == [want.headers]  # moves too small: headers only


def test_the_tab_and_its_dashboard_chart_on_google_sheets(
    engine: Engine, db_url: str, emulator: Any, gspread_client: Any
) -> None:
    load_market(engine, thin=True)
    settings = settings_for(db_url, sheets_api_url=emulator.url)
    sheet = gspread_client.create("Ops")
    for _ in range(2):  # a re-sync changes nothing
        sync_now(engine, settings, f"gsheets:{sheet.id}", tabs=[TITLE], as_of=AS_OF)
    want = expected(engine)
    raw = "UNFORMATTED_VALUE"
    got = sheet.worksheet(TITLE).get_values(value_render_option=raw)
    assert got[0] == want.headers
    assert [[plain(v) for v in r] for r in got[1:]] == [[plain(v) for v in r] for r in want.rows]
    meta = sheet.fetch_sheet_metadata()
    dashboard = next(s for s in meta["sheets"] if s["properties"]["title"] == "Dashboard")
    assert CHART in [c["spec"]["title"] for c in dashboard.get("charts", [])]
    grid = sheet.worksheet(gsheets_data_title(TITLE)).get_values(value_render_option=raw)
    first = 0  # the tab's one chart
    block = [tuple(r[first : first + 2]) for r in grid if len(r) > first and r[first] != ""]
    assert block[0] == ("Listing", "Extra orders per 28 days")
    assert [(x, pytest.approx(y)) for x, y in block[1:]] == chart_points(want)


def test_an_empty_database_syncs_a_tab_of_headers(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "empty.xlsx"
    sync_now(engine, settings_for(db_url), f"xlsx:{path}", tabs=[TITLE], as_of=AS_OF)
    rows = list(load_workbook(path)[TITLE].iter_rows(values_only=True))
    assert [list(r) for r in rows] == [shipped_template("pricing_opportunities").headers]
