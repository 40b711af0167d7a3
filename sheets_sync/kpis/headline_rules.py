"""The `Dashboard` template's params, validated: what a headline figure is judged against.

Kept apart from the query (sheets_sync/kpis/headline.py) so each param is refused
with its key and its fix before any SQL is built, and the query reads typed
values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.common import int_param

RATE_KEYS = ("counter_offer_rate", "csat", "ship_rate", "sla_rate")
DEFAULTS: dict[str, Any] = {
    "rate_targets": {"ship_rate": 0.65, "counter_offer_rate": 0.25, "sla_rate": 0.85, "csat": 4.2},
    "status": {"green": 1.0, "amber": 0.9},
    "ship_maturity_days": 14,
    "min_volume": 20,
}
"""``ship_maturity_days``: an order not shipped 14 days after creation has expired
(the source expires unshipped orders after 14 days), so a cohort that old has its
final ship rate. ``min_volume``: the orders a rate must rest on before its status is
judged, as on the Seller Scorecard."""


@dataclass(frozen=True)
class Rules:
    """Targets and limits of the headline figures, from the template's params."""

    rate_targets: Mapping[str, float]
    green: float
    amber: float
    ship_maturity_days: int
    min_volume: int


def rules(params: Mapping[str, Any]) -> Rules:
    """The validated params; a bad one is a :class:`TemplateError` naming key and fix."""
    green, amber = status_limits(params)
    return Rules(
        rate_targets=rate_targets(params),
        green=green,
        amber=amber,
        ship_maturity_days=int_param(params, "ship_maturity_days", 1),
        min_volume=int_param(params, "min_volume", 0),
    )


def _number(value: Any, key: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise TemplateError(f"{key}: {value!r} is not a number ≥ 0. Fix: write e.g. `{example}`")
    return float(value)


def rate_targets(params: Mapping[str, Any]) -> dict[str, float]:
    """Validated ``rate key → target`` (fractions; CSAT on its 1–5 scale)."""
    raw = params.get("rate_targets")
    keys = list(RATE_KEYS)
    if not isinstance(raw, Mapping) or set(raw) != set(keys):
        raise TemplateError(
            f"params.rate_targets: must give a target for each of {keys}. "
            "Fix: e.g. `rate_targets: {ship_rate: 0.65, counter_offer_rate: 0.25, "
            "sla_rate: 0.85, csat: 4.2}`"
        )
    return {k: _number(raw[k], f"params.rate_targets.{k}", f"{k}: 0.8") for k in keys}


def status_limits(params: Mapping[str, Any]) -> tuple[float, float]:
    """Validated ``(green, amber)`` attainment limits, green at or above amber."""
    raw = params.get("status")
    if not isinstance(raw, Mapping) or set(raw) != {"green", "amber"}:
        raise TemplateError(
            "params.status: needs exactly `green` and `amber` (attainment limits). "
            "Fix: e.g. `status: {green: 1.0, amber: 0.9}`"
        )
    green = _number(raw["green"], "params.status.green", "green: 1.0")
    amber = _number(raw["amber"], "params.status.amber", "amber: 0.9")
    if amber > green:
        raise TemplateError(
            f"params.status: amber {amber:g} is above green {green:g}. "
            "Fix: make amber lower than (or equal to) green"
        )
    return green, amber
