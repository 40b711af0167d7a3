"""Which sheets are the product's: found by developer metadata, never by title alone.

Every sheet the product creates (a managed tab, a pivot sheet, ``Archived
notes``) carries a sheet-level tag (:data:`.state.TAB_KEY`, value = its
managed title) created in the same batch as the sheet. On later syncs:

- a tagged sheet is ours whatever the team renamed it to; its title is put
  back (titles are what pivots, formulas and people refer to);
- an untagged sheet titled like a managed one is the team's: the run stops
  before any write, unless ``--adopt`` (then it is tagged and managed from now
  on) or it carries what earlier versions left on their sheets (the tab's
  named range, or our protected range), in which case it is tagged silently
  (migration); a pivot sheet migrates with its source tab.

Pure: the reads come in as a :class:`BookState`, the answer is the state with
managed sheets keyed by their managed titles plus the requests (renames,
tags) that open the structural batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.gsheets import charts, structure
from sheets_sync.backends.gsheets.cells import column_letter
from sheets_sync.backends.gsheets.state import BookState, SheetState
from sheets_sync.errors import DestinationError
from sheets_sync.frame import TabFrame


@dataclass(frozen=True)
class Ownership:
    """The state keyed by managed titles, and what the batch must do first."""

    state: BookState
    requests: list[dict[str, Any]] = field(default_factory=list)
    archive_blocked: bool = False
    """A team sheet is titled ``Archived notes``: archiving notes must stop the run."""


@dataclass(frozen=True)
class _Wanted:
    title: str
    what: str  # how the error message says what would happen to it
    source: str | None = None  # a pivot's source tab


def resolve(state: BookState, frames: Sequence[TabFrame], options: WriteOptions) -> Ownership:
    """Claim the sheets this run manages; raise before any write on a team sheet."""
    sheets = dict(state.sheets)
    requests: list[dict[str, Any]] = []
    migrated: set[str] = set()
    claimed: dict[str, SheetState] = {}
    for wanted in _wanted(frames, set(state.tab_tags.values())):
        sheet = _claim(state, sheets, wanted, options, migrated, requests)
        if sheet is not None:
            claimed[wanted.title] = sheet
    archive = ARCHIVE_TITLE
    blocked = False
    try:
        sheet = _claim(state, sheets, _Wanted(archive, ""), options, migrated, requests)
    except DestinationError:
        sheet, blocked = None, True
    if sheet is not None:
        claimed[archive] = sheet
    sheets.update(claimed)
    return Ownership(replace(state, sheets=sheets), requests, blocked)


def _wanted(frames: Sequence[TabFrame], tagged: set[str]) -> list[_Wanted]:
    """The sheets the frames need; a tab's chart-table sheet also while it is still there
    (tagged) after the tab dropped its charts, so it can be deleted."""
    out = []
    for frame in frames:
        last = column_letter(frame.width - 1)
        out.append(_Wanted(frame.title, f"your columns right of {last} are kept"))
        out.extend(
            _Wanted(p.title, "a pivot table of the tab takes its place", frame.title)
            for p in frame.template.pivots
        )
        if frame.template.charts or charts.data_title(frame.title) in tagged:
            what = "the tables its charts draw take its place"
            out.append(_Wanted(charts.data_title(frame.title), what, frame.title))
    return out


def _claim(
    state: BookState,
    sheets: dict[str, SheetState],
    wanted: _Wanted,
    options: WriteOptions,
    migrated: set[str],
    requests: list[dict[str, Any]],
) -> SheetState | None:
    """Our sheet for ``wanted`` (removed from ``sheets``' title keys), or None: a new one."""
    title = wanted.title
    tagged = next(
        (s for s in state.sheets.values() if state.tab_tags.get(s.sheet_id) == title), None
    )
    same_title = sheets.get(title)
    if tagged is not None:
        if tagged.title != title:
            if same_title is not None:
                raise _renamed_over(title, tagged.title)
            requests.append(structure.rename_sheet(tagged.sheet_id, title))
        sheets.pop(tagged.title, None)
        return tagged
    if same_title is None:
        return None
    if same_title.sheet_id in state.tab_tags:
        other = state.tab_tags[same_title.sheet_id]
        raise DestinationError(
            f"sheet {title!r} is sheets-sync's {other!r} renamed; nothing was written: "
            f"rename it back to {other!r}"
        )
    if _fingerprinted(state, same_title, wanted) or wanted.source in migrated:
        migrated.add(title)
    elif not options.adopt:
        raise _team_sheet(wanted)
    requests.append(structure.tag_sheet(same_title.sheet_id, title))
    sheets.pop(title)
    return same_title


def _fingerprinted(state: BookState, sheet: SheetState, wanted: _Wanted) -> bool:
    """What versions before the tags left on a managed tab: its named range or our protection."""
    named = state.named_range(structure.range_name(wanted.title))
    if named is not None and int(named.get("range", {}).get("sheetId", 0)) == sheet.sheet_id:
        return True
    return any(structure.is_ours(p) for p in sheet.protected_ranges)


def _team_sheet(wanted: _Wanted) -> DestinationError:
    takeover = f"its content will be replaced; {wanted.what}" if wanted.what else "rows are added"
    return DestinationError(
        f"sheet {wanted.title!r} was not created by sheets-sync (it has no sheets-sync tag), so "
        f"it is left alone and nothing was written: rename your sheet, or run again with "
        f"--adopt to let sheets-sync take it over ({takeover})"
    )


def _renamed_over(title: str, current: str) -> DestinationError:
    return DestinationError(
        f"sheet {current!r} is sheets-sync's {title!r} renamed, and another sheet is titled "
        f"{title!r}; nothing was written: rename or delete one of them so that sheets-sync "
        f"can put its title back"
    )
