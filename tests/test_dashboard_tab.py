"""The shipped `Dashboard` tab end to end: synced into a workbook on both databases it is
the first sheet, shows the headline figures with their status colours, brings the tabs
its charts read, and draws its six charts over exactly their data; LibreOffice opens it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI
from helpers import shipped_template
from kpi_data import frame, load, random_orders
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from sheets_sync.backends.xlsx.charts import data_title
from sheets_sync.config import Settings
from sheets_sync.jobs.run import sync_now

AS_OF = dt.date(2026, 1, 2)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

DATA = f"'{data_title('Dashboard')}'"


@pytest.fixture
def book(engine: Engine, db_url: str, tmp_path: Path) -> Path:
    load(engine, random_orders(300, dt.date(2025, 9, 1), days=124))
    settings = Settings.load(environ={}, database_url=db_url, templates_dir=TEMPLATES)
    path = tmp_path / "ops.xlsx"
    result = sync_now(engine, settings, f"xlsx:{path}", tabs=["Dashboard"], as_of=AS_OF)
    assert [t.title for t in result.tabs][:4] == [
        "Dashboard", "KPI Weekly", "KPI Monthly", "Seller Scorecard"
    ]  # fmt: skip
    return path


def test_the_dashboard_is_first_with_its_headline_figures(book: Path, engine: Engine) -> None:
    wb = load_workbook(book)
    assert wb.sheetnames[0] == "Dashboard" and wb.active.title == "Dashboard"
    ws = wb["Dashboard"]
    expected = frame(engine, shipped_template("dashboard"), as_of=AS_OF)
    rows = [list(r) for r in ws.iter_rows(min_row=2, max_col=8, values_only=True)]
    assert [r[:2] for r in rows] == [list(r[:2]) for r in expected.rows]
    assert [r[7] for r in rows] == [r[7] for r in expected.rows]
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for rng in ws.conditional_formatting
        for rule in rng.rules
        if str(rng.sqref).startswith("H2")
    }
    assert rules['"RED"'].endswith("F4CCCC") and rules['"GREEN"'].endswith("D9EAD3")


def test_the_six_charts_are_drawn_over_their_tables(book: Path) -> None:
    wb = load_workbook(book)
    charts = wb["Dashboard"]._charts
    kinds = sorted(type(c).__name__ for c in charts)
    assert kinds == ["BarChart"] * 4 + ["LineChart"] * 2
    data = wb[data_title("Dashboard")]
    assert data.sheet_state == "hidden"
    weeks_shown = {data.cell(row=r, column=1).value for r in range(3, data.max_row + 1)} - {None}
    assert len(weeks_shown) == 13  # the last 13 weeks of KPI Weekly
    for chart in charts:
        for series in (s for c in chart._charts for s in c.series):
            assert series.val.numRef.f.startswith(f"{DATA}!$")


def test_on_google_sheets_the_dashboard_is_first_with_its_six_charts(
    engine: Engine, db_url: str, emulator, gspread_client
) -> None:
    load(engine, random_orders(300, dt.date(2025, 9, 1), days=124))
    settings = Settings.load(
        environ={}, database_url=db_url, templates_dir=TEMPLATES, sheets_api_url=emulator.url
    )
    sheet = gspread_client.create("Ops")
    for _ in range(2):  # a re-sync keeps it first and draws no second copy
        sync_now(engine, settings, f"gsheets:{sheet.id}", tabs=["Dashboard"], as_of=AS_OF)
    meta = sheet.fetch_sheet_metadata()
    first = min(meta["sheets"], key=lambda s: s["properties"].get("index", 0))
    assert first["properties"]["title"] == "Dashboard"
    titles = sorted(c["spec"]["title"] for c in first.get("charts", []))
    assert titles == sorted(c.title for c in shipped_template("dashboard").charts)
    rows = sheet.worksheet("Dashboard").get_all_values()
    assert len(rows) == 19 and rows[0][:2] == ["Metric", "Period"]


@pytest.mark.skipif(
    shutil.which("soffice") is None and not IN_CI, reason="LibreOffice (soffice) not installed"
)
def test_libreoffice_opens_the_workbook_with_its_charts(book: Path, tmp_path: Path) -> None:
    """What the team may open the file with: converting it must succeed and give a PDF."""
    if shutil.which("soffice") is None:
        pytest.fail("CI=true: LibreOffice (soffice) is required")
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), str(book)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    pdf = tmp_path / "pdf" / "ops.pdf"
    assert done.returncode == 0, done.stderr
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
