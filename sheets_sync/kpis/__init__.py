"""KPI queries pushed down to the database (docs/design.md §4)."""

import sheets_sync.kpis.onboarding  # registers onboarding
import sheets_sync.kpis.pricing  # registers pricing
import sheets_sync.kpis.scorecard  # registers seller_scorecard
import sheets_sync.kpis.sync_status  # noqa: F401  (registers sync_status)
from sheets_sync.kpis import daily, periods  # noqa: F401  (registers kpi_daily, kpi_weekly, kpi_monthly)
