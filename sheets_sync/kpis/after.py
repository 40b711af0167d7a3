"""A built-in query's :class:`~sheets_sync.kpis.query.AfterStep` applied to its result.

The runner fetches the query's rows; when the template shows a column of the
query's after-step (or the step chooses the rows), the whole result goes
through the step at once and comes back with the step's columns appended,
before typing (docs/design.md §7: the win model's figures on `Pricing`, the
moves of `Pricing opportunities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from sheets_sync.kpis.query import AfterStep, QueryContext
from sheets_sync.tab_templates.model import TabTemplate


def wanted(template: TabTemplate, step: AfterStep) -> bool:
    """Whether the step must run: it selects the tab's rows, or the template shows one of
    its columns (a team's own Pricing layout without them does not pay for the fit)."""
    return step.selects_rows or any(c.source in step.columns for c in template.columns)


def with_after(
    conn: Connection, context: QueryContext, step: AfterStep, names: list[str], rows: Sequence[Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The result with the step's columns appended (the whole result at once: the step
    compares rows with each other, so it cannot work a chunk at a time)."""
    read = names if step.reads is None else list(step.reads)
    at = [names.index(name) for name in read]
    columns = {name: [row[i] for row in rows] for name, i in zip(read, at, strict=True)}
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    added = step.compute(conn, context, frame)
    kept = _kept_rows(step, added, len(frame))
    extra = (
        zip(*(_blank_missing(added[c]) for c in step.columns), strict=True) if len(added) else []
    )
    return [*names, *step.columns], [(*rows[i], *more) for i, more in zip(kept, extra, strict=True)]


def _kept_rows(step: AfterStep, added: pd.DataFrame, size: int) -> list[int]:
    """The result rows the step's frame stands for: all of them in order, or (``selects_rows``)
    those its index names, each once — anything else is a bug of the step, said as such."""
    if list(added.columns) != list(step.columns):
        raise AssertionError(f"after-step returned columns {list(added.columns)}")
    if not step.selects_rows:
        if len(added) != size:
            raise AssertionError(f"after-step returned {len(added)} rows for {size}")
        return list(range(size))
    kept = [int(i) for i in added.index]
    if len(set(kept)) != len(kept) or any(not 0 <= i < size for i in kept):
        raise AssertionError(f"after-step kept rows {kept[:10]}… of {size}, not each at most once")
    return kept


def _blank_missing(column: pd.Series) -> list[Any]:
    """The column's values, None where pandas has NaN (NaN, NA, NaT): an empty cell, never
    ``Decimal('NaN')`` (a money or decimal column would take NaN as a number)."""
    return column.astype(object).where(column.notna(), None).tolist()
