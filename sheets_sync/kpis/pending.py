"""A built-in query's :class:`~sheets_sync.kpis.query.PendingStep` handed to its frame.

The runner computes a tab in the database, then the backend writes it after
reading the sheet; only the backend sees what the team typed and has not
pushed. So the step is prepared here, with the sync's connection (the win
model fitted, the market read), and the frame carries the result as a
:class:`~sheets_sync.frame.FromPending` whose answers are typed like the
template's columns, for the backend to call once with all the tab's pending
edits (docs/design.md §5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from sheets_sync.frame import FromPending, PendingEdit, TabFrame
from sheets_sync.kpis.query import PendingStep, QueryContext
from sheets_sync.tab_templates.model import ColumnSpec

Converter = Callable[[Any], Any]


def with_step(
    conn: Connection,
    frame: TabFrame,
    context: QueryContext,
    step: PendingStep | None,
    converter: Callable[[ColumnSpec], Converter],
) -> TabFrame:
    """``frame`` carrying the step, when its template shows a column of the step and
    can hold a pending edit (a key and an editable column); else ``frame`` as it is,
    and nothing is prepared."""
    template = frame.template
    sources = [c.source for c in template.columns]
    indexes = tuple(i for i, source in enumerate(sources) if step and source in step.columns)
    if step is None or not indexes or not template.key or not template.editable_indexes:
        return frame
    compute = step.prepare(conn, context)
    places = [step.columns.index(sources[i]) for i in indexes]
    converts = [converter(template.columns[i]) for i in indexes]

    def typed(edits: Sequence[PendingEdit]) -> list[tuple[Any, ...]]:
        answers = compute(edits)
        if len(answers) != len(edits):
            raise AssertionError(f"pending step answered {len(answers)} rows for {len(edits)}")
        return [
            tuple(convert(values[at]) for convert, at in zip(converts, places, strict=True))
            for values in answers
        ]

    return dataclasses.replace(frame, from_pending=FromPending(indexes, typed))
