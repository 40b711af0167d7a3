"""Where a sync writes: ``xlsx:PATH`` or ``gsheets:SPREADSHEET_ID`` (docs/design.md §6).

Parsing is separate from opening so the CLI and the webhook can reject a bad
destination before touching the database. Each backend is imported only when
its destination is opened: the workbook backend needs no Google libraries and
the Google backend no openpyxl.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from sheets_sync.backends.base import SheetBackend
from sheets_sync.config.parts import SheetsSettings
from sheets_sync.errors import DestinationError

ACCEPTED_FORMS = "xlsx:PATH (e.g. xlsx:tradein-ops.xlsx) or gsheets:SPREADSHEET_ID"
_SPREADSHEET_ID = re.compile(r"^[A-Za-z0-9_-]{10,}$")


@dataclass(frozen=True)
class Destination:
    """A parsed destination: its kind (``xlsx`` / ``gsheets``) and target."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_destination(spec: str) -> Destination:
    """Split ``KIND:TARGET`` and validate the target for its kind."""
    kind, sep, target = spec.strip().partition(":")
    kind = kind.lower()
    if not sep or kind not in _OPENERS or not target.strip():
        raise DestinationError(f"destination {spec!r} is not understood; write {ACCEPTED_FORMS}")
    target = target.strip()
    if kind == "xlsx" and not target.lower().endswith(".xlsx"):
        suggestion = Path(target).with_suffix(".xlsx") if Path(target).suffix else f"{target}.xlsx"
        raise DestinationError(
            f"destination {spec!r}: a workbook path must end in .xlsx, e.g. xlsx:{suggestion}"
        )
    if kind == "gsheets" and not _SPREADSHEET_ID.match(target):
        raise DestinationError(
            f"destination {spec!r}: {target!r} is not a spreadsheet id; copy the id from the "
            "sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit), e.g. gsheets:1AbC…"
        )
    return Destination(kind, target)


def open_destination(
    spec: str | Destination, sheets: SheetsSettings, engine: Engine | None
) -> SheetBackend:
    """The backend writing to ``spec`` (only a Google spreadsheet reads ``sheets``).

    ``engine``'s database holds the Sheets quota every process and instance shares
    (:mod:`sheets_sync.quota`): a spreadsheet's requests wait their turn in it. Asked
    of every caller, so none opens a spreadsheet outside it by forgetting; None only
    where no database is at hand (then the 429 backoff alone paces the requests).
    """
    destination = spec if isinstance(spec, Destination) else parse_destination(spec)
    return _OPENERS[destination.kind](destination, sheets, engine)


def _open_xlsx(
    destination: Destination, sheets: SheetsSettings, engine: Engine | None
) -> SheetBackend:
    from sheets_sync.backends.xlsx.backend import XlsxBackend

    return XlsxBackend(Path(destination.target).expanduser())


def check_writable(destination: Destination) -> None:
    """Refuse a workbook path that could not be saved, before anything is computed.

    The CLI calls this first, so a typo'd or read-only path costs no KPI
    computation and records no run. The backend saves to a temporary file beside
    the workbook and moves it over the old one, so the folder must accept new
    files; a read-only workbook is taken as its owner's wish that it not be
    replaced. A spreadsheet is checked by Google when it is opened.
    """
    if destination.kind != "xlsx":
        return
    path = Path(destination.target).expanduser()
    if path.is_dir():
        raise DestinationError(
            f"cannot write {path}: it is a folder; give a workbook file inside it, "
            f"e.g. xlsx:{path / 'tradein-ops.xlsx'}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise DestinationError(
            f"cannot write {path}: folder {folder} does not exist; create it first"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise DestinationError(
            f"cannot write {path}: the file is read-only; make it writable (chmod u+w) "
            "or choose another path"
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise DestinationError(
            f"cannot write {path}: folder {folder} does not accept new files "
            f"({error.strerror}); choose a folder you can write to"
        ) from error


def _open_gsheets(
    destination: Destination, sheets: SheetsSettings, engine: Engine | None
) -> SheetBackend:
    from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend

    backend: SheetBackend = GoogleSheetsBackend(sheets, destination.target, engine=engine)
    return backend


_OPENERS: dict[str, Callable[[Destination, SheetsSettings, Engine | None], SheetBackend]] = {
    "xlsx": _open_xlsx,
    "gsheets": _open_gsheets,
}
