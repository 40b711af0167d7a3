"""Pivots computed in Python from a tab's rows, for destinations without native pivots.

The workbook backend renders each :class:`PivotSpec` as a plain table on its
own sheet, laid out as Google's pivot editor would show it: one row per row
group (sorted), one column per column group × value, a ``Grand Total`` row
and column. Totals are aggregated from the source rows, never from the
displayed cells, so MIN/MAX/COUNT totals are right too. Money stays Decimal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, PivotSpec, PivotValue, Summarize

GRAND_TOTAL = "Grand Total"
BLANK = "(blank)"
Key = tuple[Any, ...]
_ALL: Key = ("\0all",)


@dataclass
class PivotTable:
    """A computed pivot: headers, body rows (labels then values) and the total row.

    ``column_specs`` gives each output column's type and format so the backend
    writes dates as dates and sums with their source column's format.
    """

    title: str
    headers: list[str]
    column_specs: list[ColumnSpec]
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] = field(default_factory=list)
    label_columns: int = 0


class _Agg:
    """One running aggregate; SUM keeps Decimal exact, COUNTA skips empty cells."""

    __slots__ = ("count", "how", "value")

    def __init__(self, how: Summarize) -> None:
        self.how = how
        self.value: Any = None
        self.count = 0

    def add(self, raw: Any) -> None:
        if raw is None or raw == "":
            return
        if self.how is Summarize.COUNTA:
            self.count += 1
            return
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            return
        self.count += 1
        if self.value is None:
            self.value = raw
        elif self.how is Summarize.SUM:
            self.value = _add(self.value, raw)
        elif self.how is Summarize.MIN:
            self.value = min(self.value, raw)
        elif self.how is Summarize.MAX:
            self.value = max(self.value, raw)

    def result(self) -> Any:
        if self.how in (Summarize.COUNTA, Summarize.COUNT):
            return self.count
        return self.value


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, float) != isinstance(b, float):
        return float(a) + float(b)
    return a + b


def compute_pivot(frame: TabFrame, spec: PivotSpec) -> PivotTable:
    """Aggregate ``frame``'s rows as ``spec`` declares, with grand totals."""
    cells = _aggregate(frame, spec)
    row_keys = _sorted_keys({k[0] for k in cells if k[0] != _ALL}, spec.sort_rows)
    col_keys = _sorted_keys({k[1] for k in cells if k[1] != _ALL}, "ASCENDING")
    if not spec.columns:
        col_keys = []
    table = _empty_table(frame, spec, col_keys)
    for row_key in row_keys:
        table.rows.append(_line(list(map(_label, row_key)), row_key, col_keys, spec, cells))
    labels = [GRAND_TOTAL] + [""] * (len(spec.rows) - 1) if spec.rows else []
    table.total = _line(labels, _ALL, col_keys, spec, cells)
    return table


def _aggregate(frame: TabFrame, spec: PivotSpec) -> dict[tuple[Key, Key], list[_Agg]]:
    """Every (row group, column group) cell plus the ``_ALL`` margins, in one pass."""
    row_idx = [frame.template.column_index(h) for h in spec.rows]
    col_idx = [frame.template.column_index(h) for h in spec.columns]
    val_idx = [frame.template.column_index(v.column) for v in spec.values]
    cells: dict[tuple[Key, Key], list[_Agg]] = {}
    targets: dict[tuple[Key, Key], list[list[tuple[_Agg, int]]]] = {}  # per group, once
    for row in frame.rows:
        rk = tuple(row[i] for i in row_idx) if row_idx else _ALL
        ck = tuple(row[i] for i in col_idx) if col_idx else _ALL
        found = targets.get((rk, ck))
        if found is None:
            found = targets[(rk, ck)] = _targets(cells, rk, ck, spec, val_idx)
        for pairs in found:
            for agg, i in pairs:
                agg.add(row[i])
    return cells


def _targets(
    cells: dict[tuple[Key, Key], list[_Agg]],
    rk: Key,
    ck: Key,
    spec: PivotSpec,
    val_idx: Sequence[int],
) -> list[list[tuple[_Agg, int]]]:
    """The aggregates a row of group (rk, ck) feeds — its cell and the margins, each once —
    paired with the value column each one reads."""
    found = []
    for target in dict.fromkeys([(rk, ck), (rk, _ALL), (_ALL, ck), (_ALL, _ALL)]):
        aggs = cells.get(target)
        if aggs is None:
            aggs = cells[target] = [_Agg(v.summarize) for v in spec.values]
        found.append(list(zip(aggs, val_idx, strict=True)))
    return found


def _line(
    labels: list[Any],
    row_key: Key,
    col_keys: Sequence[Key],
    spec: PivotSpec,
    cells: dict[tuple[Key, Key], list[_Agg]],
) -> list[Any]:
    values: list[Any] = []
    for col_key in [*col_keys, _ALL]:
        aggs = cells.get((row_key, col_key))
        values.extend(_results(aggs, spec.values))
    return labels + values


def _results(aggs: list[_Agg] | None, values: Sequence[PivotValue]) -> list[Any]:
    if aggs is None:
        return [None] * len(values)
    return [a.result() for a in aggs]


def _empty_table(frame: TabFrame, spec: PivotSpec, col_keys: Sequence[Key]) -> PivotTable:
    """Headers and column types: row labels, then column group × value, then totals."""
    template = frame.template
    headers = list(spec.rows)
    specs = [template.column(h) for h in spec.rows]
    for col_key in [*col_keys, None]:
        group = GRAND_TOTAL if col_key is None else " / ".join(map(str, map(_label, col_key)))
        for value in spec.values:
            if spec.columns:
                one = len(spec.values) == 1
                headers.append(group if one else f"{group} · {value.display_name}")
            else:
                headers.append(value.display_name)
            specs.append(_value_spec(template.column(value.column), value, headers[-1]))
    return PivotTable(spec.title, headers, specs, label_columns=len(spec.rows))


def _value_spec(source: ColumnSpec, value: PivotValue, header: str) -> ColumnSpec:
    if value.summarize in (Summarize.COUNT, Summarize.COUNTA):
        return ColumnSpec(header=header, source=header, type=ColumnType.INTEGER)
    return ColumnSpec(
        header=header, source=header, type=source.type, number_format=source.number_format
    )


def _sorted_keys(keys: set[Key], order: str) -> list[Key]:
    return sorted(keys, key=_sort_key, reverse=order.upper().startswith("DESC"))


def _sort_key(key: Key) -> tuple[tuple[int, Any], ...]:
    """Blanks last, numbers before dates before text, each in natural order."""
    parts: list[tuple[int, Any]] = []
    for v in key:
        if v is None or v == "":
            parts.append((3, ""))
        elif isinstance(v, int | float | Decimal) and not isinstance(v, bool):
            parts.append((0, float(v)))
        elif isinstance(v, dt.date):
            parts.append((1, v.isoformat()))
        else:
            parts.append((2, str(v)))
    return tuple(parts)


def _label(value: Any) -> Any:
    return BLANK if value is None or value == "" else value
