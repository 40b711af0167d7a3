"""The daily facts: incremental refresh equals a full rebuild, whatever changes the orders.

Random changes (hypothesis) of every kind a writer can make — created day moved,
events set or cleared, prices, CSAT, grades, seller or market changed, orders
inserted and deleted, a product moved to another category — are written with
plain SQL (the triggers see them as any writer's), then the facts are refreshed
incrementally and compared, row for row, with a full computation from the
orders; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_data import load, random_orders
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.engine import Engine

from sheets_sync import facts, schema
from sheets_sync.cli import main
from sheets_sync.facts.maintain import exclusive, rebuild_in, refresh_in
from sheets_sync.facts.triggers import drop_triggers
from sheets_sync.schema import kpi_daily_facts, kpi_fact_changes, tradein_orders

START = dt.date(2025, 3, 1)
ORDERS = 120


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load(engine, random_orders(ORDERS, START, 40, seed=11))
    facts.refresh(engine)
    return engine


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(kpi_daily_facts)).all())


def _assert_equal_to_full(engine: Engine) -> None:
    reports = facts.check(engine)
    assert [(r.table, r.missing, r.extra, r.samples) for r in reports] == [
        (r.table, 0, 0, []) for r in reports
    ]


# -- random changes -----------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=ORDERS - 1).map(lambda i: f"R{i:04d}")
shift = st.integers(min_value=-20, max_value=20).map(lambda d: dt.timedelta(days=d, hours=d))
EVENTS = ("created_at", "shipped_at", "received_at", "inspected_at", "counter_answered_at",
          "paid_at", "cancelled_at", "returned_at")  # fmt: skip

change = st.one_of(
    st.tuples(st.just("move"), ids, st.sampled_from(EVENTS), shift),
    st.tuples(st.just("clear"), ids, st.sampled_from(EVENTS[1:]), st.none()),
    st.tuples(st.just("set"), ids, st.sampled_from(EVENTS[1:]), shift),
    st.tuples(st.just("csat"), ids, st.just("csat"), st.sampled_from([None, 1, 2, 5])),
    st.tuples(st.just("price"), ids, st.sampled_from(["paid_price", "offered_price"]),
              st.integers(1, 99_999).map(lambda c: Decimal(c) / 100)),
    st.tuples(st.just("value"), ids, st.just("seller_id"), st.sampled_from(["S1", "S2", "S3"])),
    st.tuples(st.just("value"), ids, st.just("country"), st.sampled_from(["FR", "DE", "IT"])),
    st.tuples(st.just("value"), ids, st.just("product_id"), st.sampled_from(["P1", "P2", "P3"])),
    st.tuples(st.just("value"), ids, st.just("counter_offer_status"),
              st.sampled_from([None, "accepted", "refused", "expired"])),
    st.tuples(st.just("value"), ids, st.just("inspected_grade"),
              st.sampled_from([None, "flawless", "cracked", "nf_cracked"])),
    st.tuples(st.just("value"), ids, st.just("suspended_reason"),
              st.sampled_from([None, "", "IMEI blacklisted"])),
    st.tuples(st.just("delete"), ids, st.none(), st.none()),
    st.tuples(st.just("insert"), st.integers(0, 10**6).map(lambda i: f"N{i:07d}"), st.none(),
              shift),
    st.tuples(st.just("category"), st.sampled_from(["P1", "P2", "P3"]), st.none(),
              st.sampled_from(["smartphone", "tablet", "laptop"])),
)  # fmt: skip


def _apply(engine: Engine, changes: list[tuple[str, str, str | None, Any]]) -> None:
    """Each change as one SQL statement, in one transaction (as a writer would)."""
    o = tradein_orders.c
    with engine.begin() as conn:
        for kind, key, column, value in changes:
            where = o.order_id == key
            if kind == "move":
                current = conn.execute(select(o[column]).where(where)).scalar()
                if current is not None:
                    conn.execute(update(tradein_orders).where(where)
                                 .values({column: current + value}))  # fmt: skip
            elif kind == "set":
                base = dt.datetime.combine(START, dt.time(12)) + dt.timedelta(days=20)
                conn.execute(update(tradein_orders).where(where).values({column: base + value}))
            elif kind in ("clear", "csat", "price", "value"):
                conn.execute(update(tradein_orders).where(where).values({column: value}))
            elif kind == "delete":
                conn.execute(delete(tradein_orders).where(where))
            elif kind == "insert" and not conn.execute(select(o.order_id).where(where)).first():
                created = dt.datetime.combine(START, dt.time(9)) + abs(value)
                conn.execute(insert(tradein_orders).values(_new_order(key, created)))
            elif kind == "category":
                p = schema.products.c
                conn.execute(update(schema.products).where(p.product_id == key)
                             .values(category=value))  # fmt: skip


def _new_order(key: str, created: dt.datetime) -> dict[str, Any]:
    return {
        "order_id": key, "seller_id": "S2", "product_id": "P1", "country": "FR",
        "declared_grade": "good", "offered_price": Decimal("120.50"), "currency": "EUR",
        "status": "paid", "created_at": created, "shipped_at": created + dt.timedelta(days=1),
        "received_at": created + dt.timedelta(days=2),
        "inspected_at": created + dt.timedelta(days=3), "inspected_grade": "used",
        "paid_at": created + dt.timedelta(days=5), "paid_price": Decimal("99.99"), "csat": 4,
    }  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(change, min_size=1, max_size=12), min_size=1, max_size=3))
def test_incremental_refresh_equals_full_rebuild(loaded: Engine, batches: list) -> None:
    for batch in batches:
        _apply(loaded, batch)
        facts.refresh(loaded)
    _assert_equal_to_full(loaded)
    incremental = _stored(loaded)
    facts.rebuild(loaded)
    assert _stored(loaded) == incremental


# -- what a refresh does ----------------------------------------------------------------


def _log_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(kpi_fact_changes)).scalar_one())


def test_refresh_applies_only_the_logged_changes_then_empties_the_log(loaded: Engine) -> None:
    assert facts.refresh(loaded).mode == "none"
    _apply(loaded, [("move", "R0003", "created_at", dt.timedelta(days=-2)),
                    ("clear", "R0004", "paid_at", None)])  # fmt: skip
    assert _log_rows(loaded) == 4  # old and new image of each changed order
    report = facts.refresh(loaded)
    assert (report.mode, report.changes, _log_rows(loaded)) == ("incremental", 4, 0)
    _assert_equal_to_full(loaded)


def test_a_moved_category_rebuilds_in_full(loaded: Engine) -> None:
    _apply(loaded, [("category", "P3", None, "console")])
    assert facts.refresh(loaded).mode == "full"
    with loaded.connect() as conn:
        categories = set(conn.execute(select(kpi_daily_facts.c.category).distinct()).scalars())
    assert "console" in categories and "laptop" not in categories
    _assert_equal_to_full(loaded)


def test_facts_never_built_are_built_in_full(engine: Engine) -> None:
    load(engine, random_orders(30, START, 10))
    with engine.begin() as conn:
        conn.execute(delete(schema.kpi_fact_state))
    assert facts.refresh(engine).mode == "full"
    _assert_equal_to_full(engine)


def test_facts_marked_unbuilt_are_rebuilt_in_full_by_the_next_refresh(loaded: Engine) -> None:
    """The cold path (a bulk load's mark, the benchmark's): the next refresh builds from
    every order, so a write no trigger logged is counted too."""
    with loaded.begin() as conn:
        drop_triggers(conn)
        conn.execute(update(tradein_orders).values(csat=None))
        facts.mark_unbuilt(conn)
    assert facts.refresh(loaded).mode == "full"
    _assert_equal_to_full(loaded)


def test_the_full_build_hashes_its_groups_then_restores_the_planner(engine: Engine) -> None:
    """PostgreSQL: the build's grouped branches run with sort-based grouping off (the
    planner would sort every order once per event), and the rest of the transaction
    plans as before."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite always sorts to group: no planner setting to change")
    load(engine, random_orders(30, START, 10))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    setting = "SELECT current_setting('enable_sort')"
    with exclusive(engine) as conn:
        before = conn.exec_driver_sql(setting).scalar()
        event.listen(engine, "before_cursor_execute", record)
        try:
            rebuild_in(conn)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        after = conn.exec_driver_sql(setting).scalar()
    assert (before, after) == ("on", "on")
    build = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO kpi_daily_facts"))
    off = statements.index("SET LOCAL enable_sort = off")
    assert off < build
    _assert_equal_to_full(engine)


