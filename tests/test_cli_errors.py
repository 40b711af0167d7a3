"""Bad input on the command line is one clear line and a non-zero exit, never a traceback.

Environment problems (an unwritable workbook, a bad database, bad data, a
broken template) exit 1 with ``Error: …``; bad option values are usage errors
(exit 2) naming the option. Nothing is computed, written or recorded first.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select, text

from sheets_sync import schema
from sheets_sync.cli import main
from sheets_sync.db import make_engine

as_root = pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes through file permissions; run as a normal user"
)


def assert_error_line(result: Result, message: str) -> None:
    """Exit 1 and exactly one line, ``Error: `` + ``message``."""
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [f"Error: {message}"], result.output


def assert_usage_error(result: Result, option: str, message: str) -> None:
    """Exit 2 and click's usage error naming the option, ending in one ``Error:`` line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last == f"Error: Invalid value for '{option}': {message}", result.output


def run_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.sync_runs)).scalar())
    finally:
        engine.dispose()


def load_demo(runner, url: str) -> None:
    args = ["demo-data", "--database-url", url, "--orders", "200", "--days", "10"]
    result = runner.invoke(main, [*args, "--end-date", "2025-06-30"])
    assert result.exit_code == 0, result.output


# -- the destination -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/proc/x.xlsx",
         "cannot write /proc/x.xlsx: folder /proc does not accept new files "
         "(No such file or directory); choose a folder you can write to"),
        ("{tmp}/book.xlsx",
         "cannot write {tmp}/book.xlsx: it is a folder; give a workbook file inside it, "
         "e.g. xlsx:{tmp}/book.xlsx/tradein-ops.xlsx"),
        ("{tmp}/missing/x.xlsx",
         "cannot write {tmp}/missing/x.xlsx: folder {tmp}/missing does not exist; create it first"),
    ],
)  # fmt: skip
def test_an_unwritable_workbook_fails_before_any_run(runner, db_url, tmp_path, target, message):
    (tmp_path / "book.xlsx").mkdir()
    target, message = target.format(tmp=tmp_path), message.format(tmp=tmp_path)
    result = runner.invoke(main, ["sync", "--database-url", db_url, "--to", f"xlsx:{target}"])
    assert_error_line(result, message)
    assert run_count(db_url) == 0


