"""A tab's ``params:``, and the params settings own (docs/design.md §5).

Some built-in queries take a param a setting already sets (the Pricing tab's
guardrails follow ``SHEETS_SYNC_PRICE_*``): the loader sets those from the
settings, and a template giving one another value fails, so the tab never
disagrees with what the setting enforces elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.model import SettingParam
from sheets_sync.tab_templates.source import Where

SettingParams = Mapping[str, Mapping[str, SettingParam]]
"""Built-in query name → its params that settings own (:class:`SettingParam`)."""


def tab_params(
    value: Any, owned: Mapping[str, SettingParam] | None, where: Where
) -> dict[str, Any]:
    """The template's params, with those settings own set from the settings.

    A template may repeat such a param with the settings' value (``30`` and ``30.0``
    are the same), but another value would make the tab disagree with what the
    setting enforces elsewhere (a suggested price the push refuses), so it fails.
    """
    params = _mapping(value, "params", where)
    if not owned:
        return params
    for name, param in owned.items():
        if name in params and _exact(params[name]) != param.value:
            raise where.fail(
                f"params.{name}", _disagreement(name, params[name], param),
                f"remove `{name}:` from `params:` (the tab follows {param.variable})"
                f"{_or_change(params[name], param)}",
            )  # fmt: skip
    return {**params, **{name: param.value for name, param in owned.items()}}


def _disagreement(name: str, given: Any, param: SettingParam) -> str:
    same = f", i.e. `{name}: {_plain(param.value)}`" if param.scale != 1 else ""
    return (
        f"{given!r} is not what {param.variable}={_plain(param.setting)} sets "
        f"({param.meaning}{same})"
    )


def _or_change(given: Any, param: SettingParam) -> str:
    number = _exact(given)
    if number is None:
        return ""
    return (
        f", or set {param.variable}={_plain(number / param.scale)} if that limit is what you meant"
    )


def _exact(value: Any) -> Decimal | None:
    """A finite YAML number as an exact decimal (``0.1`` as written), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    """``Decimal("30.00")`` → ``30``, ``Decimal("0.300")`` → ``0.3``."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
