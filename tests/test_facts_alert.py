"""The alert ``facts_drift``: the quick facts check, evaluated in SQL like every metric.

The nightly run ends with the alerts evaluation; with the shipped rule, facts
that differ from the orders raise a critical alert saying what to run, and
clean facts raise nothing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from alerts_data import AS_OF, NOW, fired, rule
from helpers import TEMPLATES, order
from kpi_data import load, random_orders
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import facts
from sheets_sync.alerts.rules import load_rules
from sheets_sync.alerts.run import evaluate_and_notify
from sheets_sync.config import Settings
from sheets_sync.facts.triggers import create_triggers, drop_triggers
from sheets_sync.schema import tradein_orders

CREATED = dt.datetime.combine(AS_OF, dt.time(8)) - dt.timedelta(days=5)
PAID = CREATED + dt.timedelta(days=2)
DRIFT = rule("facts_drift", "overall", ("above", 0), window=28)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load(engine, random_orders(80, AS_OF - dt.timedelta(days=20), 15, seed=5))
    facts.refresh(engine)
    return engine


def _write_behind_the_triggers(engine: Engine) -> None:
    """An order written while the triggers were off (a restore, a careless script)."""
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(insert(tradein_orders).values(order(
            "LOST", CREATED, status="paid", paid_at=PAID, paid_price=10, csat=5)))  # fmt: skip
        create_triggers(conn)


def test_clean_facts_do_not_fire(loaded: Engine) -> None:
    assert fired(loaded, DRIFT) == []


def test_drift_fires_with_the_number_of_differing_measure_days(loaded: Engine) -> None:
    _write_behind_the_triggers(loaded)
    # created day: orders_created, offered_cents; paid day: paid, paid_cents, csat_sum,
    # csat_responses
    assert fired(loaded, DRIFT) == [("all", 6.0, 0.0, 6)]
    facts.rebuild(loaded)
    assert fired(loaded, DRIFT) == []


def test_only_the_rules_window_is_read(loaded: Engine) -> None:
    _write_behind_the_triggers(loaded)
    assert fired(loaded, rule("facts_drift", "overall", ("above", 0), window=1)) == []
    assert fired(loaded, DRIFT, as_of=PAID.date()) == [("all", 6.0, 0.0, 6)]
    assert fired(loaded, rule("facts_drift", "overall", ("above", 0), window=1),
                 as_of=PAID.date()) == [("all", 4.0, 0.0, 4)]  # fmt: skip


def test_the_shipped_rule_is_critical_and_says_what_to_run() -> None:
    (shipped,) = [r for r in load_rules(TEMPLATES / "alerts.yaml") if r.metric == "facts_drift"]
    assert (shipped.scope, shipped.condition.kind, shipped.condition.amount) == (
        "overall", "above", 0.0,
    )  # fmt: skip
    assert shipped.severity == "critical" and "sheets-sync facts rebuild" in shipped.description


def test_the_nightly_evaluation_raises_it_and_clears_it(loaded: Engine, db_url: str) -> None:
    """Through the hook the nightly job calls, with the shipped rules."""
    settings = Settings.load(environ={}, database_url=db_url, templates_dir=TEMPLATES)

    def raised() -> list[tuple[str, str, float]]:
        summary = evaluate_and_notify(loaded, settings, as_of=AS_OF, now=NOW)
        active = summary.raised + summary.ongoing
        return [(a["rule_id"], a["severity"], a["value"]) for a in active
                if a["metric"] == "facts_drift"]  # fmt: skip

    assert raised() == []
    _write_behind_the_triggers(loaded)
    assert raised() == [("facts_drift", "critical", 6.0)]
    facts.rebuild(loaded)
    assert raised() == []
