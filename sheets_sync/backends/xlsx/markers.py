"""Which sheets and columns of a workbook are the product's: hidden defined names.

A workbook has no developer metadata, but it has workbook-level defined names,
and Excel and LibreOffice keep a name pointing at its cells when the team
renames the sheet, inserts, deletes or moves rows and columns (a deleted
column's name becomes ``'Tab'!#REF!``). So every managed sheet carries one
hidden name, ``_sheets_sync_tab_<title>_<digest>`` → ``'Sheet'!$1:$1048576``,
and every managed column of a tab one more, ``_sheets_sync_col_<tab digest>_
<header>_<digest>`` → ``'Sheet'!$C:$C``. The names are computed from the tab
title and the column header (the digest makes them unique and case-safe), so
finding a tab's sheet or a column's current place is one look-up, and nothing
relies on a name comment another program could drop.

A sheet titled like a managed tab without its marker is the team's and is
never written unless the user adopts it (``--adopt``). Workbooks written
before the markers existed carry the ``ss_<title>`` range name of
:mod:`.extras` on each tab: that is the migration fingerprint — such a sheet
(and the pivot sheets of its tab) is taken as the product's and marked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.errors import DestinationError

TAB_PREFIX = "_sheets_sync_tab_"
COLUMN_PREFIX = "_sheets_sync_col_"
_WHOLE_SHEET = "$1:$1048576"
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(.+)$")
_COLUMN = re.compile(r"^\$?([A-Za-z]{1,3})(?::\$?([A-Za-z]{1,3}))?$")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _slug(text: str, length: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:length]


def tab_marker(title: str) -> str:
    """The marker name of tab ``title``: readable in Excel's name manager, unique by digest."""
    return f"{TAB_PREFIX}{_slug(title, 40)}_{_digest(title)}"


def _column_prefix(title: str) -> str:
    return f"{COLUMN_PREFIX}{_digest(title)}_"


def column_marker(title: str, header: str) -> str:
    return f"{_column_prefix(title)}{_slug(header, 40)}_{_digest(header)}"


def quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def parse_ref(text: str | None) -> tuple[str, str] | None:
    """``(sheet title, area)`` of a one-sheet reference; ``None`` when the sheet is gone."""
    match = _REF.match((text or "").strip())
    if match is None:
        return None
    sheet = match.group(1).replace("''", "'") if match.group(1) else match.group(2)
    return sheet, match.group(3)


def _target(wb: Workbook, name: str) -> tuple[str, str] | None:
    defined = wb.defined_names.get(name)
    return parse_ref(defined.attr_text) if defined is not None else None


def _put(wb: Workbook, name: str, ref: str, comment: str) -> None:
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=ref, hidden=True, comment=comment)


# -- sheets --------------------------------------------------------------------


@dataclass
class Resolved:
    """Where tab ``title`` lives: ``ours`` (marked or migrated) and/or a ``foreign``
    sheet holding the title that the product did not create."""

    title: str
    ours: Worksheet | None = None
    foreign: Worksheet | None = None
    legacy: bool = False  # ours by the ``ss_`` fingerprint: written before markers existed
    adopted: bool = False  # the team's sheet, taken over with ``--adopt``

    def adopt(self) -> None:
        """Take the foreign sheet over: its content is replaced on this write."""
        if self.foreign is not None:
            self.ours, self.foreign, self.adopted = self.foreign, None, True


def resolve(wb: Workbook, title: str, legacy_ok: bool = False) -> Resolved:
    """Find tab ``title``'s sheet by its marker, else by the ``ss_`` fingerprint.

    ``legacy_ok`` takes a same-titled unmarked sheet as ours without the
    fingerprint (a pivot sheet of a tab written before markers existed).
    """
    found = Resolved(title)
    target = _target(wb, tab_marker(title))
    if target is not None and target[0] in wb.sheetnames:
        found.ours = wb[target[0]]
    holder = wb[title] if title in wb.sheetnames else None
    if holder is None or holder is found.ours:
        return found
    if found.ours is None and (legacy_ok or _has_fingerprint(wb, title)):
        found.ours, found.legacy = holder, True
    else:
        found.foreign = holder
    return found


