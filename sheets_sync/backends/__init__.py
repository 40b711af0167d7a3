"""Where a sync writes: one package per destination behind one protocol.

:mod:`.base` is the protocol the sync engine talks to; :mod:`.xlsx` writes a
local workbook, :mod:`.gsheets` a Google spreadsheet; :mod:`.pivot` computes
the pivot tables the workbook shows (Google computes its own).
"""
