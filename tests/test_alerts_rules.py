"""The rules file: the shipped one loads, a wrong one fails with file, key, line and fix."""

from __future__ import annotations

import pytest
from alerts_data import write_rules
from helpers import TEMPLATES

from sheets_sync.alerts.rules import Condition, Rule, load_rules
from sheets_sync.errors import TemplateError

GOOD = """
rules:
  - id: sla
    description: SLA slipping
    metric: inspection_sla_rate
    scope: seller
    window: 7
    condition: {below: 0.85}
    min_volume: 30
    severity: critical
    notify: [slack]
"""


def test_a_rule_loads_with_its_settings(tmp_path):
    assert load_rules(write_rules(tmp_path, GOOD)) == (
        Rule(
            id="sla", description="SLA slipping", metric="inspection_sla_rate", scope="seller",
            window=7, condition=Condition("below", 0.85), min_volume=30, severity="critical",
            notify=("slack",),
        ),
    )  # fmt: skip


def test_defaults_for_optional_keys(tmp_path):
    text = "rules:\n  - {id: runs, metric: failed_runs, condition: {above: 0}}\n"
    (loaded,) = load_rules(write_rules(tmp_path, text))
    assert (loaded.scope, loaded.window, loaded.min_volume, loaded.severity, loaded.notify) == (
        "overall", 1, 0, "warning", ("slack", "email"),
    )  # fmt: skip


def test_the_shipped_rules_cover_the_required_checks():
    rules = {r.id: r for r in load_rules(TEMPLATES / "alerts.yaml")}
    kinds = {(r.metric, r.condition.kind) for r in rules.values()}
    assert {
        ("onboarding_stall_days", "above"), ("failed_syncs", "above"),
        ("failed_pricing_pushes", "above"), ("inspection_sla_rate", "below"),
        ("counter_offer_rate", "change_above"), ("orders_created", "below_target"),
    } <= kinds  # fmt: skip
    assert rules["onboarding_stalled"].condition.amount == 14


def _one(body: str) -> str:
    return "rules:\n  - id: r1\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


BASE = "metric: counter_offer_rate\nscope: seller\ncondition: {above: 0.3}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rule:\n  - id: x\n",
            ":1: rule: unknown key. Fix: did you mean rules?",
        ),
        (
            "rules: {id: x}\n",
            ":1: rules: must be a list. Fix: write one `- item` per line under it",
        ),
        (
            _one(BASE + "\nseverty: critical"),
            ":6: rules[0].severty: unknown key. Fix: did you mean rules[0].severity?",
        ),
        (
            _one("metric: counter_ofer_rate\ncondition: {above: 1}"),
            ":3: rules[0].metric: 'counter_ofer_rate' is not allowed. "
            "Fix: did you mean 'counter_offer_rate'?",
        ),
        (
            _one(BASE.replace("scope: seller", "scope: region")),
            ":4: rules[0].scope: 'region' is not allowed. "
            "Fix: use one of ['seller', 'country', 'category', 'overall']",
        ),
        (
            _one(BASE + "\nwindow: 30"),
            ":6: rules[0].window: 30 is not a window. Fix: use one of [1, 7, 28] (days)",
        ),
        (
            _one("metric: inspected\ncondition: {above: 1, below: 2}"),
            ":4: rules[0].condition: needs exactly one of ['above', 'below', 'below_target', "
            "'change_above', 'change_below'], found ['above', 'below']. Fix: e.g. "
            "`condition: {above: 14}` or `condition: {change_above: 50, trailing_days: 28}`",
        ),
        (
            _one("metric: inspected"),
            ":2: rules[0].condition: missing. Fix: say when the rule fires, e.g. "
            "`condition: {above: 14}` or `condition: {change_above: 50, trailing_days: 28}`",
        ),
        (
            _one("metric: inspected\ncondition: {above: lots}"),
            ":4: rules[0].condition.above: 'lots' is not a number. "
            "Fix: write a number, e.g. `0.85`",
        ),
        (
            _one("metric: inspected\ncondition: {abov: 3}"),
            ":4: rules[0].condition.abov: unknown key. Fix: did you mean rules[0].condition.above?",
        ),
        (
            _one("metric: inspected\ncondition: {below_target: 0.9}\nscope: country"),
            ":4: rules[0].condition.below_target: metric 'inspected' has no monthly target. "
            "Fix: use it with one of ['orders_created', 'paid_amount']",
        ),
        (
            _one("metric: orders_created\ncondition: {below_target: 0.9}\nscope: seller"),
            ":5: rules[0].scope: monthly targets are per country and category, not per seller. "
            "Fix: use `scope: country`, `category` or `overall`",
        ),
        (
            _one("metric: onboarding_stall_days\nscope: seller\ncondition: {change_above: 50}"),
            ":5: rules[0].condition.change_above: metric 'onboarding_stall_days' has no "
            "trailing average. Fix: use `above` or `below`",
        ),
        (
            _one("metric: failed_syncs\nscope: seller\ncondition: {above: 0}"),
            ":4: rules[0].scope: metric 'failed_syncs' cannot be measured per seller. "
            "Fix: use one of ['overall']",
        ),
        (
            _one("metric: inspected\ncondition: {above: 1, trailing_days: 7}"),
            ":4: rules[0].condition.trailing_days: only applies to change_above / change_below, "
            "not above. Fix: remove it",
        ),
        (
            _one(BASE + "\nmin_volume: -1"),
            ":6: rules[0].min_volume: -1 is not a whole number ≥ 0. Fix: e.g. `20`",
        ),
        (
            _one(BASE + "\nnotify: [slack, sms]"),
            ":6: rules[0].notify: 'sms' is not allowed. Fix: use one of ['slack', 'email']",
        ),
        (
            "rules:\n  - id: Bad Id\n    metric: inspected\n    condition: {above: 1}\n",
            ":2: rules[0].id: 'Bad Id' is not a rule id. Fix: write lower-case letters, digits "
            "and _, starting with a letter, e.g. `id: sla_below_target`",
        ),
        (
            _one(BASE) + _one(BASE).replace("rules:\n", ""),
            ":6: rules[1].id: 'r1' is also the id of rules[0]. "
            "Fix: give every rule its own id (alerts are remembered by it)",
        ),
        (
            "rules:\n  - id: [x\n",
            ": (file): invalid YAML at line 3, column 1. Fix: correct the YAML syntax",
        ),
    ],
)
def test_bad_rules_name_file_key_line_and_fix(tmp_path, text, message):
    path = write_rules(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        load_rules(path)
    assert str(caught.value) == f"{path}{message}"