def _has_fingerprint(wb: Workbook, title: str) -> bool:
    target = _target(wb, range_name(title))
    return target is not None and target[0] == title


def foreign_error(where: str, titles: Sequence[str]) -> DestinationError:
    """One line naming the team's sheets that hold managed titles, and the two ways out."""
    shown = ", ".join(repr(t) for t in titles)
    one = len(titles) == 1
    return DestinationError(
        f"{where}: sheet{'' if one else 's'} {shown} {'is' if one else 'are'} not managed by "
        "sheets-sync (no sheets-sync marker) but titled like a tab it writes; nothing was "
        f"written. Rename your sheet{'' if one else 's'}, or run again with --adopt to let "
        f"sheets-sync take {'it' if one else 'them'} over (content replaced; columns right "
        "of the managed ones kept)"
    )


def renamed_over_error(where: str, title: str, current: str) -> DestinationError:
    return DestinationError(
        f"{where}: sheet {current!r} is sheets-sync's {title!r} renamed, and another sheet is "
        f"titled {title!r}; nothing was written: rename or delete one of them so that "
        "sheets-sync can put its title back"
    )


def mark_sheet(wb: Workbook, title: str) -> None:
    """Point tab ``title``'s marker at the sheet now titled ``title``."""
    _put(wb, tab_marker(title), f"{quoted(title)}!{_WHOLE_SHEET}", f"sheets-sync tab {title}")


# -- the data range (and migration fingerprint) ---------------------------------


def range_name(title: str) -> str:
    """A valid defined-name for a tab title (letters, digits and underscores)."""
    return "ss_" + re.sub(r"\W+", "_", title).strip("_")


def record_range(wb: Workbook, title: str, last_column: int, rows: int) -> None:
    """Name the tab's data range (header and data rows, through its last managed column)."""
    ref = f"{quoted(title)}!$A$1:${get_column_letter(last_column)}${rows + 1}"
    name = range_name(title)
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def managed_width(wb: Workbook, title: str, default: int) -> int:
    name = wb.defined_names.get(range_name(title))
    if name is None or not name.attr_text or "!" not in name.attr_text:
        return default
    try:
        _, _, max_col, _ = range_boundaries(name.attr_text.split("!")[-1].replace("$", ""))
    except (ValueError, TypeError):
        return default
    return int(max_col or default)


# -- columns -------------------------------------------------------------------


def column_places(wb: Workbook, title: str, sheet: str) -> dict[str, int | None] | None:
    """Each column marker of the tab on ``sheet`` → its column now (``None``: deleted).

    Keys are marker names. Excel keeps the sheet of a deleted column's name
    (``'Tab'!#REF!``), so a deleted managed column is still known to be ours.
    ``None`` as a whole: the sheet has no column markers (written before they
    existed), so its columns are read by position.
    """
    prefix = _column_prefix(title)
    places: dict[str, int | None] = {}
    for name in [n for n in wb.defined_names if n.startswith(prefix)]:
        target = _target(wb, name)
        if target is not None and target[0] == sheet:
            places[name] = _column_of(target[1])
    return places or None


def _column_of(area: str) -> int | None:
    match = _COLUMN.match(area)
    if match is None or (match.group(2) and match.group(2).upper() != match.group(1).upper()):
        return None
    return column_index_from_string(match.group(1).upper())


def mark_columns(wb: Workbook, title: str, headers: list[str], positions: list[int]) -> None:
    """Replace the tab's column markers: one per managed column, at its column."""
    prefix = _column_prefix(title)
    for name in [n for n in wb.defined_names if n.startswith(prefix)]:
        del wb.defined_names[name]
    for header, position in zip(headers, positions, strict=True):
        letter = get_column_letter(position)
        ref = f"{quoted(title)}!${letter}:${letter}"
        _put(wb, column_marker(title, header), ref, f"sheets-sync column {header} of {title}")
