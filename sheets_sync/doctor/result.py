"""What a doctor check found, and the state the checks share as they run.

A check is a small function of :class:`State` returning a :class:`Result`;
one that needs an earlier check's outcome (the database before the schema,
the credentials before a spreadsheet) is reported *skipped* when that check
did not pass, naming it, rather than failing again for the same cause; no
check ever hides the ones after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.destinations import Destination

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
MARKS = {OK: "✔", FAILED: "✖", SKIPPED: "○"}
NETWORK_TIMEOUT_SECONDS = 10.0
"""The longest a doctor waits for one answer (Google, Slack, SMTP, the database)."""
NETWORK_DEADLINE_SECONDS = 20.0
"""The longest a doctor retries one Google call (a sync may wait minutes; a check should not)."""


@dataclass(frozen=True)
class Result:
    """One line of the report: ``check`` (what), ``status``, ``detail`` and the ``fix``.

    ``detail`` is what was found when ok, the problem when failed, and why
    when skipped. ``target`` names the spreadsheet a per-spreadsheet check is about.
    """

    check: str
    status: str
    detail: str
    fix: str | None = None
    target: str | None = None

    @property
    def ok(self) -> bool | None:
        return None if self.status == SKIPPED else self.status == OK

    def line(self) -> str:
        """``✔ what: detail``, ``✖ what: problem — fix``, ``○ what: skipped — why``."""
        mark = MARKS[self.status]
        if self.status == FAILED:
            return f"{mark} {self.check}: {self.detail} — {self.fix}"
        if self.status == SKIPPED:
            return f"{mark} {self.check}: skipped — {self.detail}"
        return f"{mark} {self.check}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "target": self.target, "status": self.status,
                "ok": self.ok, "detail": self.detail, "fix": self.fix}  # fmt: skip


def ok(check: str, detail: str, target: str | None = None) -> Result:
    return Result(check, OK, detail, None, target)


def failed(check: str, problem: str, fix: str, target: str | None = None) -> Result:
    return Result(check, FAILED, problem, fix, target)


def skipped(check: str, why: str, target: str | None = None) -> Result:
    return Result(check, SKIPPED, why, None, target)


@dataclass(frozen=True)
class Options:
    """What to check beyond the local set-up: which spreadsheets, and whether to write."""

    targets: tuple[Destination, ...] = ()
    all_registered: bool = False
    read_only: bool = False


@dataclass
class State:
    """What the checks learn and pass on: the settings, engine, registry, credentials."""

    options: Options
    environ: Mapping[str, str]
    settings: Settings | None = None
    engine: Engine | None = None
    registry: Any = None
    credentials: Any = None
    account: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
