"""Parsed tab templates kept per version of the files they come from (docs/design.md §5).

A service syncing many times a minute spent a tenth of its CPU re-reading the
same YAML, so a folder's templates are parsed once per version of its
*template files*: the tab templates the loader reads (``tabs/*.yaml``) and the
SQL files they may name (beside them, or in ``sql/``). Nothing else kept in the
folder counts — not the alert rules (``alerts.yaml``), not the Apps Script
add-on, not a README — so editing those never re-parses the tabs. A template
file added, removed or edited is read again on the next call, and a broken
edit fails that call as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from sheets_sync.tab_templates.loader import load_templates, tabs_folder
from sheets_sync.tab_templates.model import TabTemplate
from sheets_sync.tab_templates.params import SettingParams

_TEMPLATES: dict[Path, tuple[bytes, dict[str, TabTemplate]]] = {}
_TEMPLATES_LOCK = threading.Lock()


def cached_templates(
    directory: Path,
    query_columns: Callable[[], Mapping[str, Collection[str]]],
    owned: SettingParams,
) -> dict[str, TabTemplate]:
    """:func:`load_templates` of ``directory``, parsed again only when its template files
    or ``owned`` (the params settings own, part of the version) changed.

    ``query_columns`` is asked only when the folder is parsed.
    """
    version = folder_version(directory) + repr(owned).encode()
    with _TEMPLATES_LOCK:
        cached = _TEMPLATES.get(directory)
        if cached is not None and cached[0] == version:
            return dict(cached[1])
    templates = load_templates(directory, query_columns(), owned)
    with _TEMPLATES_LOCK:
        _TEMPLATES[directory] = (version, templates)
    return dict(templates)


def template_files(directory: Path) -> list[Path]:
    """The files a load of ``directory`` may read: its tab templates and SQL files."""
    if not directory.is_dir():
        return []
    tabs = tabs_folder(directory)
    files = {p for p in tabs.glob("*.y*ml") if p.is_file()}
    for folder in (tabs, tabs.parent / "sql"):
        if folder.is_dir():
            files.update(p for p in folder.rglob("*.sql") if p.is_file())
    return sorted(files)


def folder_version(directory: Path) -> bytes:
    """A digest of every template file's name and bytes (modification times are too
    coarse: two saves within a few milliseconds can share one)."""
    digest = hashlib.sha256()
    for path in template_files(directory):
        digest.update(str(path).encode() + b"\0")
        with contextlib.suppress(OSError):  # removed while listed: the next call sees it gone
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()
