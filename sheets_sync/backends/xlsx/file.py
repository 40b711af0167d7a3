"""The workbook file on disk: opened with one-line errors, replaced atomically.

Whatever goes wrong with the file itself (a missing folder, a read-only or
damaged file, a full disk) is one :class:`DestinationError` line saying what
to do; a save goes to a temporary file beside the destination, moved over it
with ``os.replace``, so a failure leaves the previous workbook as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from openpyxl import Workbook, load_workbook

from sheets_sync.backends.xlsx.package import Package, skeleton
from sheets_sync.errors import DestinationError

_T = TypeVar("_T")


def open_package(path: Path) -> tuple[Package, bool]:
    """The existing workbook's package to update, or a new empty one (``fresh``).

    What would make the save fail later is refused here, before any work.
    Only the workbook part, names and styles are read (:mod:`.package`).
    """
    directory = path.parent
    if not directory.is_dir():
        raise DestinationError(
            f"cannot write {path}: folder {directory} does not exist; create it first"
        )
    if not path.exists():
        return Package.open(skeleton()), True
    if not stat.S_IMODE(path.stat().st_mode) & stat.S_IWUSR:
        raise DestinationError(
            f"cannot write {path}: the file is read-only; make it writable "
            "(chmod u+w) or choose another path"
        )
    return guarded(path, lambda: Package.open(path)), False


def load(path: Path, read_only: bool) -> Workbook:
    return guarded(path, lambda: load_workbook(path, read_only=read_only, data_only=False))


def guarded(path: Path, read: Callable[[], _T]) -> _T:
    """Open the file with ``read``; a failure is one line saying what to do."""
    if path.is_dir():
        raise DestinationError(
            f"{path} is a folder, not a workbook; give a file path ending in .xlsx"
        )
    try:
        return read()
    except PermissionError as error:
        raise DestinationError(
            f"cannot read {path}: permission denied; give your user read and write "
            "access to it, or choose another path"
        ) from error
    except Exception as error:  # openpyxl and zipfile raise many kinds on a damaged file
        raise DestinationError(
            f"{path} is not a readable .xlsx workbook ({_reason(error)}); move it "
            "away or choose another path"
        ) from error


def replace(path: Path, write: Callable[[str], None]) -> None:
    """Write beside the destination, then atomically replace it.

    Any failure leaves the previous file as it was and no temporary file
    behind, and is one :class:`DestinationError` naming the path and the fix
    (the same words as :func:`sheets_sync.destinations.check_writable`,
    which checks before the run; the folder may change in between).
    """
    folder = path.parent
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise DestinationError(
            f"cannot write {path}: folder {folder} does not accept new files "
            f"({_reason(error)}); choose a folder you can write to"
        ) from error
    try:
        os.close(handle)
        os.chmod(tmp, _file_mode(path))
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except OSError as error:
        raise DestinationError(
            f"cannot write {path} ({_reason(error)}); nothing was changed. Check that "
            f"folder {folder} has free space and that no other program locks the file "
            "(close it in Excel), or choose another path"
        ) from error
    except Exception as error:  # openpyxl could not serialise what the file holds
        raise DestinationError(
            f"cannot save {path} ({_reason(error)}); nothing was changed. Open the "
            "workbook in Excel or LibreOffice and save it again, or choose another path"
        ) from error
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _reason(error: BaseException) -> str:
    """The error in a few words, on one line."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join((text or type(error).__name__).split())


def _file_mode(path: Path) -> int:
    """The replaced file keeps its mode; a new one gets the usual umask mode, not
    ``mkstemp``'s owner-only 0600 (a shared report folder must stay readable)."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
