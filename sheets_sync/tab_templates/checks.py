"""Small value checks shared by the template, chart, registry and alert-rule loaders.

Each takes the raw YAML value, its key path and a :class:`Where`, and either
returns the value typed or raises the file:line message with its fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from sheets_sync.limits import GOOGLE_LIMITS, XLSX_LIMITS
from sheets_sync.tab_templates.source import Where

E = TypeVar("E")


def headers(
    value: Any, known: list[str], key: str, where: Where, of: str = "this tab"
) -> list[str]:
    """``value`` as a list of header labels, each one of ``known`` (the columns ``of``)."""
    names = items(value, key, where)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {known}"
            raise where.fail(key, f"{name!r} is not a column header of {of}", hint)
    return [str(n) for n in names]


def enum_value(kind: Callable[[Any], E], value: Any, key: str, where: Where) -> E:
    try:
        return kind(value)
    except ValueError as error:
        allowed = [m.value for m in kind]  # type: ignore[attr-defined]
        raise where.fail(key, f"{value!r} is not allowed", f"use one of {allowed}") from error


def mapping(value: Any, key: str, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.fail(key, "must be a mapping", "write `name: value` pairs under it")
    return value


def items(value: Any, key: str, where: Where) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.fail(key, "must be a list", "write one `- item` per line under it")
    return value


def positive_int(value: Any, key: str, where: Where) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise where.fail(key, f"{value!r} is not a positive whole number", "e.g. `90`")
    return value


def count(value: Any, key: str, where: Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.fail(key, f"{value!r} is not a whole number ≥ 0", "e.g. `1`")
    return value


def boolean(value: Any, key: str, where: Where) -> bool:
    if not isinstance(value, bool):
        raise where.fail(key, f"{value!r} is not true/false", "write `true` or `false`")
    return value


def optional_text(value: Any, key: str, where: Where) -> str | None:
    if value is not None and not isinstance(value, str):
        raise where.fail(key, f"{value!r} is not text", 'quote it, e.g. "#,##0.00"')
    return value


def sheet_title(value: Any, key: str, where: Where) -> str:
    """A tab's or a pivot's title: each is a sheet of its own, valid in every destination."""
    if not isinstance(value, str) or not value.strip():
        raise where.fail(key, "missing or empty", "give the sheet a title, e.g. `title: KPI Daily`")
    longest = _longest_title()
    if len(value) > longest or any(ch in value for ch in "[]*?:/\\'"):
        raise where.fail(
            key, f"{value!r} is not a valid sheet title",
            f"use at most {longest} characters and none of [ ] * ? : / \\ '",
        )  # fmt: skip
    return value


def _longest_title() -> int:
    """The longest title any destination accepts; a shorter destination cap (xlsx) is
    checked by that backend before it writes (:func:`sheets_sync.backends.fit.fit_each_tab`)."""
    caps = (XLSX_LIMITS.max_title_chars, GOOGLE_LIMITS.max_title_chars)
    return max(cap for cap in caps if cap is not None)
