"""``xlsx:PATH``: the managed tabs written into a local workbook with openpyxl.

:mod:`.backend` is the destination (and writes the pivot sheets), reading
first what a tab's previous version keeps (:mod:`.previous`) and saving
through :mod:`.file` (opened with one-line errors, replaced atomically); :mod:`.cells`
types, styles and sizes cells; :mod:`.layout` sets freezes, protections and
conditional formats; :mod:`.markers` tells the product's sheets and columns
from the team's; :mod:`.columns` places the team's columns among the managed
ones; :mod:`.extras` keeps the team's cells with their rows, :mod:`.pending`
their unpushed edits in editable columns; :mod:`.notes` appends the cells of
rows that left to ``Archived notes``. The file itself is handled as a zip
package (:mod:`.package`, :mod:`.save`): only the managed sheets written are
read (:mod:`.scan`) and streamed back (:mod:`.sheetxml`, :mod:`.rowxml`),
every other member is copied as stored (:mod:`.zipcopy`), and the
stylesheet and workbook part get appended styles and names as text edits
(:mod:`.stylesxml`, :mod:`.workbookxml`).

Importing this package imports none of its modules (the destination is
:class:`.backend.XlsxBackend`), so its modules may import each other through it
without a circle.
"""
