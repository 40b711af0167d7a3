"""One alert, said alike by every channel: Slack, e-mail, the CLI, the Alerts tab, the sidebar.

Each case is one row of the ``alerts`` table — a seller, a market, a category
and an overall alert, with a days, a money, a rate and a count metric — and
every channel is read back where people meet it: the payloads queued in the
outbox, the CLI's line, the tab as written to the Sheets emulator (formatted
values, as people see them) and to a workbook (its cells' formats rendered the
same way), and the sidebar's JSON. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gspread
import pytest
from alerts_data import insert_rows
from helpers import shipped_template
from kpi_data import frame, records
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sheets_emulator.numfmt import format_pattern
from sheets_sync import schema
from sheets_sync.alerts.metrics import METRICS
from sheets_sync.alerts.speech import Seller, Viewer, link_for, speak, viewers
from sheets_sync.alerts.state import queue
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.rowformats import row_formats
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.config import Settings
from sheets_sync.kpis.alerts_tab import recent_alerts
from sheets_sync.vocabulary.alert_voice import METRIC_UNITS, UNITS, Alert, unit_of
from webhook.sidebar_api import alert_json

FIRST_SEEN = dt.datetime(2026, 12, 1, 6)
NOW = dt.datetime(2026, 12, 7, 6)
URL = "https://docs.google.com/spreadsheets/d/1OpsSheet/edit"
SELLERS = [("SEL-018", "Rhein Tech GmbH", "DE"), ("SEL-004", "Atlas Reuse GmbH", "AT")]


@dataclass(frozen=True)
class Case:
    scope: str
    key: str
    metric: str
    description: str
    severity: str
    figures: tuple[float, float]
    where: str
    said: tuple[str, str]
    """Value and threshold as the messages, the CLI and the sidebar say them."""
    shown: tuple[str, str, str]
    """Value, threshold and unit as the Alerts tab shows them (formatted cells)."""


CASES = [
    Case("seller", "SEL-018", "onboarding_stall_days", "Onboarding stalled", "warning",
         (65, 14), "seller Rhein Tech GmbH (SEL-018)", ("65 days", "14 days"),
         ("65", "14", "days")),
    Case("country", "AT", "paid_amount", "Paid amount below target", "critical",
         (12340, 15000.5), "market Austria (AT)", ("€ 12,340.00", "€ 15,000.50"),
         ("€ 12,340.00", "€ 15,000.50", "EUR")),
    Case("category", "smartphone", "counter_offer_rate", "Counter-offers above 65%", "warning",
         (0.824, 0.65), "category smartphones", ("82.4 %", "65.0 %"),
         ("82.4 %", "65.0 %", "%")),
    Case("overall", "all", "orders_created", "Orders below target", "info",
         (15, 16), "all markets", ("15 orders", "16 orders"), ("15", "16", "orders")),
]  # fmt: skip
IDS = [f"{c.scope}-{c.metric}" for c in CASES]


def alert_row(case: Case, alert_id: int = 1, **fields: Any) -> dict[str, Any]:
    value, threshold = case.figures
    row = {
        "alert_id": alert_id, "rule_id": f"rule_{case.scope}", "scope": case.scope,
        "scope_key": case.key, "metric": case.metric, "description": case.description,
        "severity": case.severity, "channels": "slack,email", "value": value,
        "threshold": threshold, "status": "active", "first_seen": FIRST_SEEN, "last_seen": NOW,
        "resolved_at": None, "notified": False, "resolved_notified": False,
    }  # fmt: skip
    return {**row, **fields}


@pytest.fixture
def seeded(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    sellers = [
        {"seller_id": s, "name": n, "country": c, "status": "onboarding", "created_at": FIRST_SEEN}
        for s, n, c in SELLERS
    ]
    insert_rows(engine, schema.sellers, sellers)
    insert_rows(engine, schema.alerts, [alert_row(request.param)])
    return engine


def payloads(engine: Engine) -> dict[str, Any]:
    with engine.begin() as conn:
        assert queue(conn, NOW, ("slack", "email"), URL) == 2
        notes = conn.execute(select(schema.alert_notifications)).all()
    return {n.channel: json.loads(n.payload) for n in notes}


@pytest.mark.parametrize(("seeded", "case"), [(c, c) for c in CASES], ids=IDS, indirect=["seeded"])
def test_slack_and_email_say_the_alert_with_names_units_since_and_where_to_look(seeded, case):
    sent = payloads(seeded)
    value, threshold = case.said
    mark = case.severity.upper()
    assert sent["slack"]["blocks"][1]["text"]["text"] == (
        f"*[{mark}] {case.description}*\nWhere: {case.where}\n"
        f"Value: {value} (threshold {threshold})\nSince 2026-12-01 06:00 UTC\n"
        f"Look: <{URL}|Alerts tab>"
    )
    assert sent["email"]["body"] == (
        f"[{mark}] {case.description}\nWhere: {case.where}\n"
        f"Value: {value} (threshold {threshold})\nSince 2026-12-01 06:00 UTC\n"
        f"Look: Alerts tab of {URL}\n\nSpreadsheet (Alerts tab): {URL}\n"
    )


@pytest.mark.parametrize(("seeded", "case"), [(c, c) for c in CASES], ids=IDS, indirect=["seeded"])
def test_the_cli_line_and_the_sidebar_say_the_same_words(seeded, case):
    with seeded.connect() as conn:
        rows = conn.execute(select(schema.alerts)).all()
        (said,) = speak(conn, rows)
    value, threshold = case.said
    assert said.line() == (
        f"{case.severity.upper()} {case.description} — {case.where}: "
        f"{value} (threshold {threshold}), since 2026-12-01"
    )
    with seeded.connect() as conn:
        (row,) = recent_alerts(conn, None, NOW)
    shown = alert_json(row)
    assert (shown["where"], shown["value_text"], shown["threshold_text"]) == (
        case.where, value, threshold,
    )  # fmt: skip
    assert (shown["value"], shown["threshold"], shown["unit"]) == (*case.figures, case.shown[2])
    assert shown["first_seen"] == "2026-12-01T06:00:00Z"


def test_a_resolved_alert_says_so_with_when(engine):
    insert_rows(engine, schema.alerts, [alert_row(CASES[3], status="resolved", resolved_at=NOW)])
    with engine.connect() as conn:
        (said,) = speak(conn, conn.execute(select(schema.alerts)).all())
    assert said.line() == (
        "RESOLVED Orders below target — all markets: 15 orders (threshold 16 orders), "
        "since 2026-12-01, resolved 2026-12-07"
    )
    assert said.when == "Since 2026-12-01 06:00 UTC, resolved 2026-12-07 06:00 UTC"


# -- the Alerts tab, as written to each destination ------------------------------------------


@pytest.fixture
def all_cases(engine: Engine) -> Engine:
    """Every case at once (alert ids in case order, all active, one severity order)."""
    sellers = [
        {"seller_id": s, "name": n, "country": c, "status": "onboarding", "created_at": FIRST_SEEN}
        for s, n, c in SELLERS
    ]
    insert_rows(engine, schema.sellers, sellers)
    rows = [
        alert_row(c, i + 1, severity="warning", first_seen=FIRST_SEEN + dt.timedelta(hours=i))
        for i, c in enumerate(CASES)
    ]
    insert_rows(engine, schema.alerts, rows)
    return engine


def shown_rows(table: list[list[Any]]) -> list[tuple[Any, ...]]:
    """(Where, Value, Threshold, Unit) of each data row of the tab as read back."""
    header = table[0]
    at = [header.index(h) for h in ("Where", "Value", "Threshold", "Unit")]
    return [tuple(row[i] for i in at) for row in table[1:]]


EXPECTED = [(c.where, *c.shown) for c in CASES]


def test_the_alerts_tab_in_google_sheets_names_where_and_formats_each_row_by_unit(
    all_cases, emulator, gspread_client: gspread.Client
):
    tab = frame(all_cases, shipped_template("alerts_tab"), as_of=NOW.date())
    sheet = gspread_client.create("Trade-In Ops")
    settings = Settings.load(environ={}, sheets_api_url=emulator.url)
    GoogleSheetsBackend(settings.sheets, sheet.id).write_tabs([tab])
    ws = sheet.worksheet("Alerts")
    assert shown_rows(ws.get_values()) == EXPECTED  # formatted, as people see the cells
    raw = shown_rows(ws.get_values(value_render_option="UNFORMATTED_VALUE"))
    assert [r[1:3] for r in raw] == [c.figures for c in CASES]  # numbers, pivot-ready


def test_the_alerts_tab_in_a_workbook_has_the_same_formats(all_cases, tmp_path: Path):
    tab = frame(all_cases, shipped_template("alerts_tab"), as_of=NOW.date())
    path = tmp_path / "ops.xlsx"
    XlsxBackend(path).write_tabs([tab])
    ws = load_workbook(path)["Alerts"]
    header = [c.value for c in ws[1]]
    value, threshold, unit, where = (
        header.index(h) for h in ("Value", "Threshold", "Unit", "Where")
    )
    got = []
    for row in ws.iter_rows(min_row=2):
        cells = (row[value], row[threshold])
        assert all(isinstance(c.value, int | float) for c in cells)
        shown = [format_pattern(float(c.value), c.number_format) for c in cells]
        got.append((row[where].value, *shown, row[unit].value))
    assert got == EXPECTED


def test_rows_of_one_unit_share_one_format_request_in_the_one_batch(
    all_cases, emulator, controls, gspread_client
):
    """Consecutive rows of a unit are one repeatCell per column, in the batch sent anyway."""
    more = [
        alert_row(CASES[2], 10 + i, scope_key=f"k{i}", severity="warning", first_seen=NOW)
        for i in range(5)
    ]
    insert_rows(all_cases, schema.alerts, more)
    tab = frame(all_cases, shipped_template("alerts_tab"), as_of=NOW.date())
    units = [r["Unit"] for r in records(tab)]
    assert units == ["days", "EUR", "%", "orders", "%", "%", "%", "%", "%"]
    requests = row_formats(tab.template, tab.rows, 7, range(len(tab.headers)))
    ranges = [(r["repeatCell"]["range"]["startRowIndex"], r["repeatCell"]["range"]["endRowIndex"])
              for r in requests]  # fmt: skip
    assert ranges == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 10)] * 2  # Value, then Threshold
    sheet = gspread_client.create("Trade-In Ops")
    start = controls.counters()
    settings = Settings.load(environ={}, sheets_api_url=emulator.url)
    GoogleSheetsBackend(settings.sheets, sheet.id).write_tabs([tab])
    counts = controls.counters()["by_kind"]
    assert (
        counts.get("spreadsheets.batchUpdate", 0)
        - start["by_kind"].get("spreadsheets.batchUpdate", 0)
        == 1
    )
    shown = sheet.worksheet("Alerts").get_values()
    assert [r[7:9] for r in shown[5:]] == [["82.4 %", "65.0 %"]] * 5  # Value, Threshold


# -- the one unit table and where to look ----------------------------------------------------


def test_every_metric_a_rule_may_use_has_its_unit_and_every_unit_a_tab_format():
    assert set(METRICS) == set(METRIC_UNITS)
    assert {m.unit.name for m in METRICS.values()} == set(UNITS)
    template = shipped_template("alerts_tab")
    for header in ("Value", "Threshold"):
        by = template.column(header).format_by
        assert by is not None and {name for name, _ in by.formats} == set(UNITS)
    assert unit_of("a_metric_since_removed").name == "orders"


def _alert(scope: str, key: str) -> Alert:
    return Alert("active", "warning", "r", "d", "csat", scope, key, 4.12, 4.5, NOW)


@pytest.mark.parametrize(
    ("scope", "key", "seller_country", "link"),
    [
        ("seller", "SEL-004", "AT", "at"),  # a market's alert: that market's sheet first
        ("country", "DE", None, "de"),
        ("country", "FR", None, "all"),  # no FR sheet: the all-markets one
        ("overall", "all", None, "all"),  # all-markets sheet first
        ("category", "tablet", None, "all"),  # a market sheet never sees a category's alert
    ],
)
def test_an_alert_links_to_a_registered_sheet_that_shows_it(scope, key, seller_country, link):
    sheets = [Viewer("at", ("AT",)), Viewer("de", ("DE", "CH")), Viewer("all", None)]
    seller = Seller("Atlas", seller_country) if seller_country else None
    assert link_for(_alert(scope, key), seller, sheets, "fallback") == link
    assert link_for(_alert("category", "tablet"), None, sheets[:2], "fallback") == "fallback"


def test_only_registered_sheets_with_the_alerts_tab_are_places_to_look():
    @dataclass
    class Entry:
        id: str
        countries: tuple[str, ...] | None
        tabs: tuple[str, ...] | None

    found = viewers([Entry("a", None, None), Entry("b", ("AT",), ("KPI Daily",)),
                     Entry("c", ("AT",), ("Alerts",))])  # fmt: skip
    assert found == [
        Viewer("https://docs.google.com/spreadsheets/d/a/edit", None),
        Viewer("https://docs.google.com/spreadsheets/d/c/edit", ("AT",)),
    ]


def test_csat_is_said_out_of_five():
    assert (UNITS["/5"].say(4.12), unit_of("csat").say(4.125)) == ("4.12 / 5", "4.13 / 5")
