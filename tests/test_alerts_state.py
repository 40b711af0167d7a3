"""Alert state across runs: raised once, refreshed, resolved once, and dry runs change nothing.

Also the `sheets-sync alerts` command, `init-db` on an older database, and the
Alerts tab built from that state.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alerts_data import AS_OF, NOON, NOW, insert_rows, inspected, write_rules
from fixtures_sidebar import HOSTILE, seed_alerts
from helpers import TEMPLATES, shipped_template
from kpi_data import frame, load, records
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Engine

from sheets_sync import db, db_init, schema
from sheets_sync.alerts.run import EVALUATION_LOCK, evaluate_and_notify
from sheets_sync.cli import main
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.errors import BusyError
from sheets_sync.locks import destination_lock

RULES = """
rules:
  - id: co_high
    description: Counter-offers above 30%
    metric: counter_offer_rate
    scope: seller
    window: 7
    condition: {above: 0.3}
    min_volume: 5
    severity: critical
    notify: [slack]
"""
HOUR = dt.timedelta(hours=1)
EVALUATE_SCRIPT = """
import datetime as dt, json, sys
from pathlib import Path
from sheets_sync.alerts.run import evaluate_and_notify
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
url, folder, as_of, now, owner = sys.argv[1:6]
settings = Settings.load(environ={}, database_url=url, templates_dir=Path(folder),
                         slack_webhook_url="http://127.0.0.1:9/hook", alert_notify_attempts=1)
engine = make_engine(url)
print("ready", flush=True)
sys.stdin.readline()
summary = evaluate_and_notify(engine, settings, as_of=dt.date.fromisoformat(as_of),
                              now=dt.datetime.fromisoformat(now), owner=owner)
print(json.dumps([len(summary.raised), len(summary.ongoing), summary.queued]), flush=True)
"""


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The test rules; Slack pointed at a closed loopback port: queued, never delivered."""
    folder = tmp_path / "templates"
    folder.mkdir()
    write_rules(folder, RULES)
    return Settings.load(
        environ={}, database_url=db_url, templates_dir=folder,
        slack_webhook_url="http://127.0.0.1:9/hook", alert_notify_attempts=1,
    )  # fmt: skip


@pytest.fixture
def high(engine: Engine) -> Engine:
    """S1 at 40% counter-offers (fires), S2 at 10% (does not)."""
    load(
        engine,
        inspected("A", 10, NOON, counter=4) + inspected("B", 10, NOON, counter=1, seller_id="S2"),
    )
    return engine


def table(engine: Engine, t: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key))]


def run(engine: Engine, settings: Settings, now: dt.datetime = NOW, **kw: Any) -> Any:
    return evaluate_and_notify(engine, settings, as_of=AS_OF, now=now, **kw)


def test_a_new_alert_is_recorded_and_queued(high, settings):
    summary = run(high, settings)
    assert [(a["rule_id"], a["scope_key"], a["value"]) for a in summary.raised] == [
        ("co_high", "S1", 0.4)
    ]
    (alert,) = table(high, schema.alerts)
    assert (alert["status"], alert["first_seen"], alert["last_seen"], alert["notified"]) == (
        "active", NOW, NOW, True,
    )  # fmt: skip
    assert (alert["value"], alert["threshold"], alert["severity"]) == (0.4, 0.3, "critical")
    (note,) = table(high, schema.alert_notifications)
    assert note["channel"] == "slack" and note["delivered_at"] is None
    assert "Counter-offers above 30%" in note["payload"]
    assert summary.queued == 1 and summary.delivery.undelivered == 1


def test_an_alert_that_stays_active_is_not_notified_again(high, settings):
    run(high, settings)
    later = run(high, settings, now=NOW + 24 * HOUR)
    assert (later.raised, len(later.ongoing), later.queued) == ([], 1, 0)
    (alert,) = table(high, schema.alerts)
    assert (alert["first_seen"], alert["last_seen"]) == (NOW, NOW + 24 * HOUR)
    assert len(table(high, schema.alert_notifications)) == 1


