"""The database commands of the CLI: init-db, demo-data, demo — and their error paths."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from sheets_sync import schema
from sheets_sync.cli import main
from sheets_sync.db import make_engine


def order_stats(url: str) -> tuple[int, dt.datetime | None]:
    """How many orders the database holds, and the latest creation time."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(func.count(), func.max(schema.tradein_orders.c.created_at))
            ).one()
    finally:
        engine.dispose()
    return int(row[0]), row[1]


def demo_data(runner, url: str, *extra: str):
    args = ["demo-data", "--database-url", url, "--seed", "3", "--end-date", "2025-06-30"]
    return runner.invoke(main, [*args, "--days", "20", *extra])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_init_db_is_idempotent_and_keeps_data(runner, db_url):
    assert demo_data(runner, db_url, "--orders", "300").exit_code == 0
    for _ in range(2):
        result = runner.invoke(main, ["init-db", "--database-url", db_url])
        assert result.exit_code == 0, result.output
        assert "Schema ready" in result.output
    assert order_stats(db_url)[0] == 300


def test_demo_data_loads_the_requested_window(runner, db_url):
    result = demo_data(runner, db_url, "--orders", "800")
    assert result.exit_code == 0, result.output
    assert "Loaded 800 orders" in result.output
    assert "2025-06-11 to 2025-06-30, seed 3" in result.output
    count, latest = order_stats(db_url)
    assert count == 800
    assert latest is not None and latest.date() == dt.date(2025, 6, 30)


def test_demo_data_refuses_existing_data_then_replaces_it(runner, db_url):
    assert demo_data(runner, db_url, "--orders", "800").exit_code == 0
    refused = demo_data(runner, db_url, "--orders", "500")
    assert_one_line_error(refused, "already holds data", "800 rows in tradein_orders", "--replace")
    assert order_stats(db_url)[0] == 800
    replaced = demo_data(runner, db_url, "--orders", "500", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert order_stats(db_url)[0] == 500


def test_demo_data_reads_the_url_from_the_environment(runner, db_url, monkeypatch):
    monkeypatch.setenv("SHEETS_SYNC_DATABASE_URL", db_url)
    result = runner.invoke(main, ["demo-data", "--orders", "200", "--days", "10"])
    assert result.exit_code == 0, result.output
    count, latest = order_stats(db_url)
    assert count == 200
    assert latest is not None and latest.date() < dt.datetime.now(dt.UTC).date()


def test_demo_builds_tradein_db_in_an_empty_directory(runner, tmp_path):
    result = runner.invoke(main, ["demo", "--orders", "1000"])
    assert result.exit_code == 0, result.output
    assert "Loaded 1,000 orders" in result.output
    assert re.search(r"^Alerts: \d+ active \(see the Alerts tab\)$", result.output, re.M)
    assert (tmp_path / "tradein.db").is_file()
    count, latest = order_stats(f"sqlite:///{tmp_path / 'tradein.db'}")
    assert count == 1000
    assert latest is not None and latest.date() == dt.datetime.now(dt.UTC).date() - dt.timedelta(1)


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        ("not-a-url", ("is not a database URL", "sqlite:///")),
        ("mysql://user@localhost/db", ("unsupported database 'mysql'",)),
        ("postgresql+psycopg://postgres@127.0.0.1:1/tradein", ("cannot connect", "127.0.0.1:1")),
    ],
)
@pytest.mark.parametrize("command", ["init-db", "demo-data"])
def test_database_errors_are_one_clear_line(runner, url, fragments, command):
    result = runner.invoke(main, [command, "--database-url", url])
    assert_one_line_error(result, *fragments)


def test_bad_url_in_the_environment_names_the_variable(runner, monkeypatch):
    monkeypatch.setenv("SHEETS_SYNC_DATABASE_URL", "tradein.db")
    result = runner.invoke(main, ["demo-data"])
    assert_one_line_error(result, "SHEETS_SYNC_DATABASE_URL")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--end-date", "2025-13-01"], "--end-date"),
        (["--days", "3"], "--days"),
        (["--orders", "-5"], "--orders"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_bad_options_are_usage_errors(runner, args, option):
    result = runner.invoke(main, ["demo-data", *args])
    assert result.exit_code == 2
    assert option in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["init-db", "demo-data", "demo"])
def test_every_command_has_help_with_an_example(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"sheets-sync {command}" in result.output
