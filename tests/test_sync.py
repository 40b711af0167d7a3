"""The sync engine end to end: database → templates → frames → workbook, on both databases."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from fixtures_sync import LAST_DAY
from helpers import INJECTION, TEMPLATES
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.backends.xlsx.charts import data_title
from sheets_sync.cli import main
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError, DatabaseError, DestinationError, LimitError
from sheets_sync.jobs.run import sync_now
from sheets_sync.sync import ProgressEvent, load_all_templates


def sheet_records(path: Path, title: str) -> list[dict[str, Any]]:
    rows = list(load_workbook(path)[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def runs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.queued_at))
        return [dict(r._mapping) for r in rows]


def test_sync_writes_every_tab_and_records_the_run(loaded, settings, tmp_path) -> None:
    book = tmp_path / "ops.xlsx"
    events: list[ProgressEvent] = []
    result = sync_now(loaded, settings, f"xlsx:{book}", requested_by="ana", progress=events.append)
    templates = load_all_templates(settings)
    expected = [*templates, *(p.title for t in templates.values() for p in t.pivots)]
    assert sorted(t.title for t in result.tabs) == sorted(expected)
    chart_data = [data_title(t.title) for t in templates.values() if t.charts]
    # the hidden tables of the charts (a long title cut to fit a workbook's 31 characters)
    assert chart_data == ["Dashboard · chart data", "Pricing opportunit · chart data"]
    assert sorted(load_workbook(book).sheetnames) == sorted(expected + chart_data)
    assert result.as_of == LAST_DAY
    assert [e.title for e in events if e.phase == "compute"] == list(templates)

    daily = sheet_records(book, "KPI Daily")
    assert sum(r["Orders created"] for r in daily) == 4  # O5 is outside the 90-day window
    assert sum(r["Paid"] for r in daily) == 1
    pricing = sheet_records(book, "Pricing")
    assert len(pricing) == 4
    assert INJECTION in {r["Seller"] for r in pricing}  # literal text, not a formula

    (run,) = runs(loaded)
    assert run["run_id"] == result.run_id
    assert (run["status"], run["trigger"], run["requested_by"]) == ("succeeded", "cli", "ana")
    assert run["spreadsheet"] == f"xlsx:{book}"
    assert run["cells_written"] == result.cells_written > 0
    assert run["rows_written"] == result.rows_written
    assert run["tabs"].split(", ") == list(templates)
    assert run["started_at"] <= run["finished_at"] and run["error"] is None
    status = sheet_records(book, "Sync Status")
    assert [(r["Run ID"], r["Status"]) for r in status] == [(result.run_id, "running")]


def test_sync_status_shows_earlier_runs_newest_first(loaded, settings, tmp_path) -> None:
    book = tmp_path / "ops.xlsx"
    first = sync_now(loaded, settings, f"xlsx:{book}", tabs=["Sync Status"])
    second = sync_now(loaded, settings, f"xlsx:{book}", tabs=["Sync Status"])
    status = sheet_records(book, "Sync Status")
    assert [(r["Run ID"], r["Status"]) for r in status] == [
        (second.run_id, "running"),
        (first.run_id, "succeeded"),
    ]


def test_only_the_requested_tabs_and_their_pivots_are_written(loaded, settings, tmp_path):
    book = tmp_path / "ops.xlsx"
    result = sync_now(loaded, settings, f"xlsx:{book}", tabs=["Pricing", "KPI Daily"])
    daily = load_all_templates(settings)["KPI Daily"]
    expected = ["KPI Daily", *(p.title for p in daily.pivots), "Pricing"]
    assert load_workbook(book).sheetnames == expected
    assert [t.title for t in result.tabs][:2] == ["KPI Daily", "Pricing"]


def test_as_of_moves_the_window(loaded, settings, tmp_path) -> None:
    book = tmp_path / "ops.xlsx"
    earlier = LAST_DAY - dt.timedelta(days=2)
    sync_now(loaded, settings, f"xlsx:{book}", tabs=["KPI Daily"], as_of=earlier)
    days = {r["Date"].date() for r in sheet_records(book, "KPI Daily")}
    assert days and max(days) <= earlier


def test_unknown_tab_lists_the_valid_ones_and_records_nothing(loaded, settings, tmp_path):
    with pytest.raises(ConfigError, match=r"'KPI Dialy'.*KPI Daily, KPI Weekly"):
        sync_now(loaded, settings, f"xlsx:{tmp_path / 'x.xlsx'}", tabs=["KPI Dialy"])
    assert runs(loaded) == []


def test_a_failed_write_is_recorded_with_its_error(loaded, settings, tmp_path) -> None:
    target = tmp_path / "missing-folder" / "ops.xlsx"
    with pytest.raises(DestinationError, match=r"missing-folder does not exist; create it first"):
        sync_now(loaded, settings, f"xlsx:{target}", tabs=["Onboarding"], trigger="cron")
    (run,) = runs(loaded)
    assert (run["status"], run["trigger"]) == ("failed", "cron")
    assert "missing-folder" in run["error"] and "create it first" in run["error"]
    assert run["finished_at"] is not None and run["cells_written"] is None


def test_a_limit_failure_happens_before_writing(loaded, db_url, tmp_path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES / "tabs", templates / "tabs")
    path = templates / "tabs" / "onboarding.yaml"
    text = path.read_text().replace("title: Onboarding", "title: Onboarding of all the new sellers")
    path.write_text(text)
    settings = Settings.load(environ={}, database_url=db_url, templates_dir=templates)
    book = tmp_path / "ops.xlsx"
    sync_now(loaded, settings, f"xlsx:{book}", tabs=["Pricing"])
    before = book.read_bytes()
    with pytest.raises(
        LimitError,
        match=(
            r"tab 'Onboarding of all the new sellers': the title has 33 characters"
            r", xlsx allows at most 31"
        ),
    ):
        sync_now(
            loaded, settings, f"xlsx:{book}", tabs=["Pricing", "Onboarding of all the new sellers"]
        )
    assert book.read_bytes() == before
    failed = runs(loaded)[-1]
    assert failed["status"] == "failed" and "at most 31" in failed["error"]


def test_a_database_without_tables_says_to_run_init_db(settings, tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match="sheets-sync init-db"):
        sync_now(engine, settings, f"xlsx:{tmp_path / 'ops.xlsx'}")
    engine.dispose()


def test_a_bad_trigger_is_refused(loaded, settings, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"trigger 'nightly'.*cron"):
        sync_now(loaded, settings, f"xlsx:{tmp_path / 'ops.xlsx'}", trigger="nightly")
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.sync_runs)).scalar() == 0


# -- the CLI --------------------------------------------------------------------


def test_cli_sync_prints_a_summary_table(runner, loaded, db_url) -> None:
    result = runner.invoke(
        main,
        ["sync", "--to", "xlsx:out.xlsx", "--tabs", "KPI Daily, Pricing", "--database-url", db_url],
    )
    assert result.exit_code == 0, result.output
    for word in ("KPI Daily", "Pivot · Country × Week", "Pricing", "Rows", "Cells", "Seconds"):
        assert word in result.output
    assert "recorded in sync_runs" in result.output
    assert Path("out.xlsx").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "ops.xlsx"], "xlsx:PATH"),
        (["--tabs", "Nope"], "unknown tab(s) 'Nope'"),
        (["--as-of", "30/06/2025"], "Invalid value for '--as-of'"),
    ],
)
def test_cli_sync_errors_are_one_clear_line(runner, loaded, db_url, args, message) -> None:
    result = runner.invoke(main, ["sync", "--database-url", db_url, *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_tabs_lists_the_templates(runner) -> None:
    result = runner.invoke(main, ["tabs"])
    assert result.exit_code == 0, result.output
    for title in ("KPI Daily", "Pricing", "Sync Status", "Pivot · Country × Week"):
        assert title in result.output


def test_the_worked_example_report_syncs_on_both_databases(loaded, db_url, tmp_path) -> None:
    """README's "Adding a report": copy the example's YAML and SQL beside the others."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES / "tabs", templates / "tabs")
    shutil.copytree(TEMPLATES / "examples" / "sql", templates / "sql")
    shutil.copy(TEMPLATES / "examples" / "tabs" / "seller_coverage.yaml", templates / "tabs")
    settings = Settings.load(environ={}, database_url=db_url, templates_dir=templates)
    book = tmp_path / "ops.xlsx"
    sync_now(loaded, settings, f"xlsx:{book}", tabs=["Seller Coverage"])
    rows = {r["Seller ID"]: r for r in sheet_records(book, "Seller Coverage")}
    assert set(rows) == {"S1", "S2"}
    assert (rows["S1"]["Listings"], rows["S1"]["Products"], rows["S1"]["Markets"]) == (2, 1, 1)
    assert (rows["S2"]["Listings"], rows["S2"]["Products"]) == (2, 2)
    assert rows["S2"]["Seller"] == INJECTION
    assert rows["S1"]["Offline share"] == 0
    # created within the 28-day window: O1, O2 (S1) and O3, O4 (S2); O5 is older
    assert (rows["S1"]["Orders in window"], rows["S2"]["Orders in window"]) == (2, 2)
    assert "Pivot · Coverage" in load_workbook(book).sheetnames