def test_a_cleared_alert_is_resolved_and_notified_once(high, settings):
    run(high, settings)
    with high.begin() as conn:
        conn.execute(delete(schema.tradein_orders).where(schema.tradein_orders.c.order_id < "A004"))
    cleared = run(high, settings, now=NOW + HOUR)  # S1 now 0 of 6
    assert [(a["rule_id"], a["scope"], a["scope_key"]) for a in cleared.resolved] == [
        ("co_high", "seller", "S1")
    ]
    (alert,) = table(high, schema.alerts)
    assert (alert["status"], alert["resolved_at"], alert["resolved_notified"]) == (
        "resolved", NOW + HOUR, True,
    )  # fmt: skip
    notes = table(high, schema.alert_notifications)
    assert len(notes) == 2 and "1 resolved" in notes[1]["payload"]
    again = run(high, settings, now=NOW + 2 * HOUR)
    assert (again.raised, again.resolved, again.queued) == ([], [], 0)
    assert len(table(high, schema.alert_notifications)) == 2


def test_an_alert_firing_again_after_resolution_is_new(high, settings):
    run(high, settings)
    original = table(high, schema.tradein_orders)
    with high.begin() as conn:
        conn.execute(delete(schema.tradein_orders))
    run(high, settings, now=NOW + HOUR)
    insert_rows(high, schema.tradein_orders, original)
    back = run(high, settings, now=NOW + 2 * HOUR)
    assert len(back.raised) == 1
    assert [a["status"] for a in table(high, schema.alerts)] == ["resolved", "active"]


def test_dry_run_changes_nothing_and_notifies_no_one(high, settings):
    run(high, settings)
    with high.begin() as conn:
        conn.execute(delete(schema.tradein_orders).where(schema.tradein_orders.c.seller_id == "S1"))
    before = (table(high, schema.alerts), table(high, schema.alert_notifications))
    preview = run(high, settings, now=NOW + HOUR, dry_run=True)
    assert len(preview.resolved) == 1 and preview.delivery.delivered == 0
    assert (table(high, schema.alerts), table(high, schema.alert_notifications)) == before


def test_without_a_channel_an_alert_waits_to_be_announced(high, settings):
    quiet = settings.replace(slack_webhook_url=None)
    assert run(high, quiet).queued == 0
    assert table(high, schema.alerts)[0]["notified"] is False
    assert run(high, settings, now=NOW + HOUR).queued == 1
    assert table(high, schema.alerts)[0]["notified"] is True


# -- two evaluations at once: a cron retry and Cloud Scheduler, two instances, CLI and cron ----


def assert_evaluated_once(engine: Engine, outcomes: list[tuple[int, int, int]]) -> None:
    """Both succeeded: one raised and queued the alert, the other found it active already."""
    assert sorted(outcomes) == [(0, 1, 0), (1, 0, 1)]
    (alert,) = table(engine, schema.alerts)
    assert (alert["status"], alert["notified"]) == ("active", True)
    assert len(table(engine, schema.alert_notifications)) == 1


def test_two_evaluations_in_threads_at_once_both_succeed_and_notify_once(high, settings):
    gate = threading.Barrier(2)

    def evaluation(owner: str) -> tuple[int, int, int]:
        gate.wait()
        summary = run(high, settings, owner=owner)
        return (len(summary.raised), len(summary.ongoing), summary.queued)

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(evaluation, ["nightly alerts (cron)", "cli by ana"]))
    assert_evaluated_once(high, outcomes)


def test_two_evaluations_in_processes_at_once_both_succeed_and_notify_once(
    high, settings, db_url, tmp_path
):
    args = [db_url, str(settings.files.templates_dir), AS_OF.isoformat(), NOW.isoformat()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", EVALUATE_SCRIPT, *args, f"process {n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for n in (1, 2)
    ]
    for proc in procs:  # both imported and connected: the go is given to both at once
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    outputs = [proc.stdout.read() for proc in procs if proc.stdout is not None]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0], outputs
    assert_evaluated_once(high, [tuple(json.loads(out)) for out in outputs])


