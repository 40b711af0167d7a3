"""KPI queries pushed down to the database (DESIGN §4)."""

from sheets_sync.kpis import daily, periods  # noqa: F401  (registers kpi_daily, kpi_weekly, kpi_monthly)
