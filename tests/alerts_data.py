"""Builders the alerts tests share: rules in code, orders with a given outcome, runs, a rules file."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

from helpers import order
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync.alerts.evaluate import Finding, evaluate
from sheets_sync.alerts.rules import Condition, Rule

AS_OF = dt.date(2025, 6, 10)
NOON = dt.datetime(2025, 6, 10, 12)
NOW = dt.datetime(2025, 6, 11, 6)
"""The nightly run the morning after AS_OF."""


def rule(
    metric: str,
    scope: str = "seller",
    condition: tuple[str, float] = ("above", 0.0),
    *,
    window: int = 7,
    min_volume: int = 0,
    trailing_days: int = 28,
    id: str = "r1",
    severity: str = "warning",
    notify: tuple[str, ...] = ("slack", "email"),
) -> Rule:
    kind, amount = condition
    return Rule(
        id=id, description=f"{metric} {kind} {amount}", metric=metric, scope=scope,
        window=window, condition=Condition(kind, amount, trailing_days),
        min_volume=min_volume, severity=severity, notify=notify,
    )  # fmt: skip


def inspected(
    prefix: str, count: int, at: dt.datetime, *, counter: int = 0, late: int = 0, **fields: Any
) -> list[dict[str, Any]]:
    """``count`` orders inspected at ``at``: the first ``counter`` got a counter-offer, the
    first ``late`` were inspected 49 h after reception (outside the SLA), the rest 2 h after."""
    rows = []
    for i in range(count):
        received = at - dt.timedelta(hours=49 if i < late else 2)
        values = {
            "status": "validated", "shipped_at": received - dt.timedelta(days=1),
            "received_at": received, "inspected_at": at, "inspected_grade": "good",
            "counter_offer_price": 90 if i < counter else None, **fields,
        }  # fmt: skip
        rows.append(order(f"{prefix}{i:03d}", received - dt.timedelta(days=3), **values))
    return rows


def created(prefix: str, count: int, at: dt.datetime, **fields: Any) -> list[dict[str, Any]]:
    return [order(f"{prefix}{i:03d}", at, **fields) for i in range(count)]


def run_row(run_id: str, when: dt.datetime, status: str = "failed", kind: str = "sync") -> dict:
    return {
        "run_id": run_id, "kind": kind, "spreadsheet": "gsheets:abc", "trigger": "cron",
        "status": status, "queued_at": when, "started_at": when,
        "error": "boom" if status == "failed" else None,
    }  # fmt: skip


def insert_rows(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(table), rows)


def fired(engine: Engine, *rules: Rule, as_of: dt.date = AS_OF, now: dt.datetime = NOW) -> list:
    """(scope key, value, threshold, volume) of every finding, values rounded."""
    with engine.connect() as conn:
        found: list[Finding] = evaluate(conn, rules, as_of, now)
    return [(f.scope_key, round(f.value, 4), round(f.threshold, 4), f.volume) for f in found]


def write_rules(folder: Path, text: str) -> Path:
    path = folder / "alerts.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path
