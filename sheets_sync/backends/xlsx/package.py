"""A workbook opened as the zip package it is, so a sync touches only what it writes.

Loading a whole workbook with openpyxl costs every cell of every sheet, twice
(read and save), so re-syncing a 50-cell tab of a 1.5 M-cell workbook took
tens of seconds. Here the package is opened without reading any sheet: the
workbook part, its relationships, defined names and the stylesheet make an
openpyxl :class:`Workbook` *shell* whose sheets are empty placeholders, so
:mod:`.markers`, :mod:`.columns` and the rest work on it unchanged. Only the
managed sheets about to be rewritten are read (:meth:`Package.scan`: one
streaming pass keeping just the cells the write needs), and :mod:`.save`
streams the new sheet parts into a new zip while every other member is copied
raw, byte for byte. A package is what was read; what will be written is the
writer's list of :class:`.save.SheetWrite`, so this module knows nothing of saving. A new workbook starts from a minimal package of its own
(:func:`skeleton`), so first writes and re-syncs follow the same path.
"""

from __future__ import annotations

import contextlib
import copy
import io
import posixpath
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element

from openpyxl import Workbook
from openpyxl.packaging.relationship import get_rels_path
from openpyxl.reader.excel import ExcelReader
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import apply_stylesheet, write_stylesheet
from openpyxl.utils import column_index_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet._reader import WorkSheetParser, WorksheetReader
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.theme import theme_xml
from openpyxl.xml.constants import PKG_REL_NS, REL_NS
from openpyxl.xml.constants import SHEET_MAIN_NS as MAIN_NS
from openpyxl.xml.functions import iterparse, tostring  # defusedxml when installed

from sheets_sync.backends.xlsx.scan import scan_part
from sheets_sync.backends.xlsx.stylesxml import StyleCounts
from sheets_sync.errors import DestinationError

SHEET_REL = f"{REL_NS}/worksheet"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ROW, _CELL, _COL = f"{{{MAIN_NS}}}row", f"{{{MAIN_NS}}}c", f"{{{MAIN_NS}}}col"
_DIGITS = "0123456789"


@dataclass
class SheetPart:
    """One sheet of the package: its title when opened, relationship and zip member."""

    title: str
    rel_id: str
    path: str
    sheet_id: int
    worksheet: bool = True  # False: a chart sheet or dialog sheet (never written)


@dataclass
class Scan:
    """What a streaming read of a managed sheet found besides the cells it kept."""

    last_value_column: int = 0


