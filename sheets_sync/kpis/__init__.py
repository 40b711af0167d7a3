"""KPI queries pushed down to the database (DESIGN §4)."""
