"""Alert rules: ``templates/alerts.yaml`` read and validated before anything runs.

Like a tab template, a rules file that loads can run: every message names the
file, the key (``rules[2].condition``), its line and the fix. A rule says what
to measure (a metric of :mod:`.metrics`), per what (``scope``), over how many
days (``window``), when it fires (``condition``), below which volume it stays
quiet (``min_volume``), how bad it is (``severity``) and who hears (``notify``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheets_sync.alerts.metrics import METRICS, Metric
from sheets_sync.tab_templates import checks
from sheets_sync.tab_templates.source import Where, read_yaml

SCOPES = ("seller", "country", "category", "overall")
WINDOWS = (1, 7, 28)
SEVERITIES = ("critical", "warning", "info")
"""Most to least urgent: the Alerts tab lists active alerts in this order."""
CHANNELS = ("slack", "email")
CONDITIONS = ("above", "below", "below_target", "change_above", "change_below")
RULE_KEYS = {
    "id", "description", "metric", "scope", "window", "condition", "min_volume", "severity",
    "notify",
}  # fmt: skip
CONDITION_KEYS = {*CONDITIONS, "trailing_days"}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
EXAMPLE = "e.g. `condition: {above: 14}` or `condition: {change_above: 50, trailing_days: 28}`"


@dataclass(frozen=True)
class Condition:
    """When a rule fires: ``kind`` compared with ``amount``.

    ``above``/``below``: the value against ``amount``; ``below_target``: the
    month-to-date value below ``amount`` × the monthly target prorated to the
    day; ``change_above``/``change_below``: the value moved more than ``amount`` %
    from its average over the ``trailing_days`` before the window.
    """

    kind: str
    amount: float
    trailing_days: int = 28


@dataclass(frozen=True)
class Rule:
    """One validated rule of the rules file."""

    id: str
    description: str
    metric: str
    scope: str
    window: int
    condition: Condition
    min_volume: int
    severity: str
    notify: tuple[str, ...]


def load_rules(path: Path) -> tuple[Rule, ...]:
    """Every rule of the file, in file order; a TemplateError at the first problem."""
    raw, where = read_yaml(path)
    where.check_keys(raw, {"rules"}, "")
    items = checks.items(raw.get("rules"), "rules", where)
    rules = tuple(_rule(item, f"rules[{i}]", where) for i, item in enumerate(items))
    seen: dict[str, str] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise where.fail(
                f"rules[{i}].id", f"{rule.id!r} is also the id of {seen[rule.id]}",
                "give every rule its own id (alerts are remembered by it)",
            )  # fmt: skip
        seen[rule.id] = f"rules[{i}]"
    return rules


def _rule(item: Any, key: str, where: Where) -> Rule:
    raw = checks.mapping(item, key, where)
    where.check_keys(raw, RULE_KEYS, f"{key}.")
    metric = _choice(raw.get("metric"), tuple(METRICS), f"{key}.metric", where)
    scope = _choice(raw.get("scope", "overall"), SCOPES, f"{key}.scope", where)
    _check_scope(METRICS[metric], scope, key, where)
    condition = _condition(raw.get("condition"), f"{key}.condition", where)
    _check_condition(METRICS[metric], condition, scope, key, where)
    return Rule(
        id=_id(raw.get("id"), f"{key}.id", where),
        description=_text(raw.get("description", ""), f"{key}.description", where),
        metric=metric,
        scope=scope,
        window=_window(raw.get("window", 1), f"{key}.window", where),
        condition=condition,
        min_volume=_whole(raw.get("min_volume", 0), f"{key}.min_volume", where),
        severity=_choice(raw.get("severity", "warning"), SEVERITIES, f"{key}.severity", where),
        notify=_channels(raw.get("notify", list(CHANNELS)), f"{key}.notify", where),
    )


def _id(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise where.fail(
            key, f"{value!r} is not a rule id",
            "write lower-case letters, digits and _, starting with a letter, "
            "e.g. `id: sla_below_target`",
        )  # fmt: skip
    return value


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: Where) -> str:
    if value in allowed:
        return str(value)
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"use one of {list(allowed)}"
    raise where.fail(key, f"{value!r} is not allowed", hint)


def _window(value: Any, key: str, where: Where) -> int:
    if isinstance(value, bool) or value not in WINDOWS:
        raise where.fail(key, f"{value!r} is not a window", f"use one of {list(WINDOWS)} (days)")
    return int(value)


def _whole(value: Any, key: str, where: Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.fail(key, f"{value!r} is not a whole number ≥ 0", "e.g. `20`")
    return value


def _number(value: Any, key: str, where: Where) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(key, f"{value!r} is not a number", "write a number, e.g. `0.85`")
    return float(value)


def _text(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str):
        raise where.fail(key, f"{value!r} is not text", "quote it")
    return value


def _channels(value: Any, key: str, where: Where) -> tuple[str, ...]:
    names = checks.items(value, key, where)
    return tuple(_choice(n, CHANNELS, key, where) for n in names)


def _condition(value: Any, key: str, where: Where) -> Condition:
    if value is None:
        raise where.fail(key, "missing", f"say when the rule fires, {EXAMPLE}")
    raw = checks.mapping(value, key, where)
    where.check_keys(raw, CONDITION_KEYS, f"{key}.")
    kinds = [k for k in raw if k in CONDITIONS]
    if len(kinds) != 1:
        raise where.fail(
            key, f"needs exactly one of {list(CONDITIONS)}, found {kinds or 'none'}", EXAMPLE
        )
    kind = kinds[0]
    amount = _number(raw[kind], f"{key}.{kind}", where)
    if (kind.startswith("change") or kind == "below_target") and amount <= 0:
        raise where.fail(
            f"{key}.{kind}", f"{raw[kind]!r} must be above 0",
            "a change in % (e.g. `50`) or a share of the target (e.g. `0.9`)",
        )  # fmt: skip
    trailing = raw.get("trailing_days", 28)
    if "trailing_days" in raw and not kind.startswith("change"):
        raise where.fail(
            f"{key}.trailing_days", f"only applies to change_above / change_below, not {kind}",
            "remove it",
        )  # fmt: skip
    if isinstance(trailing, bool) or not isinstance(trailing, int) or not 1 <= trailing <= 366:
        raise where.fail(f"{key}.trailing_days", f"{trailing!r} is not 1..366 days", "e.g. `28`")
    return Condition(kind, amount, trailing)


def _check_scope(metric: Metric, scope: str, key: str, where: Where) -> None:
    if scope not in metric.scopes:
        raise where.fail(
            f"{key}.scope", f"metric {metric.name!r} cannot be measured per {scope}",
            f"use one of {list(metric.scopes)}",
        )  # fmt: skip


def _check_condition(
    metric: Metric, condition: Condition, scope: str, key: str, where: Where
) -> None:
    if condition.kind == "below_target" and metric.target is None:
        with_targets = [m.name for m in METRICS.values() if m.target is not None]
        raise where.fail(
            f"{key}.condition.below_target", f"metric {metric.name!r} has no monthly target",
            f"use it with one of {with_targets}",
        )  # fmt: skip
    if condition.kind == "below_target" and scope == "seller":
        raise where.fail(
            f"{key}.scope", "monthly targets are per country and category, not per seller",
            "use `scope: country`, `category` or `overall`",
        )  # fmt: skip
    if condition.kind.startswith("change") and not metric.windowed:
        raise where.fail(
            f"{key}.condition.{condition.kind}",
            f"metric {metric.name!r} has no trailing average",
            "use `above` or `below`",
        )
