"""A tab's ``conditional_formats:``: which cells are coloured, when.

Each rule's values are checked against what its ``when`` compares with (none for
``not_blank``, two ordered numbers for ``number_between``, one otherwise), so a
rule that loads is one every destination can draw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sheets_sync.tab_templates.checks import boolean as _bool
from sheets_sync.tab_templates.checks import enum_value as _enum
from sheets_sync.tab_templates.checks import headers as _headers
from sheets_sync.tab_templates.checks import items as _list
from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.checks import optional_text as _optional_str
from sheets_sync.tab_templates.model import ConditionalFormat, ConditionKind
from sheets_sync.tab_templates.source import Where

FORMAT_KEYS = {"column", "when", "values", "value", "background", "font_color", "bold"}
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def parse_conditional_formats(
    value: Any, headers: list[str], where: Where
) -> tuple[ConditionalFormat, ...]:
    rules = []
    for i, item in enumerate(_list(value, "conditional_formats", where)):
        key = f"conditional_formats[{i}]"
        raw = _mapping(item, key, where)
        where.check_keys(raw, FORMAT_KEYS, f"{key}.")
        condition = _enum(ConditionKind, raw.get("when"), f"{key}.when", where)
        rules.append(
            ConditionalFormat(
                column=_headers([raw.get("column")], headers, f"{key}.column", where)[0],
                condition=condition,
                values=_format_values(raw, condition, key, where),
                background=_colour(raw.get("background"), f"{key}.background", where),
                font_color=_colour(raw.get("font_color"), f"{key}.font_color", where),
                bold=_bool(raw.get("bold", False), f"{key}.bold", where),
            )
        )
    return tuple(rules)


def _format_values(
    raw: Mapping[str, Any], condition: ConditionKind, key: str, where: Where
) -> tuple[str, ...]:
    """The rule's values, checked against what its ``when`` compares with."""
    if "value" in raw and "values" in raw:
        raise where.fail(
            f"{key}.values", "both `value` and `values` are given", "keep only one of them"
        )
    name = f"{key}.values" if "values" in raw else f"{key}.value"
    values = _list(raw["values"], name, where) if "values" in raw else []
    if "value" in raw:
        values = [raw["value"]]
    if condition is ConditionKind.NOT_BLANK:
        if values:
            field = name.rsplit(".", 1)[1]
            raise where.fail(name, "not_blank compares with no value", f"remove `{field}:`")
        return ()
    if condition is ConditionKind.NUMBER_BETWEEN:
        return _between(values, name, where)
    if len(values) != 1:
        raise where.fail(
            name, f"{condition.value} compares with exactly one value, got {len(values)}",
            "write one `value:`",
        )  # fmt: skip
    if condition.value.startswith("number_"):
        return (str(_number(values[0], name, where)),)
    if not isinstance(values[0], str):
        raise where.fail(name, f"{values[0]!r} is not text", f'quote it, e.g. value: "{values[0]}"')
    return (values[0],)


def _between(values: list[Any], name: str, where: Where) -> tuple[str, ...]:
    if len(values) != 2:
        raise where.fail(
            name, f"number_between needs two numbers (low, high), got {len(values)}",
            "write e.g. `values: [0.9, 1.0]`",
        )  # fmt: skip
    low, high = (_number(v, name, where) for v in values)
    if low > high:
        raise where.fail(
            name, f"the low bound {low} is above the high bound {high}",
            f"write them in order: `values: [{high}, {low}]`",
        )  # fmt: skip
    return (str(low), str(high))


def _number(value: Any, key: str, where: Where) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(key, f"{value!r} is not a number", "write a number, e.g. `0.9`")
    return value


def _colour(value: Any, key: str, where: Where) -> str | None:
    text = _optional_str(value, key, where)
    if text is not None and not _HEX_COLOUR.match(text):
        raise where.fail(key, f"{text!r} is not a colour", 'write it as "#RRGGBB", e.g. "#F4CCCC"')
    return text
