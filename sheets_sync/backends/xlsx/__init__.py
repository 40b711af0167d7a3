"""``xlsx:PATH``: the managed tabs written into a local workbook with openpyxl.

:mod:`.backend` is the destination; :mod:`.cells` types and styles cells,
:mod:`.layout` sets widths, freezes, protections and conditional formats, and
:mod:`.extras` keeps the team's columns with their rows and writes pivot sheets.
"""

from sheets_sync.backends.xlsx.backend import XlsxBackend

__all__ = ["XlsxBackend"]
