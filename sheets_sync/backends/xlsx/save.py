"""Write the new package: rewritten sheets streamed, every other member copied raw.

What changes besides the sheets written: the workbook part (names, new
sheets — :mod:`.workbookxml`), its relationships and the content types (new
parts), the stylesheet (appended styles — :mod:`.stylesxml`), and the parts
that hung only off a rewritten sheet's previous version (its drawing, charts,
comments), which go with it, as they did when the sheet was rebuilt with
openpyxl. ``calcChain.xml`` is dropped (Excel rebuilds it; a stale one makes
it repair the file). Everything else is :func:`.zipcopy.copy_member`'d.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.packaging.relationship import RelationshipList, get_dependents
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from sheets_sync.backends.xlsx import stylesxml, workbookxml
from sheets_sync.backends.xlsx.package import SHEET_REL, SHEET_TYPE, Package, SheetPart, rels_path
from sheets_sync.backends.xlsx.sheetxml import DataRows, write_sheet
from sheets_sync.backends.xlsx.zipcopy import copy_member
from sheets_sync.errors import DestinationError

CONTENT_TYPES = "[Content_Types].xml"
COMPRESSION_LEVEL = 6  # zlib's default, as openpyxl and Excel: level 1 is ~3× faster but the
# demo's Pricing sheet 25 % bigger (0.36 s against 0.12 s of CPU for its 45 MB of XML)
_LARGE = 1 << 31


@dataclass
class SheetWrite:
    """A sheet of the shell to write: its cells and settings, the data rows streamed under
    them, and the part it replaces (``None``: a new sheet)."""

    ws: Worksheet
    data: DataRows | None
    part: SheetPart | None
    raw: bytes | None = None  # the part's new XML as is (a patch: its relationships kept)


def save(package: Package, writes: list[SheetWrite], target: str) -> None:
    """Write ``package`` with ``writes`` applied to the file ``target``."""
    _Saver(package, writes).save(target)


class _Saver:
    def __init__(self, package: Package, writes: list[SheetWrite]) -> None:
        self.package, self.writes = package, writes
        self.archive = package.archive
        self.names = set(self.archive.namelist())
        self.folder = posixpath.dirname(package.workbook_path)
        self.workbook_rels = rels_path(package.workbook_path)
        self.styles = self._styles_part()
        self.added_types: list[tuple[str, str]] = []
        self.new_sheets: list[tuple[SheetWrite, workbookxml.NewSheet, str]] = []
        self.removed = self._removed()

    def save(self, target: str) -> None:
        special = {self.package.workbook_path, self.workbook_rels, CONTENT_TYPES, self.styles}
        by_path = {w.part.path: w for w in self.writes if w.part is not None}
        self._plan_new_sheets()
        with zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=COMPRESSION_LEVEL
        ) as out:
            for info in self.archive.infolist():
                name = info.filename
                if name in self.removed or name in special:
                    continue
                if name in by_path:
                    self._write_sheet(out, by_path[name], name)
                else:
                    copy_member(self.archive, out, info)
            for write, _, path in self.new_sheets:
                self._write_sheet(out, write, path)
            self._write_index_parts(out)

    # -- what goes ----------------------------------------------------------------

    def _styles_part(self) -> str:
        rels = get_dependents(self.archive, self.workbook_rels)
        found = [r.target for r in rels if r.Type.endswith("/styles")]
        return found[0] if found else f"{self.folder}/styles.xml"

    def _removed(self) -> set[str]:
        """Parts that only a rewritten sheet's previous version used, its relationships, and
        the calculation chain."""
        rewritten = {w.part.path for w in self.writes if w.part is not None and w.raw is None}
        removed = {rels_path(p) for p in rewritten if rels_path(p) in self.names}
        removed |= {n for n in self.names if n == f"{self.folder}/calcChain.xml"}
        targets = {r: self._targets(r) for r in self.names if r.endswith(".rels")}
        frontier = [t for r in list(removed) for t in targets.get(r, ())]
        while frontier:
            part = frontier.pop()
            if part in removed or part not in self.names or part in rewritten:
                continue
            if any(part in t for r, t in targets.items() if r not in removed):
                continue
            removed.add(part)
            own = rels_path(part)
            if own in self.names:
                removed.add(own)
                frontier.extend(targets.get(own, ()))
        return removed

    def _targets(self, rels: str) -> list[str]:
        try:
            return [
                r.target for r in get_dependents(self.archive, rels) if r.TargetMode != "External"
            ]
        except Exception:  # a relationships part we cannot read is left alone
            return []

    def _plan_new_sheets(self) -> None:
        xml = self.archive.read(self.workbook_rels).decode()
        rel_number = workbookxml.next_rel_id(xml)
        sheet_id = max([p.sheet_id for p in self.package.parts.values()], default=0) + 1
        taken = set(self.names)
        number = 1
        for write in (w for w in self.writes if w.part is None):
            while f"{self.folder}/worksheets/sheet{number}.xml" in taken:
                number += 1
            path = f"{self.folder}/worksheets/sheet{number}.xml"
            taken.add(path)
            state = write.ws.sheet_state
            new = workbookxml.NewSheet(write.ws.title, sheet_id, f"rId{rel_number}", state)
            self.new_sheets.append((write, new, path))
            self.added_types.append((path, SHEET_TYPE))
            sheet_id, rel_number = sheet_id + 1, rel_number + 1

    # -- writing ------------------------------------------------------------------

    def _write_sheet(self, out: zipfile.ZipFile, write: SheetWrite, path: str) -> None:
        if write.raw is not None:
            out.writestr(path, write.raw)
            return
        big = (
            write.data is not None and len(write.data.rows) * len(write.data.positions) > 20_000_000
        )
        with out.open(path, "w", force_zip64=big) as stream:
            rels = write_sheet(stream, write.ws, write.data)
        self._write_drawing(out, write.ws, rels)
        if len(rels):
            out.writestr(rels_path(path), tostring(rels.to_tree()))

    def _write_drawing(self, out: zipfile.ZipFile, ws: Worksheet, rels: RelationshipList) -> None:
        """The charts of a managed sheet (openpyxl chart objects added with ``ws.add_chart``):
        a drawing part, one part per chart, and the relationships between them."""
        if ws._images:
            raise DestinationError(
                f"sheet {ws.title!r}: images on a managed tab are not written (charts are); "
                "remove the image from the chart hook"
            )
        if not ws._charts:
            return
        drawing = SpreadsheetDrawing()
        drawing.charts = ws._charts
        drawing._id = self._free("drawings/drawing{}.xml")
        for chart in ws._charts:
            chart._id = self._free("charts/chart{}.xml")
        out.writestr(drawing.path[1:], tostring(drawing._write()))
        out.writestr(rels_path(drawing.path[1:]), tostring(drawing._write_rels()))
        self.added_types.append((drawing.path[1:], drawing.mime_type))
        for chart in ws._charts:
            out.writestr(chart.path[1:], tostring(chart._write()))
            self.added_types.append((chart.path[1:], chart.mime_type))
        for rel in rels:
            if rel.Type.endswith("/drawing"):
                rel.Target = drawing.path

    def _free(self, pattern: str) -> int:
        """The first number free for a new part (openpyxl's part paths live under ``xl/``)."""
        number = 1
        taken = (self.names - self.removed) | {p for p, _ in self.added_types}
        while f"xl/{pattern.format(number)}" in taken:
            number += 1
        self.added_types.append((f"xl/{pattern.format(number)}", ""))  # reserve
        return number

    def _write_index_parts(self, out: zipfile.ZipFile) -> None:
        package, wb = self.package, self.package.wb
        styles = self.archive.read(self.styles).decode()
        before = package.styles_before or stylesxml.StyleCounts.of(wb)
        out.writestr(self.styles, stylesxml.merged(styles, wb, before) or styles)
        out.writestr(package.workbook_path, self._workbook_xml())
        rels = self.archive.read(self.workbook_rels).decode()
        rels = workbookxml.remove_relationships(rels, self._removed_from(self.folder))
        new_rels = [
            (n.rel_id, SHEET_REL, posixpath.relpath(p, self.folder)) for _, n, p in self.new_sheets
        ]
        out.writestr(self.workbook_rels, workbookxml.add_relationships(rels, new_rels))
        types = self.archive.read(CONTENT_TYPES).decode()
        added = [(p, t) for p, t in self.added_types if t]
        out.writestr(CONTENT_TYPES, workbookxml.edit_content_types(types, added, self.removed))

    def _removed_from(self, folder: str) -> list[str]:
        return [posixpath.relpath(p, folder) for p in self.removed if p.startswith(folder + "/")]

    def _workbook_xml(self) -> str:
        wb, package = self.package.wb, self.package
        renamed: dict[str, str] = {}
        for write in self.writes:
            if write.part is not None and write.part.title != write.ws.title:
                renamed[write.part.rel_id] = write.ws.title
        holders = self._holders()
        new_index = {id(ws): i for i, ws in enumerate(wb._sheets)}
        moved = {old: new_index[id(ws)] for old, ws in enumerate(holders) if id(ws) in new_index}
        rewritten = [i for i, ws in enumerate(holders) if self._rewritten(ws)]
        filters = {
            new_index[id(w.ws)]: f"{_quoted(w.ws.title)}!{_absolute(w.ws.auto_filter.ref)}"
            for w in self.writes
            if w.ws.auto_filter.ref
        }
        names = workbookxml.NameEdits(
            package.names_before, dict(wb.defined_names.items()), rewritten, filters, moved
        )
        order = [self._rel_id(ws) for ws in wb._sheets]
        before = [package.parts[id(p)].rel_id for p in package.placeholders]
        active = wb._active_sheet_index if wb._active_sheet_index != package.active_before else None
        xml = self.archive.read(package.workbook_path).decode()
        new = [n for _, n, _ in self.new_sheets]
        reordered = order if order[: len(before)] != before else None
        states = {w.part.rel_id: w.ws.sheet_state for w in self.writes if w.part is not None}
        return workbookxml.edit_workbook(xml, renamed, new, names, reordered, active, states)

    def _holders(self) -> list[Worksheet]:
        """The sheet now holding each part of the file, in the file's order."""
        replaced = {w.part.rel_id: w.ws for w in self.writes if w.part is not None}
        parts = self.package.parts
        return [replaced.get(parts[id(p)].rel_id, p) for p in self.package.placeholders]

    def _rewritten(self, ws: Worksheet) -> bool:
        return any(w.ws is ws and w.raw is None for w in self.writes)

    def _rel_id(self, ws: Worksheet) -> str:
        for write, new, _ in self.new_sheets:
            if write.ws is ws:
                return new.rel_id
        for write in self.writes:
            if write.ws is ws and write.part is not None:
                return write.part.rel_id
        return self.package.parts[id(ws)].rel_id


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    from openpyxl.utils.cell import absolute_coordinate

    return str(absolute_coordinate(ref))


def written_titles(writes: Iterable[SheetWrite]) -> list[str]:
    return [w.ws.title for w in writes]