def test_an_evaluation_waits_a_bounded_time_then_names_the_one_running(high, settings):
    with destination_lock(high, EVALUATION_LOCK, "nightly alerts (cron)"):
        with pytest.raises(BusyError) as caught:
            run(high, settings.replace(lock_wait_seconds=0.2), owner="cli by ana")
        assert table(high, schema.alerts) == []
    message = str(caught.value)
    assert message.startswith("alerts evaluation is busy: a run (nightly alerts (cron), host ")
    assert "waited 0.2 s" in message and "SHEETS_SYNC_LOCK_WAIT_SECONDS" in message
    assert run(high, settings).queued == 1  # free again: the next evaluation goes ahead


def test_cli_dry_run_and_json(high, settings, runner, db_url, monkeypatch):
    monkeypatch.setenv("SHEETS_SYNC_TEMPLATES_DIR", str(settings.files.templates_dir))
    args = ["alerts", "--as-of", AS_OF.isoformat(), "--database-url", db_url]
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "Alerts as of 2025-06-10 (1 rules): 1 new, 0 still active, 0 resolved "
        "(dry run: nothing notified, nothing recorded)",
        "  NEW      CRITICAL Counter-offers above 30% — seller Recommerce Pro (S1): "
        f"40.0 % (threshold 30.0 %), since {utcnow():%Y-%m-%d}",  # new: first seen now
    ]
    assert table(high, schema.alerts) == []
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["dry_run"], body["raised"][0]["scope_key"], body["notifications_queued"]) == (
        False, "S1", 0,
    )  # fmt: skip
    assert (body["raised"][0]["where"], body["raised"][0]["value_text"]) == (
        "seller Recommerce Pro (S1)", "40.0 %",
    )  # fmt: skip


REGISTRY = """\
spreadsheets:
  - {id: 1OpsTeamAllMarkets00000000000, name: Ops team}
  - {id: 1FranceNoAlertsTab0000000000, name: France KPIs, countries: [FR], tabs: [KPI Daily]}
  - {id: 1FranceMarketTeam000000000000, name: France, countries: [FR]}
"""


