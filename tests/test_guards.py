"""Guards that stop a sync before it damages the team's sheet: as-of, repeated keys, shrink."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fixtures_sync import LAST_DAY
from helpers import TEMPLATES, order
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from test_sync import sheet_records

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError, DataError, ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.guards import check_shrink, check_unique_keys, resolve_as_of
from sheets_sync.jobs.run import sync_now
from sheets_sync.sync import load_all_templates

NOW = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)


def add_order(engine: Engine, order_id: str, created: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders), [order(order_id, created, seller_id="S1")])


# --- as-of ------------------------------------------------------------------------------


def test_default_as_of_is_the_data_last_day(loaded: Engine) -> None:
    with loaded.connect() as conn:
        resolved = resolve_as_of(conn, None, now=NOW)
    assert (resolved.day, resolved.orders_after, resolved.warnings) == (LAST_DAY, 0, [])


def test_an_order_dated_in_the_future_does_not_move_the_as_of_day(loaded: Engine) -> None:
    add_order(loaded, "FUTURE", dt.datetime(2027, 3, 1, 9))
    with loaded.connect() as conn:
        resolved = resolve_as_of(conn, None, now=NOW)
    assert resolved.day == LAST_DAY
    assert (resolved.orders_after, resolved.orders_future) == (0, 1)
    assert resolved.warnings == [
        "1 order(s) have events dated after today (2026-12-01, UTC); those events are not "
        "counted: check the source system's clock"
    ]


def test_an_empty_database_is_synced_as_of_yesterday(engine: Engine) -> None:
    with engine.connect() as conn:
        resolved = resolve_as_of(conn, None, now=NOW)
    assert resolved.day == dt.date(2026, 11, 30)


def test_today_is_not_a_complete_day_yet(engine: Engine) -> None:
    with engine.connect() as conn:
        assert resolve_as_of(conn, dt.date(2026, 11, 30), now=NOW).day == dt.date(2026, 11, 30)
        with pytest.raises(ConfigError, match=r"^as-of 2026-12-01 is not a complete day yet"):
            resolve_as_of(conn, dt.date(2026, 12, 1), now=NOW)


def test_an_earlier_as_of_says_which_events_it_does_not_count(loaded: Engine) -> None:
    with loaded.connect() as conn:
        resolved = resolve_as_of(conn, LAST_DAY - dt.timedelta(days=2), now=NOW)
    # O2 (shipped), O3 (cancelled) and O4 (paid) have events on the last day; O1 was
    # created three days before it and O5 200 days before.
    assert (resolved.orders_after, resolved.orders_future) == (3, 0)
    assert resolved.warnings == [
        "3 order(s) have events after 2025-06-28 (the as-of day); those events are not "
        "counted in any tab (the orders' earlier events are), a sync as of a later day "
        "counts them"
    ]


def test_a_past_as_of_and_a_future_order_are_two_warnings(loaded: Engine) -> None:
    add_order(loaded, "FUTURE", dt.datetime(2027, 3, 1, 9))
    with loaded.connect() as conn:
        resolved = resolve_as_of(conn, LAST_DAY - dt.timedelta(days=2), now=NOW)
    assert (resolved.orders_after, resolved.orders_future) == (3, 1)
    assert [w.split(";")[0] for w in resolved.warnings] == [
        "3 order(s) have events after 2025-06-28 (the as-of day)",
        "1 order(s) have events dated after today (2026-12-01, UTC)",
    ]
    assert "clock" in resolved.warnings[1] and "clock" not in resolved.warnings[0]


def test_a_future_order_leaves_the_keyed_tabs_and_their_notes_alone(
    loaded: Engine, settings: Settings, tmp_path: Path
) -> None:
    book = tmp_path / "ops.xlsx"
    first = sync_now(loaded, settings, f"xlsx:{book}", tabs=["KPI Daily"])
    before = sheet_records(book, "KPI Daily")
    add_order(
        loaded, "FUTURE", dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=40)
    )
    second = sync_now(loaded, settings, f"xlsx:{book}", tabs=["KPI Daily"])
    assert first.as_of == second.as_of == LAST_DAY
    assert sheet_records(book, "KPI Daily") == before
    assert len(second.warnings) == 1
    assert "1 order(s) have events dated after today" in second.warnings[0]


# --- repeated keys ----------------------------------------------------------------------


def frame_of(title: str, key: list[str], rows: list[tuple[object, ...]]) -> TabFrame:
    template = load_all_templates(Settings.load(environ={}, templates_dir=TEMPLATES))[title]
    assert list(template.key) == key
    width = len(template.columns)
    padded = [tuple(row) + (None,) * (width - len(row)) for row in rows]
    return TabFrame(template, padded)


def test_repeated_keys_name_the_tab_the_key_and_an_example() -> None:
    frame = frame_of("Onboarding", ["Seller ID"], [("S1",), ("S2",), ("S1",), ("S1",)])
    with pytest.raises(DataError) as caught:
        check_unique_keys([frame])
    assert str(caught.value) == (
        "tab 'Onboarding': 1 key(s) appear more than once in the data (key ['Seller ID']); "
        "e.g. Seller ID='S1' appears 3 times. Nothing was written: make the query return "
        "one row per key, or change `key:` in its template"
    )


def test_unique_keys_pass() -> None:
    check_unique_keys([frame_of("Onboarding", ["Seller ID"], [("S1",), ("S2",)])])


DUPLICATING_TAB = """\
title: Doubles
sql: doubles.sql
key: [Seller ID]
columns:
  - {header: Seller ID, type: text}
  - {header: Orders, type: integer}
