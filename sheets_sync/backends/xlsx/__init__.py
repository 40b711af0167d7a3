"""``xlsx:PATH``: the managed tabs written into a local workbook with openpyxl.

:mod:`.backend` is the destination (and writes the pivot sheets); :mod:`.cells`
types, styles and sizes cells; :mod:`.layout` sets freezes, protections and
conditional formats; :mod:`.extras` keeps the team's columns with their rows.
"""

from sheets_sync.backends.xlsx.backend import XlsxBackend

__all__ = ["XlsxBackend"]