@dataclass
class Package:
    """An open ``.xlsx`` package; see the module docstring.

    ``wb`` is the shell workbook (placeholders, defined names, styles);
    ``parts`` maps each placeholder (by ``id``) to its sheet part.
    """

    archive: zipfile.ZipFile
    wb: Workbook
    workbook_path: str
    parts: dict[int, SheetPart] = field(default_factory=dict)
    names_before: dict[str, DefinedName] = field(default_factory=dict)
    styles_before: StyleCounts | None = None
    placeholders: list[Worksheet] = field(default_factory=list)  # alive: ``parts`` keys by id
    active_before: int = 0  # the active sheet's index in the file
    _strings: list[Any] | None = None

    @classmethod
    def open(cls, source: Path | IO[bytes]) -> Package:
        """Read the package's workbook part, names and styles; no sheet is read."""
        reader = ExcelReader(source, read_only=False, keep_vba=False, keep_links=True)
        reader.read_manifest()
        reader.read_workbook()
        wb = reader.wb
        package = cls(reader.archive, wb, reader.parser.workbook_part_name)
        for sheet, rel in reader.parser.find_sheets():
            if rel.target not in reader.valid_files:
                continue
            ws = wb.create_sheet(sheet.name)
            ws.sheet_state = sheet.state
            ids = int(sheet.sheetId)
            part = SheetPart(sheet.name, sheet.id, rel.target, ids, "chartsheet" not in rel.Type)
            package.parts[id(ws)] = part
            package.placeholders.append(ws)
        reader.parser.assign_names()
        package.active_before = wb._active_sheet_index
        package.names_before = {n: copy.copy(d) for n, d in wb.defined_names.items()}
        apply_stylesheet(reader.archive, wb)
        package.styles_before = StyleCounts.of(wb)
        return package

    def part_of(self, ws: Worksheet) -> SheetPart | None:
        return self.parts.get(id(ws))

    @property
    def shared_strings(self) -> list[Any]:
        """The shared-string table, read once, on first need (only to read sheets)."""
        if self._strings is None:
            path = posixpath.join(posixpath.dirname(self.workbook_path), "sharedStrings.xml")
            names = set(self.archive.namelist())
            if path in names:
                with self.archive.open(path) as src:
                    self._strings = list(read_string_table(src))
            else:
                self._strings = []
        return self._strings

    def load(self, ws: Worksheet) -> None:
        """Read every cell and sheet setting of ``ws`` (a small sheet rewritten in place)."""
        part = self.part_of(ws)
        if part is None or not part.worksheet:
            return
        with self._reading(part), self.archive.open(part.path) as src:
            WorksheetReader(ws, src, self.shared_strings, False, False).bind_all()

    @contextlib.contextmanager
    def _reading(self, part: SheetPart) -> Iterator[None]:
        """A sheet that cannot be parsed is one line naming the file and the sheet."""
        try:
            yield
        except Exception as error:  # a damaged part raises many kinds
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DestinationError(
                f"{self.archive.filename} is not a readable .xlsx workbook (sheet "
                f"{part.title!r}: {reason}); move it away or choose another path"
            ) from error

    def scan(self, ws: Worksheet, keep: Callable[[int], bool] | None = None) -> Scan:
        """Read the cells of ``ws`` whose column ``keep`` accepts (all without it), and its
        column widths, in one streaming pass; also note the last column holding a value.

        A managed tab's write needs only its row 1, key, editable and held
        columns and the team's columns: the computed columns, most of a large
        tab, are skipped without building a cell.
        """
        part = self.part_of(ws)
        scan = Scan()
        if part is None or not part.worksheet:
            return scan
        with self._reading(part):
            parser = self._parser()
            with self.archive.open(part.path) as src:
                last = scan_part(src, ws, parser, keep)
            if last is None:
                parser = self._parser()
                with self.archive.open(part.path) as src:
                    last = self._scan_cells(ws, parser, src, keep)
            scan.last_value_column = last
        reader = WorksheetReader.__new__(WorksheetReader)
        reader.ws, reader.parser = ws, parser
        reader.bind_col_dimensions()
        return scan

    def _parser(self) -> WorkSheetParser:
        """openpyxl's cell parser, bound to this workbook's strings, epoch and date styles."""
        return WorkSheetParser(
            io.BytesIO(), self.shared_strings, False, self.wb.epoch,
            self.wb._date_formats, self.wb._timedelta_formats,
        )  # fmt: skip

    def _scan_cells(
        self,
        ws: Worksheet,
        parser: WorkSheetParser,
        src: IO[bytes],
        keep: Callable[[int], bool] | None,
    ) -> int:
        columns: dict[str, int] = {}
        styles, grid, last = self.wb._cell_styles, ws._cells, 0
        for _, element in iterparse(src, events=("end",)):
            tag = element.tag
            if tag == _ROW:
                parser.row_counter = int(element.get("r") or parser.row_counter + 1)
                parser.col_counter = 0
                for cell in element:
                    if cell.tag == _CELL:
                        last = max(
                            last, self._scan_cell(parser, cell, columns, keep, grid, styles, ws)
                        )
                element.clear()
            elif tag == _COL:
                parser.parse_column_dimensions(element)
        return last

    @staticmethod
    def _scan_cell(
        parser: WorkSheetParser,
        element: Element,
        columns: dict[str, int],
        keep: Callable[[int], bool] | None,
        grid: dict[tuple[int, int], Any],
        styles: Any,
        ws: Worksheet,
    ) -> int:
        """Keep one cell when wanted; the cell's column when it holds a value, else 0."""
        reference = element.get("r")
        if reference:
            letters = reference.rstrip(_DIGITS)
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = column_index_from_string(letters)
        else:
            column = parser.col_counter + 1
        row = parser.row_counter
        if keep is None or row == 1 or keep(column):
            found = parser.parse_cell(element)
            cell = ws.cell(found["row"], found["column"])
            cell._value, cell.data_type = found["value"], found["data_type"]
            cell._style = styles[found["style_id"]].__copy__()
        else:
            parser.col_counter = column
        return column if len(element) else 0

    def close(self) -> None:
        self.archive.close()


def skeleton() -> io.BytesIO:
    """A valid package without sheets: what a new workbook starts from.

    The parts are the ones openpyxl writes for a new workbook (content types,
    package and workbook relationships, theme, default stylesheet, document
    properties), so a first write and a re-sync take the same path.
    """
    wb = Workbook()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _skeleton_parts(wb).items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _skeleton_parts(wb: Workbook) -> dict[str, bytes | str]:
    from openpyxl.packaging.extended import ExtendedProperties

    types = "application/vnd.openxmlformats-officedocument"
    return {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{types}.spreadsheetml.'
            'sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{types}.spreadsheetml.'
            'styles+xml"/>'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{types}.theme+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats'
            '-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{types}.extended-properties'
            '+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{REL_NS}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'
        ),
        "docProps/app.xml": tostring(ExtendedProperties().to_tree()),
        "docProps/core.xml": tostring(wb.properties.to_tree()),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets/>'
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId2" Type="{REL_NS}/theme" Target="theme/theme1.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": tostring(write_stylesheet(wb)),
        "xl/theme/theme1.xml": theme_xml,
    }


def rels_path(part: str) -> str:
    """``xl/worksheets/sheet1.xml`` → ``xl/worksheets/_rels/sheet1.xml.rels``."""
    return get_rels_path(part).lstrip("/")
