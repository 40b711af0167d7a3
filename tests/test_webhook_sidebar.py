"""The sidebar's read endpoints: ``GET /runs`` (a sheet's last runs) and ``GET /alerts``.

The app is the real one from the factory, callers carry real RS256 ID tokens
verified against certs served on loopback, and the rows are those the runner
and the alert evaluation write, on both databases.
"""

from __future__ import annotations

from typing import Any

import pytest
from fixtures_sidebar import HOSTILE, RUN_ERROR, SHEET_ALL, SHEET_FR, STRANGER, auth
from fixtures_webhook import bearer, token


def get(app: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    return app.test_client().get(path, headers=auth() if headers is None else headers)


# --- GET /runs -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "count"), [("", 10), ("&limit=3", 3), ("&limit=50", 12)])
def test_runs_are_listed_newest_first_up_to_the_limit(sidebar_app, seeded, query, count) -> None:
    response = get(sidebar_app, f"/runs?spreadsheet_id={SHEET_ALL}{query}")
    assert response.status_code == 200
    runs = response.get_json()["runs"]
    assert [r["run_id"] for r in runs] == seeded[:count]
    assert {r["spreadsheet_id"] for r in runs} == {SHEET_ALL}


def test_each_listed_run_is_what_its_status_endpoint_returns(sidebar_app, seeded) -> None:
    runs = get(sidebar_app, f"/runs?spreadsheet_id={SHEET_ALL}&limit=4").get_json()["runs"]
    for run in runs:
        assert run == get(sidebar_app, f"/runs/{run['run_id']}").get_json()
    running, failed, pricing = runs[0], runs[1], runs[2]
    assert (running["status"], running["finished_at"]) == ("running", None)
    assert (failed["status"], failed["error"]) == ("failed", RUN_ERROR)
    assert (pricing["kind"], pricing["tabs"]) == ("pricing", ["Pricing"])
    assert runs[3]["tabs"] == ["KPI Daily", "Pricing"] and runs[3]["cells_written"] == 1004


def test_a_sheet_sees_only_its_own_runs(sidebar_app, seeded) -> None:
    runs = get(sidebar_app, f"/runs?spreadsheet_id={SHEET_FR}").get_json()["runs"]
    assert [r["spreadsheet_id"] for r in runs] == [SHEET_FR]


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1", "1.5", "", "²"])
def test_a_bad_limit_is_a_400_naming_it(sidebar_app, seeded, limit) -> None:
    response = get(sidebar_app, f"/runs?spreadsheet_id={SHEET_ALL}&limit={limit}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "limit" and "from 1 to 50" in body["error"]


# --- both endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/runs", "/alerts"])
def test_an_unregistered_spreadsheet_is_a_404(sidebar_app, path) -> None:
    response = get(sidebar_app, f"{path}?spreadsheet_id={STRANGER}")
    assert response.status_code == 404
    assert "not registered" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/runs", "/alerts?", "/alerts?spreadsheet_id=%20"])
def test_a_missing_spreadsheet_id_is_a_400(sidebar_app, path) -> None:
    response = get(sidebar_app, path)
    assert response.status_code == 400
    assert response.get_json()["field"] == "spreadsheet_id"


@pytest.mark.parametrize("path", ["/runs", "/alerts"])
@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (bearer("not-a-token"), 401), (bearer(token(email="eve@other.example")), 403)],
)
def test_only_allowed_callers_read_a_sheets_runs_and_alerts(
    sidebar_app, seeded, path, headers, status
) -> None:
    response = get(sidebar_app, f"{path}?spreadsheet_id={SHEET_ALL}", headers=headers)
    assert response.status_code == status
    assert set(response.get_json()) == {"error"}  # nothing of the sheet leaks


# --- GET /alerts -----------------------------------------------------------------------------


def alerts_of(app: Any, sheet: str) -> list[dict[str, Any]]:
    response = get(app, f"/alerts?spreadsheet_id={sheet}")
    assert response.status_code == 200
    return list(response.get_json()["alerts"])


def test_every_alert_of_the_last_14_days_for_a_sheet_without_markets(sidebar_app, seeded) -> None:
    shown = [(a["status"], a["rule_id"], a["scope_key"]) for a in alerts_of(sidebar_app, SHEET_ALL)]
    assert shown == [
        ("active", "failed_sync", "all"),  # critical first
        ("active", "sla", "S_DE"),  # then warnings, oldest first
        ("active", "sla", "S_FR"),
        ("active", "grade_mix", "smartphone"),
        ("active", "orders_drop", "FR"),  # then info; same age: first raised first
        ("active", "orders_drop", "DE"),
        ("resolved", "old_fr", "FR"),  # resolved 2 days ago; the 20-day-old one is gone
    ]


def test_a_market_sheet_sees_its_markets_sellers_and_overall_alerts(sidebar_app, seeded) -> None:
    shown = [(a["rule_id"], a["scope_key"]) for a in alerts_of(sidebar_app, SHEET_FR)]
    assert shown == [("failed_sync", "all"), ("sla", "S_FR"), ("orders_drop", "FR"),
                     ("old_fr", "FR")]  # fmt: skip


def test_an_alert_reads_in_peoples_units_with_the_sellers_name(sidebar_app, seeded) -> None:
    by_key = {a["scope_key"]: a for a in alerts_of(sidebar_app, SHEET_ALL) if a["rule_id"] == "sla"}
    german = by_key["S_DE"]
    assert (german["value"], german["threshold"], german["unit"]) == (0.7125, 0.85, "%")
    assert (german["value_text"], german["threshold_text"]) == ("71.3 %", "85.0 %")
    assert german["where"] == f"seller {HOSTILE} (S_DE)" and german["scope_name"] == HOSTILE
    assert german["first_seen"].endswith("Z") and german["resolved_at"] is None
    failed = alerts_of(sidebar_app, SHEET_FR)[0]
    assert (failed["value"], failed["unit"], failed["scope_name"]) == (2, "runs", None)
    assert (failed["where"], failed["value_text"], failed["threshold_text"]) == (
        "all markets", "2 runs", "0 runs",
    )  # fmt: skip
