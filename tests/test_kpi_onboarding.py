"""Onboarding rows equal a plain-Python reading of the onboarding steps, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import shipped_template
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.errors import TemplateError
from sheets_sync.kpis import onboarding
from sheets_sync.schema import ONBOARDING_STEPS

AS_OF = dt.date(2026, 7, 15)
MIDNIGHT = dt.datetime.combine(AS_OF, dt.time())
C1, C2, C3, C4, C5 = ONBOARDING_STEPS


def at(days_before: float, seconds: int = 0) -> dt.datetime:
    return MIDNIGHT - dt.timedelta(days=days_before) + dt.timedelta(seconds=seconds)


SELLERS: dict[str, dict[str, Any]] = {
    # status, HQ country, created, {step: completed_at} (a missing step has no row)
    "A": {"status": "onboarding", "country": "FR", "created": at(30),
          "steps": {C1: at(25), C2: at(20, 3600), C3: None, C4: None, C5: None}},
    "B": {"status": "active", "country": "FR", "created": at(90),
          "steps": {s: at(80 - i) for i, s in enumerate(ONBOARDING_STEPS)}},  # done: not listed
    "C": {"status": "onboarding", "country": "DE", "created": at(40),
          "steps": {C1: at(39), C3: at(13, 86399)}},  # out of order: still on step 2
    "D": {"status": "onboarding", "country": "DE", "created": at(14, 86399), "steps": {}},
    "E": {"status": "onboarding", "country": "DE", "created": at(15), "steps": {}},
    "F": {"status": "offboarded", "country": "FR", "created": at(60),
          "steps": {C1: at(59)}},  # gave up: not listed
    "G": {"status": "active", "country": "IT", "created": at(50),
          "steps": {C1: at(49), C2: at(48), C3: at(47), C4: at(46),
                    C5: at(-1)}},  # the last step only comes after as_of
    "H": {"status": "onboarding", "country": "FR", "created": at(-2),
          "steps": {}},  # signs up after as_of: not listed yet
    "I": {"status": "paused", "country": "IT", "created": at(20),
          "steps": {C1: at(19), C2: at(0, 86399)}},  # progress on as_of itself
    "J": {"status": "onboarding", "country": "FR", "created": at(5, 7200),
          "steps": {C1: at(5)}},  # a step "completed" before sign-up (bad clock)
}  # fmt: skip


def load(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(schema.sellers), [
            {"seller_id": s, "name": f"Seller {s}", "country": v["country"],
             "status": v["status"], "created_at": v["created"]} for s, v in SELLERS.items()
        ])  # fmt: skip
        conn.execute(insert(schema.seller_onboarding), [
            {"seller_id": s, "step": step, "completed_at": done}
            for s, v in SELLERS.items() for step, done in v["steps"].items()
        ])  # fmt: skip


@pytest.fixture(scope="module")
def steps(module_engine: Engine) -> Engine:
    """The sellers above in one database per kind."""
    load(module_engine)
    return module_engine


def run(engine: Engine, **context: Any) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(onboarding.build(onboarding.QUERY.context(AS_OF, **context)))
        return {row["seller_id"]: dict(row) for row in result.mappings()}


def reference(stall_days: int = 14) -> dict[str, dict[str, Any]]:
    """Who is still onboarding as of the end of AS_OF, read step by step."""
    end = MIDNIGHT + dt.timedelta(days=1)
    rows = {}
    for seller, v in SELLERS.items():
        if v["created"] >= end or v["status"] == "offboarded":
            continue
        done = {s: t for s, t in v["steps"].items() if t is not None and t < end}
        if len(done) == len(ONBOARDING_STEPS):
            continue
        last = max([v["created"], *done.values()])
        days = (AS_OF - last.date()).days
        rows[seller] = {
            "steps_done": len(done),
            "current_step": next(s for s in ONBOARDING_STEPS if s not in done),
            "last_progress": last,
            "days_stalled": days,
            "stalled": "yes" if days > stall_days else "no",
            "status": v["status"],
            "country": v["country"],
        }
    return rows


@pytest.mark.parametrize("stall_days", [0, 13, 14, 15, 1000])
def test_rows_match_reference(steps, stall_days):
    rows = run(steps, params={"stall_days": stall_days})
    expected = reference(stall_days)
    assert rows.keys() == expected.keys()
    for seller, figures in expected.items():
        assert {name: rows[seller][name] for name in figures} == figures, seller


@pytest.mark.parametrize(
    ("seller", "steps_done", "current", "days", "stalled"),
    [
        ("A", 2, C3, 20, "yes"),
        ("C", 2, C2, 13, "no"),  # kyc_verified is missing although pricing is uploaded
        ("D", 0, C1, 14, "no"),  # exactly 14 days: not beyond the threshold
        ("E", 0, C1, 15, "yes"),
        ("G", 4, C5, 46, "yes"),  # its last step is after as_of
        ("I", 2, C3, 0, "no"),
        ("J", 1, C2, 5, "no"),  # sign-up is the later event
    ],
)
def test_worked_examples(steps, seller, steps_done, current, days, stalled):
    row = run(steps)[seller]
    assert (row["steps_done"], row["current_step"], row["days_stalled"], row["stalled"]) == (
        steps_done, current, days, stalled,
    )  # fmt: skip


def test_created_is_the_sign_up_and_rows_are_longest_stalled_first(steps):
    rows = list(run(steps).values())
    assert [r["days_stalled"] for r in rows] == sorted(
        (r["days_stalled"] for r in rows), reverse=True
    )
    assert rows[0]["created"] == SELLERS["G"]["created"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"seller_id": ("A", "B", "E")}, ["A", "E"]),
        ({"country": ("DE",)}, ["C", "D", "E"]),
        ({"country": ("IT",), "seller_id": ("I",)}, ["I"]),
    ],
)
def test_filters(steps, filters, expected):
    assert sorted(run(steps, filters=filters)) == expected


@pytest.mark.parametrize("value", [-1, "14", 2.5, True])
def test_bad_stall_days_names_the_key(value):
    with pytest.raises(TemplateError, match=r"params\.stall_days: .* Fix:"):
        onboarding.build(onboarding.QUERY.context(AS_OF, params={"stall_days": value}))


def test_template_flags_stalled_rows():
    template = shipped_template("onboarding")
    assert template.params["stall_days"] == 14
    assert template.key == ("Seller ID",)
    rule = next(r for r in template.conditional_formats if r.column == "Stalled")
    assert rule.values == ("yes",)
    assert "Current step" in template.headers and "Days stalled" in template.headers
