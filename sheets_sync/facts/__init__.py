"""The daily fact table the order-reading KPI tabs roll up (docs/scaling.md).

``kpi_daily_facts`` holds, per day × country × seller × category, additive
measures of the orders (counts, sums in cents, SLA-met counts, CSAT sums and
counts...), each dated by its own event; KPI Daily reads it as it is, KPI
Weekly / Monthly, the Seller Scorecard and Quality sum it over their periods
and windows and derive rates at roll-up. Triggers log every order change
(:mod:`.triggers`); :mod:`.maintain` applies the log as deltas before tabs are
computed, rebuilds in full, and checks the two agree row by row; :mod:`.quick`
compares their daily totals (the nightly alert ``facts_drift``); :mod:`.unknown`
tells a sync how many orders count under ``unknown`` (no product yet).
"""

from sheets_sync.facts.maintain import (
    CheckReport,
    RefreshReport,
    bulk_load,
    check,
    ensure_fresh,
    mark_unbuilt,
    rebuild,
    refresh,
)

__all__ = [
    "CheckReport",
    "RefreshReport",
    "bulk_load",
    "check",
    "ensure_fresh",
    "mark_unbuilt",
    "rebuild",
    "refresh",
]
