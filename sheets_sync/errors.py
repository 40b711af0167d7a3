"""One exception hierarchy for the whole library.

Callers (the CLI, the webhook, the job runner) need to know two things about a
failure: can retrying help, and what should the user do. ``TransientError``
subclasses are worth retrying; everything else is terminal and its message
names the fix.
"""

from __future__ import annotations

from typing import Any


class SheetsSyncError(Exception):
    """Base class: every error the library raises on purpose.

    Picklable with whatever attributes a subclass adds: a sync run in a child
    process (:mod:`sheets_sync.jobs.processes`) hands its error to the parent,
    which raises it as a thread would. Pickle's default rebuilds an exception by
    calling its class with ``args`` alone, which fails for those taking more.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (type(self), self.args), self.__dict__


def _rebuilt(cls: type[SheetsSyncError], args: tuple[Any, ...]) -> SheetsSyncError:
    error = cls.__new__(cls, *args)
    error.args = args
    return error


class TransientError(SheetsSyncError):
    """A failure that may go away on retry (quota, 5xx, timeout, dropped link)."""


class BusyError(TransientError):
    """Another run holds the destination's lock and did not let go within the wait.

    ``holder`` is the :class:`sheets_sync.locks.holder.Holder` seen last (None when the
    holder left no note), so callers can report it without parsing the message.
    """

    def __init__(self, message: str, destination: str, holder: Any = None) -> None:
        super().__init__(message)
        self.destination = destination
        self.holder = holder


class QuotaWaitError(TransientError):
    """A run waited as long as it may (``SHEETS_SYNC_QUOTA_WAIT_SECONDS``) for the shared
    Sheets quota (:mod:`sheets_sync.quota`); ``waited_seconds`` is its whole wait."""

    def __init__(self, message: str, waited_seconds: float) -> None:
        super().__init__(message)
        self.waited_seconds = waited_seconds


class MemoryBusy(TransientError):
    """The instance's memory budget has no room for a sync now (sheets_sync/jobs/memory.py);
    its run stays queued for a retry."""


class RunChanged(SheetsSyncError):
    """A queued run was no longer queued as read when its runner went to start it.

    Another delivery started (or finished) the run, or a refresh widened its tabs
    while it waited. The queued runner reads the run again and raises this only
    after :data:`sheets_sync.jobs.run.MAX_CLAIMS` tries
    (:func:`sheets_sync.jobs.run.run_queued`); the CLI's run, widened while it
    waited for the lock, raises it at once (:func:`sheets_sync.jobs.run.sync_now`).
    """


class ConfigError(SheetsSyncError):
    """A setting is missing or malformed; the message names the variable or key."""


class DatabaseError(SheetsSyncError):
    """The database is unreachable, or holds data a command refuses to overwrite."""


class SchemaError(DatabaseError):
    """The database is reachable but lacks the schema (or part of it): run ``sheets-sync init-db``.

    Not transient: waiting does not help, an administrator must act (the webhook
    still answers 503, the service being unavailable until then).
    """


class TemplateError(SheetsSyncError):
    """A tab template is invalid; the message names the file, the key and the fix."""


class LimitError(SheetsSyncError):
    """A write would break a destination limit (cells, columns, characters)."""


class DataError(SheetsSyncError):
    """The database's data cannot be synced as it is (repeated keys, malformed values)."""


class ShrinkError(SheetsSyncError):
    """A sync would remove most of a tab's rows; stopped before writing (``--allow-shrink``)."""


class DestinationError(SheetsSyncError):
    """The destination cannot be written (not shared, not found, bad spec)."""


class SheetsAPIError(SheetsSyncError):
    """Google (or the emulator) answered with an error; carries the response."""

    def __init__(self, message: str, status: int, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class TransientSheetsAPIError(SheetsAPIError, TransientError):
    """A Sheets API answer worth retrying (429, 5xx)."""


class PricingError(SheetsSyncError):
    """A pricing push cannot run as a whole (no Pricing tab, a missing column)."""
