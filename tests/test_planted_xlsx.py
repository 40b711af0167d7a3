"""Two workbook promises a plausible one-line slip would break (issue 24's planted bugs).

The streaming writer escapes text itself, so a cell like ``Smith & Sons`` must come
out as ``&amp;`` even when nothing else in it needs escaping, or the sheet is not
XML and no program opens the file. And the members the sync does not write are
copied as they were stored: a member the team's tool left uncompressed, or
compressed at another level, keeps its exact bytes and method — re-compressing
would still open, but would no longer be the team's file byte for byte.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, TabTemplate
from tests.test_xlsx_package import (  # noqa: F401 - soffice is a fixture
    frames,
    libreoffice_csv,
    sheet_parts,
    soffice,
)

SUPPLIERS = TabTemplate(
    title="Suppliers",
    columns=(
        ColumnSpec("Supplier", "supplier"),
        ColumnSpec("Orders", "orders", ColumnType.INTEGER),
    ),
)
NAMES = ["Smith & Sons", "A&B", " R&D ", "Tom & Jerry <Ltd>", "&amp; already"]


def suppliers() -> TabFrame:
    return TabFrame(SUPPLIERS, [(name, n) for n, name in enumerate(NAMES, start=1)])


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "ops.xlsx"


# -- "&" alone ----------------------------------------------------------------------


def test_an_ampersand_alone_gives_a_workbook_openpyxl_reads(book: Path) -> None:
    XlsxBackend(book).write_tabs([suppliers()])
    ws = load_workbook(book)["Suppliers"]
    assert [c.value for c in ws["A"]] == ["Supplier", *NAMES]


def test_an_ampersand_alone_gives_a_workbook_libreoffice_reads(
    soffice: str,  # noqa: F811 - the fixture imported above
    book: Path,
    tmp_path: Path,
) -> None:
    XlsxBackend(book).write_tabs([suppliers()])
    sheets = libreoffice_csv(soffice, book, tmp_path / "lo")
    assert [r[0] for r in sheets["Suppliers"]] == ["Supplier", *NAMES]


# -- members copied as stored ---------------------------------------------------------


def team_sheets(path: Path) -> None:
    """Two sheets of the team's, large enough that compression levels differ."""
    wb = load_workbook(path)
    for title in ("Team log", "Team plan"):
        ws = wb.create_sheet(title)
        for n in range(3000):
            ws.append([f"{title} entry {n}", n * 7 % 101, f"note {n * n % 997}"])
    wb.save(path)


def repack(path: Path, how: dict[str, tuple[int, int | None]]) -> None:
    """Rewrite the package with some members stored another way (method, level)."""
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in parts:
            method, level = how.get(info.filename, (zipfile.ZIP_DEFLATED, None))
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            archive.writestr(entry, data, compress_type=method, compresslevel=level)


def stored(path: Path) -> dict[str, tuple[int, bytes]]:
    """Each member's compression method and its bytes as stored (still compressed)."""
    out = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        for info in archive.infolist():
            raw.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<2H", raw.read(4))
            raw.seek(name_length + extra_length, 1)
            out[info.filename] = (info.compress_type, raw.read(info.compress_size))
    return out


def test_members_stored_uncompressed_or_at_another_level_keep_their_bytes(book: Path) -> None:
    XlsxBackend(book).write_tabs(frames([]))
    team_sheets(book)
    parts = sheet_parts(book)
    plain, fast = parts["Team log"], parts["Team plan"]
    repack(book, {plain: (zipfile.ZIP_STORED, None), fast: (zipfile.ZIP_DEFLATED, 1)})
    before = stored(book)
    assert before[plain][0] == zipfile.ZIP_STORED
    with zipfile.ZipFile(book) as archive:
        text = archive.read(fast)
    deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    assert before[fast][1] != deflate.compress(text) + deflate.flush()  # level 1 is visible
    XlsxBackend(book).write_tabs([TabFrame(frames([])[1].template, [("Ada",), ("Cy",)])])
    after = stored(book)
    assert after[plain] == before[plain]
    assert after[fast] == before[fast]
    wb = load_workbook(book)
    assert wb["Team log"]["A3000"].value == "Team log entry 2999"
    assert [c.value for c in wb["Onboarding"]["A"]] == ["Seller", "Ada", "Cy"]