"""
DUPLICATING_SQL = "SELECT seller_id, 1 AS orders FROM tradein_orders"


def test_a_query_returning_repeated_keys_writes_nothing(
    loaded: Engine, db_url: str, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "tabs" / "doubles.yaml").write_text(DUPLICATING_TAB)
    (templates / "sql" / "doubles.sql").write_text(DUPLICATING_SQL)
    settings = Settings.load(environ={}, database_url=db_url, templates_dir=templates)
    book = tmp_path / "ops.xlsx"
    sync_now(loaded, settings, f"xlsx:{book}", tabs=["Onboarding"])
    written = book.read_bytes()
    with pytest.raises(DataError, match=r"^tab 'Doubles': 2 key\(s\) appear more than once"):
        sync_now(loaded, settings, f"xlsx:{book}", tabs=["Onboarding", "Doubles"])
    assert book.read_bytes() == written
    assert "Doubles" not in load_workbook(book).sheetnames


# --- shrinking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "kept", "allow", "refused"),
    [
        (10, 5, False, False),  # exactly half removed: allowed
        (10, 4, False, True),  # more than half
        (10, 0, False, True),  # everything
        (1, 0, False, False),  # a one-row tab emptied: too small to guard
        (2, 0, False, False),
        (3, 0, False, True),  # the smallest guarded tab
        (3, 1, False, True),
        (10, 0, True, False),  # --allow-shrink
        (0, 0, False, False),  # a new tab
        (10, 12, False, False),  # growing
    ],
)
def test_shrink_guard(current: int, kept: int, allow: bool, refused: bool) -> None:
    if not refused:
        check_shrink("KPI Daily", current, kept, 0.5, allow)
        return
    with pytest.raises(ShrinkError) as caught:
        check_shrink("KPI Daily", current, kept, 0.5, allow)
    assert str(caught.value) == (
        f"tab 'KPI Daily': this sync would remove {current - kept:,} of its {current:,} rows "
        "(more than 50%); nothing was written. If the database is complete and the shrink "
        "is expected, run again with --allow-shrink"
    )


@pytest.mark.parametrize("share", ["0", "1.5", "-0.1"])
def test_max_shrink_share_must_be_a_share(share: str) -> None:
    with pytest.raises(ConfigError, match=r"^SHEETS_SYNC_MAX_SHRINK_SHARE="):
        Settings.load(environ={"SHEETS_SYNC_MAX_SHRINK_SHARE": share})
