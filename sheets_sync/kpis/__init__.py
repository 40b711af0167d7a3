"""KPI queries pushed down to the database (docs/design.md §4).

The built-in queries are listed in :mod:`sheets_sync.kpis.registry`; importing
this package registers nothing.
"""