@as_root
def test_a_read_only_folder_fails_before_any_run(runner, db_url, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = runner.invoke(
            main, ["sync", "--database-url", db_url, "--to", f"xlsx:{folder}/x.xlsx"]
        )
    finally:
        folder.chmod(0o755)
    assert_error_line(
        result,
        f"cannot write {folder}/x.xlsx: folder {folder} does not accept new files "
        "(Permission denied); choose a folder you can write to",
    )
    assert run_count(db_url) == 0


def test_a_bad_destination_is_a_usage_error(runner, db_url):
    result = runner.invoke(main, ["sync", "--database-url", db_url, "--to", "xlsx:ops.csv"])
    assert_usage_error(
        result,
        "--to",
        "destination 'xlsx:ops.csv': a workbook path must end in .xlsx, e.g. xlsx:ops.xlsx",
    )


# -- the database --------------------------------------------------------------


@pytest.mark.parametrize("command", ["init-db", "demo-data", "sync"])
def test_a_non_numeric_port_names_the_url(runner, command):
    url = "postgresql+psycopg://u@h:abc/db"
    result = runner.invoke(main, [command, "--database-url", url])
    assert_error_line(
        result,
        f"SHEETS_SYNC_DATABASE_URL={url!r}: the port is not a number; write it as digits, "
        "e.g. postgresql+psycopg://user@127.0.0.1:5432/db",
    )


@pytest.mark.parametrize("command", ["init-db", "demo-data", "sync"])
def test_a_file_that_is_not_a_database_is_named(runner, tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100)
    result = runner.invoke(main, [command, "--database-url", f"sqlite:///{notes}"])
    assert_error_line(
        result,
        f"cannot connect to SQLite database {notes}: file is not a database. Check "
        "SHEETS_SYNC_DATABASE_URL: it must name a SQLite database file (or a new path, then "
        "run `sheets-sync init-db`).",
    )
    assert notes.read_text() == "shopping list\n" * 100


def test_text_in_a_timestamp_column_names_table_column_and_value(runner, tmp_path):
    """SQLite keeps any text in a DATETIME column (PostgreSQL refuses it on write)."""
    url = f"sqlite:///{tmp_path / 'tradein.db'}"
    load_demo(runner, url)
    engine = make_engine(url)
    with engine.begin() as conn:  # raw SQL: SQLAlchemy's DateTime type would refuse the text
        conn.execute(
            text(
                "UPDATE tradein_orders SET shipped_at = 'soon' "
                "WHERE order_id = (SELECT MIN(order_id) FROM tradein_orders)"
            )
        )
    engine.dispose()
    result = runner.invoke(main, ["sync", "--database-url", url, "--to", "xlsx:ops.xlsx"])
    assert_error_line(
        result,
        "tradein_orders.shipped_at holds a value that is not a timestamp (Invalid isoformat "
        "string: 'soon'); correct or clear it in the database (write timestamps as "
        "YYYY-MM-DD HH:MM:SS)",
    )
    assert not Path("ops.xlsx").exists()


# -- templates -----------------------------------------------------------------


@pytest.mark.parametrize("command", [["tabs"], ["sync", "--to", "xlsx:ops.xlsx"]])
def test_a_template_not_saved_as_utf8_names_the_file(
    runner, db_url, tmp_path, monkeypatch, command
):
    (tmp_path / "templates" / "tabs").mkdir(parents=True)
    path = tmp_path / "templates" / "tabs" / "onboarding.yaml"
    text = "query: onboarding\ntitle: Intégration\ncolumns: [{header: Seller ID}]\n"
    path.write_bytes(text.encode("cp1252"))
    monkeypatch.setenv("SHEETS_SYNC_TEMPLATES_DIR", str(tmp_path / "templates"))
    extra = ["--database-url", db_url] if command[0] == "sync" else []
    result = runner.invoke(main, [*command, *extra])
    assert_error_line(
        result,
        f"{path}: (file): not UTF-8 text (byte 0xE9 on line 2). Fix: save the file as "
        "UTF-8 (in your editor: Save with encoding → UTF-8)",
    )
    assert not Path("ops.xlsx").exists()


# -- options -------------------------------------------------------------------


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


DAY_OPTIONS = [
    pytest.param("sync", "--as-of", "as-of", "the data's last day", id="sync-as-of"),
    pytest.param("demo-data", "--end-date", "the end date", "yesterday (UTC)", id="demo-end-date"),
]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01",
         "0001-01-01 is before 2000-01-01, earlier than any trade-in data; give a day from "
         "2000-01-01 to today ({today}, UTC)"),
        ("1999-12-31",
         "1999-12-31 is before 2000-01-01, earlier than any trade-in data; give a day from "
         "2000-01-01 to today ({today}, UTC)"),
        ("9999-12-31",
         "{what} is in the future: 9999-12-31 is after today ({today}, UTC); give a day up to "
         "today, or leave the option out for {default}"),
        ("{in_two_days}",
         "{what} is in the future: {in_two_days} is after today ({today}, UTC); give a day up "
         "to today, or leave the option out for {default}"),
        ("30/06/2025", "'30/06/2025' is not a day; write it as YYYY-MM-DD"),
        ("2025-02-30", "'2025-02-30' is not a day; write it as YYYY-MM-DD"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(("command", "option", "what", "default"), DAY_OPTIONS)
def test_a_day_outside_its_range_is_a_usage_error(
    runner, db_url, command, option, what, default, value, message
):
    today = _today()
    names = {"today": today, "in_two_days": today + dt.timedelta(days=2)}
    args = [command, "--database-url", db_url, option, value.format(**names)]
    result = runner.invoke(main, args)
    assert_usage_error(result, option, message.format(**names, what=what, default=default))
    assert run_count(db_url) == 0


@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_tabs_naming_no_tab_is_a_usage_error(runner, db_url, value):
    result = runner.invoke(main, ["sync", "--database-url", db_url, "--tabs", value])
    assert_usage_error(
        result,
        "--tabs",
        f'{value!r} names no tab; give titles separated by commas, e.g. "KPI Daily,Pricing", '
        "or leave the option out to sync every tab",
    )
    assert run_count(db_url) == 0
    assert not Path("tradein-ops.xlsx").exists()
