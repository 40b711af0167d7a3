"""A tab's ``pivots:`` and the titles of the sheets a template writes.

A pivot is a sheet of its own, so its title is checked like a tab's and must
differ from the tab's and the other pivots' (case-insensitively, as workbooks
and spreadsheets compare titles).
"""

from __future__ import annotations

from typing import Any

from sheets_sync.tab_templates.checks import enum_value as _enum
from sheets_sync.tab_templates.checks import headers as _headers
from sheets_sync.tab_templates.checks import items as _list
from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.checks import sheet_title as _title
from sheets_sync.tab_templates.model import ColumnSpec, PivotSpec, PivotValue, Summarize
from sheets_sync.tab_templates.source import Where

PIVOT_KEYS = {"title", "rows", "columns", "values", "sort_rows"}
VALUE_KEYS = {"column", "summarize", "label"}
SORT_ORDERS = ("ASCENDING", "DESCENDING")
SAME = "give each tab and pivot sheet its own title (titles are compared case-insensitively)"


def parse_pivots(
    value: Any, columns: tuple[ColumnSpec, ...], where: Where
) -> tuple[PivotSpec, ...]:
    headers = [c.header for c in columns]
    numeric = {c.header for c in columns if c.type.is_numeric}
    pivots = []
    for i, item in enumerate(_list(value, "pivots", where)):
        key = f"pivots[{i}]"
        raw = _mapping(item, key, where)
        where.check_keys(raw, PIVOT_KEYS, f"{key}.")
        values = tuple(
            _pivot_value(v, f"{key}.values[{j}]", headers, numeric, where)
            for j, v in enumerate(_list(raw.get("values"), f"{key}.values", where))
        )
        if not values:
            raise where.fail(f"{key}.values", "no values", "add e.g. `- column: Orders created`")
        pivots.append(
            PivotSpec(
                title=_title(raw.get("title"), f"{key}.title", where),
                rows=tuple(_headers(raw.get("rows", []), headers, f"{key}.rows", where)),
                columns=tuple(_headers(raw.get("columns", []), headers, f"{key}.columns", where)),
                values=values,
                sort_rows=_sort_order(raw.get("sort_rows", "ASCENDING"), f"{key}.sort_rows", where),
            )
        )
    return tuple(pivots)


def sheet_titles(title: str, pivots: tuple[PivotSpec, ...]) -> list[tuple[str, str]]:
    """(key, title) of every sheet a template writes: its tab, then one per pivot."""
    return [("title", title), *((f"pivots[{i}].title", p.title) for i, p in enumerate(pivots))]


def distinct_titles(
    title: str, pivots: tuple[PivotSpec, ...], where: Where
) -> tuple[PivotSpec, ...]:
    """Pivots whose sheet titles differ from the tab's and each other's (case-insensitive,
    as workbooks and spreadsheets compare them)."""
    seen: dict[str, str] = {}
    for key, name in sheet_titles(title, pivots):
        if name.casefold() in seen:
            raise where.fail(key, f"{name!r} is also the title of {seen[name.casefold()]}", SAME)
        seen[name.casefold()] = "the tab" if key == "title" else key.removesuffix(".title")
    return pivots


def _pivot_value(
    item: Any, key: str, headers: list[str], numeric: set[str], where: Where
) -> PivotValue:
    raw = _mapping(item, key, where)
    where.check_keys(raw, VALUE_KEYS, f"{key}.")
    column = _headers([raw.get("column")], headers, f"{key}.column", where)[0]
    summarize = _enum(
        Summarize, str(raw.get("summarize", "SUM")).upper(), f"{key}.summarize", where
    )
    if summarize is not Summarize.COUNTA and column not in numeric:
        raise where.fail(
            f"{key}.column", f"{column!r} is not numeric, so it cannot be {summarize.value}-med",
            "pick a numeric column or `summarize: COUNTA`",
        )  # fmt: skip
    label = raw.get("label")
    return PivotValue(column=column, summarize=summarize, label=str(label) if label else None)


def _sort_order(value: Any, key: str, where: Where) -> str:
    order = str(value).upper()
    if order not in SORT_ORDERS:
        raise where.fail(key, f"{value!r} is not a sort order", f"use one of {list(SORT_ORDERS)}")
    return order
