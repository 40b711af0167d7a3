"""Every built-in KPI query compiles under the BigQuery SQLAlchemy dialect.

The warehouse path of docs/scaling.md: when one PostgreSQL is no longer enough,
the same queries run in BigQuery. Compile only (no network, no credentials): the
statement built for each query is rendered by ``sqlalchemy_bigquery``'s dialect
with literal binds, so a construct BigQuery cannot spell fails here, not in
production. The dialect-specific pieces live in ``vocabulary/sqlfuncs.py``.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from sheets_sync.facts.measures import daily_facts, suspension_facts
from sheets_sync.kpis.registry import BUILTIN_QUERIES
from sheets_sync.schema import kpi_fact_changes, tradein_orders

if os.environ.get("CI") == "true":  # in the [test] extra: CI must have it
    import sqlalchemy_bigquery as bigquery
else:
    bigquery = pytest.importorskip("sqlalchemy_bigquery")

NOT_BIGQUERY = ("julianday(", "date_trunc('", "COLLATE BINARY", 'COLLATE "C"', "EXTRACT(EPOCH")
FILTERS = {"seller_id": ("S1",), "country": ("FR", "DE"), "category": ("smartphone",)}


@pytest.mark.parametrize("name", sorted(BUILTIN_QUERIES))
@pytest.mark.parametrize("filters", [{}, FILTERS], ids=["all", "filtered"])
def test_builtin_query_compiles_for_bigquery(name: str, filters: dict) -> None:
    query = BUILTIN_QUERIES[name]
    context = query.context(dt.date(2026, 10, 31), filters=filters, dialect="bigquery")
    assert_bigquery(name, query.build(context))


@pytest.mark.parametrize("source", [tradein_orders, kpi_fact_changes], ids=["full", "delta"])
def test_fact_builds_compile_for_bigquery(source) -> None:
    """The facts themselves (full build and delta) are warehouse SQL too."""
    assert_bigquery("daily facts", daily_facts(source))
    assert_bigquery("suspension facts", suspension_facts(source))


def assert_bigquery(name: str, statement) -> None:
    sql = str(
        statement.compile(
            dialect=bigquery.BigQueryDialect(), compile_kwargs={"literal_binds": True}
        )
    )
    assert sql.lstrip().upper().startswith(("SELECT", "WITH"))
    for construct in NOT_BIGQUERY:
        assert construct not in sql, f"{name}: {construct} is not BigQuery SQL"