def test_the_cli_links_an_alert_to_the_registered_sheet_that_shows_it(
    high, settings, runner, db_url, monkeypatch, tmp_path
):
    """S1 sells in France: the France team's sheet (which has the Alerts tab) is where to look."""
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    shutil.copytree(TEMPLATES / "tabs", settings.files.templates_dir / "tabs")
    monkeypatch.setenv("SHEETS_SYNC_TEMPLATES_DIR", str(settings.files.templates_dir))
    monkeypatch.setenv("SHEETS_SYNC_CONFIG_FILE", str(registry))
    args = ["alerts", "--as-of", AS_OF.isoformat(), "--database-url", db_url]
    result = runner.invoke(main, [*args, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    (raised,) = json.loads(result.output)["raised"]
    france = "https://docs.google.com/spreadsheets/d/1FranceMarketTeam000000000000/edit"
    assert (raised["where"], raised["link"]) == ("seller Recommerce Pro (S1)", france)


def test_cli_names_a_bad_rules_file(runner, db_url, tmp_path, monkeypatch):
    write_rules(tmp_path, "rules:\n  - id: x\n    metric: nope\n")
    monkeypatch.setenv("SHEETS_SYNC_TEMPLATES_DIR", str(tmp_path))
    result = runner.invoke(main, ["alerts", "--database-url", db_url])
    assert result.exit_code == 1
    assert f"{tmp_path / 'alerts.yaml'}:3: rules[0].metric: 'nope' is not allowed" in result.output


def test_init_db_adds_the_alert_tables_to_an_older_database(engine):
    schema.alert_notifications.drop(engine)
    schema.alerts.drop(engine)
    with pytest.raises(db.DatabaseError, match=r"no table.*alerts.*sheets-sync init-db"):
        db.require_schema(engine)
    db_init.init_db(engine)
    db.require_schema(engine)
    assert {"alerts", "alert_notifications"} <= set(inspect(engine).get_table_names())


def _alert(alert_id: int, severity: str, first_seen: dt.datetime, **fields: Any) -> dict:
    row = {
        "alert_id": alert_id, "rule_id": f"rule{alert_id}", "scope": "seller",
        "scope_key": f"S{alert_id}", "metric": "counter_offer_rate", "description": "d",
        "severity": severity, "channels": "slack", "value": 0.25, "threshold": 0.2,
        "status": "active", "first_seen": first_seen, "last_seen": NOW, "resolved_at": None,
        "notified": True, "resolved_notified": False,
    }  # fmt: skip
    return {**row, **fields}


def test_alerts_tab_active_by_severity_and_age_then_recent_resolutions(engine):
    day = dt.timedelta(days=1)
    rows = [
        _alert(1, "warning", NOW - 5 * day),
        _alert(2, "critical", NOW - 1 * day),
        _alert(3, "warning", NOW - 9 * day),
        _alert(4, "info", NOW - 20 * day, metric="onboarding_stall_days", value=20, threshold=14),
        _alert(5, "critical", NOW - 30 * day, status="resolved", resolved_at=NOW - 3 * day),
        _alert(6, "warning", NOW - 30 * day, status="resolved", resolved_at=NOW - 1 * day),
        _alert(7, "critical", NOW - 60 * day, status="resolved", resolved_at=NOW - 15 * day),
    ]
    insert_rows(engine, schema.alerts, rows)
    shown = records(frame(engine, shipped_template("alerts_tab"), as_of=AS_OF))
    assert [(r["Alert ID"], r["Status"]) for r in shown] == [
        (2, "active"), (3, "active"), (1, "active"), (4, "active"),
        (6, "resolved"), (5, "resolved"),
    ]  # fmt: skip
    assert [(str(r["Value"]), str(r["Threshold"]), r["Unit"]) for r in shown[2:4]] == [
        ("0.25", "0.2", "%"), ("20.0", "14.0", "days"),
    ]  # fmt: skip
    assert (shown[0]["First seen"], shown[0]["Last seen"], shown[4]["Resolved at"]) == (
        NOW - day, NOW, NOW - day,
    )  # fmt: skip


def test_the_shipped_rules_raise_a_handful_on_the_demo_data(runner, db_url):
    """`demo-data` then `alerts --dry-run`: a few alerts, from the required checks."""
    made = runner.invoke(main, ["demo-data", "--end-date", "2026-11-30", "--database-url", db_url])
    assert made.exit_code == 0, made.output
    result = runner.invoke(main, ["alerts", "--dry-run", "--json", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    raised = json.loads(result.output)["raised"]
    assert 3 <= len(raised) <= 20
    assert {"onboarding_stalled", "inspection_sla_below_target", "market_below_target"} <= {
        a["rule_id"] for a in raised
    }


ALL, FR = "all markets", "market France (FR)"
S_FR, S_DE = "seller Recommerce Pro (S_FR)", f"seller {HOSTILE} (S_DE)"


@pytest.mark.parametrize(
    ("countries", "shown"),
    [
        (None, [ALL, S_DE, S_FR, "category smartphones", FR, "market Germany (DE)", FR]),
        (("FR",), [ALL, S_FR, FR, FR]),  # its market, its seller, overall
        (("DE", "FR"), [ALL, S_DE, S_FR, FR, "market Germany (DE)", FR]),  # no category
    ],
)
def test_a_market_sheets_alerts_tab_lists_its_markets_alerts(engine, countries, shown):
    now = dt.datetime(2025, 6, 11, 6)
    seed_alerts(engine, now)
    filters = {"country": countries} if countries else None
    rows = records(frame(engine, shipped_template("alerts_tab"), as_of=now.date(), filters=filters))
    assert [r["Where"] for r in rows] == shown
