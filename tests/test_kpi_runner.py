"""The query runner: user SQL templates with binds, clear errors, typed and ordered frames.

Runs on SQLite and PostgreSQL; the same template must give the same frame on both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import INJECTION, TEMPLATES, order, shipped_template, write_template_files
from kpi_data import frame, load, records

from sheets_sync.errors import SheetsSyncError, TemplateError
from sheets_sync.kpis.registry import builtin_query, query_columns
from sheets_sync.kpis.runner import build_context, compute_frame, default_as_of, strip_sql_comments
from sheets_sync.tab_templates import load_template, load_templates

D = dt.datetime

SELLER_VOLUME_SQL = """
-- Orders per seller created in the window, and their share of the window's orders.
SELECT o.seller_id,
       s.name AS seller,
       COUNT(*) AS orders,
       SUM(o.offered_price) AS offered,
       SUM(o.offered_price) / COUNT(*) AS avg_offer,
       MIN(o.created_at) AS first_order,
       COUNT(*) * 1.0 / (SELECT COUNT(*) FROM tradein_orders
                         WHERE created_at >= :window_start
                           AND created_at < :window_end_exclusive) AS share,
       :as_of AS as_of
FROM tradein_orders o JOIN sellers s ON s.seller_id = o.seller_id
WHERE o.created_at >= :window_start AND o.created_at < :window_end_exclusive
GROUP BY o.seller_id, s.name
HAVING COUNT(*) >= :min_orders
ORDER BY COUNT(*) DESC
"""

SELLER_VOLUME_YAML = """
title: Seller Volume
sql: seller_volume.sql
key: [Seller ID]
window_days: 7
params: {min_orders: 2}
columns:
  - {header: Seller ID}
  - {header: Seller}
  - {header: Orders, type: integer}
  - {header: Offered, type: money}
  - {header: Average offer, source: avg_offer, type: decimal}
  - {header: First order, type: datetime}
  - {header: Share, type: percent}
  - {header: As of, type: date}
"""


def _write_template(root: Path, sql: str, yaml_text: str = SELLER_VOLUME_YAML) -> Path:
    return write_template_files(
        root / "tabs" / "seller_volume.yaml", yaml_text, root / "sql" / "seller_volume.sql", sql
    )


@pytest.fixture
def volume_orders():
    """Orders of the week to 2026-03-10, and two just outside it."""
    return [
        order("A1", D(2026, 3, 4, 0, 0, 0), seller_id="S1", offered_price=Decimal("10.00")),
        order("A2", D(2026, 3, 6, 12), seller_id="S1", offered_price=Decimal("10.00")),
        order("A3", D(2026, 3, 10, 23, 59, 59), seller_id="S1", offered_price=Decimal("10.01")),
        order("B1", D(2026, 3, 5, 8), seller_id="S2", offered_price=Decimal("99.99")),
        order("B2", D(2026, 3, 9, 8), seller_id="S2", offered_price=Decimal("0.50")),
        order("C1", D(2026, 3, 8, 8), seller_id="S3", offered_price=Decimal("5.00")),
        order("OLD", D(2026, 3, 3, 23, 59, 59), seller_id="S3"),
        order("NEW", D(2026, 3, 11, 0, 0, 0), seller_id="S3"),
    ]


def test_user_sql_template_runs_with_binds_and_params(engine, tmp_path, volume_orders):
    load(engine, volume_orders)
    _write_template(tmp_path, SELLER_VOLUME_SQL)
    tab = load_templates(tmp_path)["Seller Volume"]
    rows = records(frame(engine, tab, as_of=dt.date(2026, 3, 10)))
    assert rows == [
        {"Seller ID": "S1", "Seller": "Recommerce Pro", "Orders": 3, "Offered": Decimal("30.01"),
         "Average offer": Decimal("10.00"), "First order": D(2026, 3, 4), "Share": 0.5,
         "As of": dt.date(2026, 3, 10)},
        {"Seller ID": "S2", "Seller": INJECTION, "Orders": 2,
         "Offered": Decimal("100.49"), "Average offer": Decimal("50.25"),
         "First order": D(2026, 3, 5, 8), "Share": 0.333333, "As of": dt.date(2026, 3, 10)},
    ]  # fmt: skip


def test_bind_names_inside_sql_comments_are_ignored(engine, tmp_path, volume_orders):
    load(engine, volume_orders)
    commented = SELLER_VOLUME_SQL.replace(
        "-- Orders per seller",
        "-- Uses :as_of and :not_a_bind /* :nor_this */\n-- Orders per seller",
    ).replace("FROM tradein_orders o", "/* :window_start, ':quoted' */ FROM tradein_orders o")
    _write_template(tmp_path, commented)
    tab = load_templates(tmp_path)["Seller Volume"]
    plain = tmp_path / "plain"
    _write_template(plain, SELLER_VOLUME_SQL)
    expected = records(
        frame(engine, load_templates(plain)["Seller Volume"], as_of=dt.date(2026, 3, 10))
    )
    assert records(frame(engine, tab, as_of=dt.date(2026, 3, 10))) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1 -- :as_of", "SELECT 1 "),
        ("SELECT '--not a comment' AS a", "SELECT '--not a comment' AS a"),
        ("SELECT 'it''s /* kept */' AS a", "SELECT 'it''s /* kept */' AS a"),
        ('SELECT 1 AS "odd--name"', 'SELECT 1 AS "odd--name"'),
        ("SELECT 1/* gone */+2", "SELECT 1 +2"),
        ("SELECT x::date FROM t", "SELECT x::date FROM t"),
    ],
)
def test_strip_sql_comments_keeps_quoted_text(sql, expected):
    assert strip_sql_comments(sql) == expected


def test_user_sql_error_names_the_file_and_leaves_the_connection_usable(engine, tmp_path):
    load(engine, [order("O1", D(2026, 1, 1))])
    tab = load_template(_write_template(tmp_path, "SELECT seller_id, no_such_column FROM sellers"))
    daily = shipped_template("kpi_daily")
    with engine.connect() as conn:
        with pytest.raises(TemplateError) as error:
            compute_frame(conn, tab, build_context(conn, tab, as_of=dt.date(2026, 1, 1)))
        next_tab = compute_frame(conn, daily, build_context(conn, daily))
    message = str(error.value)
    assert "seller_volume.sql" in message and "no_such_column" in message
    assert "Fix:" in message and ":window_start" in message
    assert len(next_tab.rows) == 1


def test_missing_column_names_the_column_and_what_the_query_returns(engine, tmp_path):
    path = _write_template(tmp_path, "SELECT seller_id, name AS seller FROM sellers")
    load(engine, [])
    with pytest.raises(SheetsSyncError) as error:
        frame(engine, load_template(path), as_of=dt.date(2026, 1, 1))
    message = str(error.value)
    assert "seller_volume.sql" in message and "'orders'" in message and "'Orders'" in message
    assert "['seller_id', 'seller']" in message and "Fix:" in message


COERCION_SQL = """
SELECT 'K' AS seller_id, 3.0 AS orders, 1.005 AS offered, 2.675 AS avg_offer,
       '2026-02-03 04:05:06' AS first_order, 0.12345678 AS share, '2026-02-03' AS as_of,
       NULL AS seller
