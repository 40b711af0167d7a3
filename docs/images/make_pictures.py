"""Render the demo workbook's Dashboard and a few tabs to the PNGs the README shows.

This script made the pictures in ``docs/images/``. To make them again, from the
repository root (LibreOffice and poppler from Debian's packages:
``apt-get install libreoffice-calc-nogui poppler-utils``)::

    .venv/bin/python -P docs/images/make_pictures.py             # runs the demo in a temp dir
    .venv/bin/python -P docs/images/make_pictures.py ops.xlsx    # or renders a workbook you have

How: the demo (``sheets-sync demo``) writes a workbook; for each picture a copy of
it keeps only that sheet (and the hidden sheet of its charts' data), with a print
area fitted to one landscape page; LibreOffice headless converts the copy to PDF (``soffice --headless
--convert-to pdf``, which exports visible sheets only) and ``pdftoppm`` turns the
page into a PNG.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.properties import PageSetupProperties

from sheets_sync.backends.xlsx.charts import data_title

HERE = Path(__file__).resolve().parent
PICTURES = {
    # picture name → (sheet, print area)
    "dashboard": ("Dashboard", "A1:R64"),
    "kpi_weekly": ("KPI Weekly", "A1:O30"),
    "seller_scorecard": ("Seller Scorecard", "A1:P24"),
}
DEMO_ORDERS = "20000"  # the README's pictures; the demo's default (60,000) renders the same
RESOLUTION = "110"  # dots per inch of the PNGs: readable, and small in the repository
TOOLS: dict[str, str] = {}  # tool → its full path, found once in main()
MARGIN = 12  # pixels of white kept around the page's content
INK = re.compile(rb"[\x00-\xf0]")  # a channel darker than near-white: the page has content there


def demo_workbook(folder: Path) -> Path:
    """Run ``sheets-sync demo`` in ``folder`` (a fresh database and workbook)."""
    command = [str(Path(sys.executable).with_name("sheets-sync")), "demo", "--orders", DEMO_ORDERS]
    subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return folder / "tradein-ops.xlsx"


def one_sheet_copy(book: Path, sheet: str, area: str, target: Path) -> Path:
    """A copy of ``book`` with only ``sheet`` (and the hidden data of its charts), printed
    on one landscape page. Dropping the big tabs keeps LibreOffice's conversion short."""
    wb = load_workbook(book)
    for ws in list(wb.worksheets):
        if ws.title not in (sheet, data_title(sheet)):
            wb.remove(ws)
    for name in list(wb.defined_names):  # the product's markers point at removed sheets
        del wb.defined_names[name]
    ws = wb[sheet]
    wb.active = wb.index(ws)
    ws.print_area = area
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
    wb.save(target)
    return target


def to_png(workbook: Path, name: str, work: Path) -> Path:
    """LibreOffice → PDF, then the first page → ``docs/images/<name>.png``."""
    profile = (work / "lo-profile").as_uri()  # its own profile: runs beside an open LibreOffice
    subprocess.run(  # noqa: S603 (our tools on our own files)
        [TOOLS["soffice"], f"-env:UserInstallation={profile}", "--headless", "--convert-to",
         "pdf", "--outdir", str(work), str(workbook)],
        check=True, stdout=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip
    pdf = work / f"{workbook.stem}.pdf"
    page = ["-r", RESOLUTION, "-f", "1", "-l", "1", "-singlefile", str(pdf)]
    subprocess.run([TOOLS["pdftoppm"], *page, str(work / name)], check=True)  # noqa: S603
    x, y, width, height = content_box(work / f"{name}.ppm")
    crop = ["-x", str(x), "-y", str(y), "-W", str(width), "-H", str(height)]
    stem = HERE / name
    subprocess.run([TOOLS["pdftoppm"], "-png", *crop, *page, str(stem)], check=True)  # noqa: S603
    return stem.with_suffix(".png")


def content_box(ppm: Path) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the page's content plus a margin: the page's white
    margins and the print area's empty cells would only shrink the picture."""
    raw = ppm.read_bytes()
    _, size, _, pixels = raw.split(b"\n", 3)  # P6, "width height", 255, then RGB bytes
    width, height = map(int, size.split())
    left, right, top, bottom = width, 0, height, 0
    for y in range(height):
        row = pixels[y * width * 3 : (y + 1) * width * 3]
        first = INK.search(row)
        if first is None:
            continue
        last = INK.search(row[::-1])
        assert last is not None
        top, bottom = min(top, y), y
        left = min(left, first.start() // 3)
        right = max(right, width - 1 - last.start() // 3)
    if right < left:
        return 0, 0, width, height
    x0, y0 = max(left - MARGIN, 0), max(top - MARGIN, 0)
    return x0, y0, min(right + MARGIN, width - 1) - x0, min(bottom + MARGIN, height - 1) - y0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", nargs="?", type=Path, help="render this workbook, not a demo")
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm"):
        path = shutil.which(tool)
        if path is None:
            sys.exit(f"{tool} is missing: apt-get install libreoffice-calc-nogui poppler-utils")
        TOOLS[tool] = path
    with tempfile.TemporaryDirectory(prefix="pictures-") as tmp:
        work = Path(tmp)
        book = args.workbook.resolve() if args.workbook else demo_workbook(work)
        for name, (sheet, area) in PICTURES.items():
            copy = one_sheet_copy(book, sheet, area, work / f"{name}.xlsx")
            print(to_png(copy, name, work).relative_to(HERE.parent.parent))


if __name__ == "__main__":
    main()
