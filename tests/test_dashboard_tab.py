"""The shipped `Dashboard` tab end to end: synced into a workbook on both databases it is
the first sheet, shows the headline figures with their status colours, brings the tabs
its charts read, and draws its six charts over exactly their data — the rate charts a
ratio of the sums of `KPI Weekly`'s counts across categories, on both destinations;
LibreOffice opens it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI
from helpers import shipped_template
from kpi_data import frame, load, random_orders
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from sheets_sync.backends.gsheets.charts import data_title as gsheets_data_title
from sheets_sync.backends.xlsx.charts import data_title
from sheets_sync.config import Settings
from sheets_sync.jobs.run import sync_now

AS_OF = dt.date(2026, 1, 2)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

DATA = f"'{data_title('Dashboard')}'"
RATE_CHARTS = {
    "Counter-offer rate per week by market": ("Counter-offers", "Inspected"),
    "Inspection SLA rate per week by market": ("Inspected within SLA", "Inspected"),
}


def expected_rates(weekly: list[list[Any]], numerator: str, denominator: str) -> list[tuple]:
    """From the `KPI Weekly` sheet's cells: both counts summed per week and market over
    every category, then divided (no point without an inspection), the last 13 weeks."""
    header, rows = weekly[0], weekly[1:]
    at = {name: header.index(name) for name in ("Week", "Country", numerator, denominator)}
    sums: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        pair = sums.setdefault((row[at["Week"]], row[at["Country"]]), [0, 0])
        pair[0] += row[at[numerator]] or 0
        pair[1] += row[at[denominator]] or 0
    mondays = {w: dt.date.fromisocalendar(int(w[:4]), int(w[-2:]), 1) for w, _ in sums}
    last = max(mondays.values())
    weeks = sorted(w for w in set(mondays) if (last - mondays[w]).days < 13 * 7)
    markets = sorted({c for _, c in sums})

    def rate(week: str, market: str) -> float | None:
        numerator, denominator = sums.get((week, market), [0, 0])
        return numerator / denominator if denominator else None

    return [(w, *(rate(w, c) for c in markets)) for w in weeks]


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
    raw = "UNFORMATTED_VALUE"
    weekly = sheet.worksheet("KPI Weekly").get_values(value_render_option=raw)
    grid = sheet.worksheet(gsheets_data_title("Dashboard")).get_values(value_render_option=raw)
    starts = [i for i, h in enumerate(grid[0]) if h != "" and (i == 0 or grid[0][i - 1] == "")]
    charts = [c.title for c in shipped_template("dashboard").charts]
    for title, (numerator, denominator) in RATE_CHARTS.items():
        first = starts[charts.index(title)]
        block = [tuple(v if v != "" else None for v in r[first : first + 3]) for r in grid]
        assert block[0] == ("Week", "DE", "FR")
        got = [b for b in block[1:] if b[0] is not None]
        want = expected_rates([[v if v != "" else None for v in r] for r in weekly], numerator,
                              denominator)  # fmt: skip
        assert [g[0] for g in got] == [w[0] for w in want]
        for g, w in zip(got, want, strict=True):
            assert g[1:] == pytest.approx(w[1:]), (title, g[0])


def test_the_rate_charts_divide_the_summed_counts_of_every_category(book: Path) -> None:
    wb = load_workbook(book)
    weekly = [list(r) for r in wb["KPI Weekly"].iter_rows(values_only=True)]
    assert {r[3] for r in weekly[1:]} == {"smartphone", "laptop"}  # more than one category
    data = wb[data_title("Dashboard")]
    titles = {data.cell(row=1, column=c).value: c for c in range(1, data.max_column + 1)}
    for title, (numerator, denominator) in RATE_CHARTS.items():
        first = titles[title]
        block = [
            tuple(data.cell(row=r, column=c).value for c in range(first, first + 3))
            for r in range(2, data.max_row + 1)
        ]
        assert block[0] == ("Week", "DE", "FR")
        got = [b for b in block[1:] if b[0] is not None]
        want = expected_rates(weekly, numerator, denominator)
        assert [g[0] for g in got] == [w[0] for w in want] and len(got) == 13
        for g, w in zip(got, want, strict=True):
            assert g[1:] == pytest.approx(w[1:]), (title, g[0])


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