"""


def test_values_are_coerced_to_the_column_types_identically(engine, tmp_path):
    tab = load_template(_write_template(tmp_path, COERCION_SQL))
    (row,) = records(frame(engine, tab, as_of=dt.date(2026, 1, 1)))
    assert row == {
        "Seller ID": "K", "Seller": None, "Orders": 3, "Offered": Decimal("1.01"),
        "Average offer": Decimal("2.68"), "First order": D(2026, 2, 3, 4, 5, 6),
        "Share": 0.123457, "As of": dt.date(2026, 2, 3),
    }  # fmt: skip
    assert type(row["Orders"]) is int and type(row["Share"]) is float


def test_a_value_that_does_not_fit_its_type_is_a_clear_error(engine, tmp_path):
    sql = COERCION_SQL.replace("3.0 AS orders", "'lots' AS orders")
    tab = load_template(_write_template(tmp_path, sql))
    with pytest.raises(TemplateError, match=r"'lots'.*'orders'.*integer.*Fix:"):
        frame(engine, tab, as_of=dt.date(2026, 1, 1))


def test_rows_are_ordered_by_the_key_columns(engine, tmp_path):
    sql = "SELECT seller_id, name AS seller FROM sellers ORDER BY name DESC"
    yaml_text = """
        title: Sellers
        sql: seller_volume.sql
        key: [Seller]
        columns: [{header: Seller ID}, {header: Seller}]
    """
    load(engine, [])
    tab = load_template(_write_template(tmp_path, sql, yaml_text))
    result = frame(engine, tab, as_of=dt.date(2026, 1, 1))
    assert [r[1] for r in result.rows] == [INJECTION, "Recommerce Pro", "Tech Renew"]


def test_default_as_of_is_the_latest_event_day(engine):
    with engine.connect() as conn:
        yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        assert default_as_of(conn) == yesterday  # an empty database: the last complete day
    load(engine, [
        order("O1", D(2026, 5, 1), status="paid", shipped_at=D(2026, 5, 2),
              received_at=D(2026, 5, 3), inspected_at=D(2026, 5, 4),
              paid_at=D(2026, 5, 20, 23, 59), paid_price=Decimal("1")),
        order("O2", D(2026, 5, 10)),
    ])  # fmt: skip
    with engine.connect() as conn:
        assert default_as_of(conn) == dt.date(2026, 5, 20)


def test_context_merges_template_settings_over_query_defaults(engine, tmp_path):
    daily = shipped_template("kpi_daily")
    custom = dataclasses.replace(daily, window_days=None, params={"note": "x"})
    with engine.connect() as conn:
        context = build_context(
            conn, custom, as_of=dt.date(2026, 1, 31), filters={"country": ("FR",)}
        )
        assert context.window_days == builtin_query("kpi_daily").default_window_days == 90
        assert context.window_start == dt.date(2025, 11, 3)
        assert context.params == {"note": "x"} and context.filters == {"country": ("FR",)}
        assert context.dialect == engine.dialect.name
        assert build_context(conn, dataclasses.replace(daily, window_days=7)).window_days == 7


def test_unknown_builtin_query_is_a_template_error(engine):
    broken = dataclasses.replace(shipped_template("kpi_daily"), query="kpi_dayly")
    unknown = r"kpi_daily\.yaml: query: unknown built-in query 'kpi_dayly'\. Fix: use one of \["
    with engine.connect() as conn, pytest.raises(TemplateError, match=unknown):
        compute_frame(conn, broken, build_context(conn, broken, as_of=dt.date(2026, 1, 1)))


def test_shipped_kpi_templates_validate_with_their_pivots():
    tabs = load_templates(TEMPLATES, query_columns())
    assert [tabs[t].order for t in ("KPI Daily", "KPI Weekly", "KPI Monthly")] == [10, 20, 30]
    pivots = {p.title: p for p in tabs["KPI Daily"].pivots}
    country_week = pivots["Pivot · Country × Week"]
    assert (country_week.rows, country_week.columns) == (("Country",), ("Week",))
    assert [v.column for v in country_week.values] == ["Orders created", "Paid amount"]
    assert pivots["Pivot · Seller × Month"].rows == ("Seller",)
    assert any(f.column == "Orders attainment" for f in tabs["KPI Monthly"].conditional_formats)
