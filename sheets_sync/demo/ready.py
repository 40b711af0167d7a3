"""After a bulk load, build what the first sync would otherwise build while someone waits.

A bulk load bypasses the change log, so it leaves the daily facts marked unbuilt
and every day the win model counted marked stale (:func:`sheets_sync.facts.bulk_load`).
The first sync after it would then pay a full facts build and the model's 56-day
count before its first tab: 10–20 s at 1,000,000 orders and minutes at
10,000,000, paid by whoever pressed Refresh in the menu, or by the first sheet
of the night. The loader pays them instead, where nobody waits on a sheet: when
``demo-data`` returns, the first sync is as fast as any other.

Both are the same code the syncs run (:func:`sheets_sync.facts.refresh`, which
builds in full because the facts are unbuilt, and
:func:`sheets_sync.winmodel.counts.refresh` over the window the first sync's
fit reads), each in its own exclusive section. A failure here leaves the facts
unbuilt or the days uncounted, never wrong: the first sync builds them, as it
did before.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from sheets_sync import facts
from sheets_sync.demo.load import ProgressCallback, analyze
from sheets_sync.facts.maintain import FACT_TABLES
from sheets_sync.guards import as_of_day
from sheets_sync.winmodel import counts
from sheets_sync.winmodel.fit import FIT_DAYS


def prepare_first_sync(engine: Engine, report: ProgressCallback) -> float:
    """Build the facts and count the win model's window; the seconds it took."""
    started = time.perf_counter()
    report("facts and win model", 0, 2)
    facts.refresh(engine)
    with engine.connect() as conn:
        analyze(conn, list(FACT_TABLES))
        day = as_of_day(conn, None)  # the day the next sync is computed as of
    report("facts and win model", 1, 2)
    counts.refresh(engine, *counts.window(day, FIT_DAYS))
    report("facts and win model", 2, 2)
    return time.perf_counter() - started