def test_concurrent_refreshes_apply_each_change_once(loaded: Engine) -> None:
    """Two syncs of different spreadsheets refresh at once: the database-wide lock
    serialises them, and neither applies a change the other already applied."""
    _apply(loaded, [("move", f"R{i:04d}", "created_at", dt.timedelta(days=3)) for i in range(40)])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            facts.refresh(loaded)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    _assert_equal_to_full(loaded)


def test_a_failed_refresh_changes_nothing(loaded: Engine) -> None:
    _apply(loaded, [("clear", "R0005", "shipped_at", None)])
    before = _stored(loaded)
    with pytest.raises(RuntimeError), exclusive(loaded) as conn:
        refresh_in(conn)
        raise RuntimeError("crash after the deltas, before the commit")
    assert (_stored(loaded), _log_rows(loaded)) == (before, 2)
    _assert_equal_to_full(loaded)


# -- the command line ---------------------------------------------------------------------


def test_cli_check_reports_a_difference_and_rebuild_repairs_it(loaded: Engine, runner) -> None:
    url = loaded.url.render_as_string(hide_password=False)
    ok = runner.invoke(main, ["facts", "check", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    assert "kpi_daily_facts: identical to a full rebuild." in ok.output
    with loaded.begin() as conn:  # a writer the log does not see: the triggers are gone
        drop_triggers(conn)
        conn.execute(update(tradein_orders).values(csat=None))
    bad = runner.invoke(main, ["facts", "check", "--database-url", url])
    assert bad.exit_code == 1
    assert "row(s) missing" in bad.output and "sheets-sync facts rebuild" in bad.output
    fixed = runner.invoke(main, ["facts", "rebuild", "--database-url", url])
    assert fixed.exit_code == 0 and "rebuilt in full" in fixed.output
    assert runner.invoke(main, ["facts", "check", "--database-url", url]).exit_code == 0


def test_a_bulk_load_logs_nothing_and_leaves_the_first_sync_nothing_to_build(
    engine: Engine,
) -> None:
    """The demo loader's path: no log row per loaded order; the loader builds the facts and
    counts the win model's window, so the first sync after it builds nothing."""
    from sheets_sync.demo import DemoSpec, generate
    from sheets_sync.guards import as_of_day
    from sheets_sync.winmodel.counts import is_counted, window
    from sheets_sync.winmodel.fit import FIT_DAYS

    summary = generate(engine, DemoSpec(orders=2_000, days=30, end_date=START, seed=5))
    assert _log_rows(engine) == 0 and summary.prepare_seconds > 0
    assert facts.refresh(engine).mode == "none"
    _assert_equal_to_full(engine)
    with engine.connect() as conn:
        assert is_counted(conn, *window(as_of_day(conn, None), FIT_DAYS))
    _apply(engine, [])  # the triggers are back: a write after the load is logged
    with engine.begin() as conn:
        conn.execute(update(tradein_orders).where(tradein_orders.c.csat == 5).values(csat=4))
    assert _log_rows(engine) > 0
    assert facts.refresh(engine).mode == "incremental"
    _assert_equal_to_full(engine)
