"""One alerts run: evaluate the rules, record the state, queue and deliver notifications.

:func:`evaluate_and_notify` is the hook the nightly job calls after syncing
(and what ``sheets-sync alerts`` runs). It never fails because a receiver is
down: undelivered notifications stay in the outbox for the next run and are
reported in the summary. It does fail, with one clear line, on a bad rules
file or a database without the schema, before changing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from sheets_sync.alerts.evaluate import evaluate
from sheets_sync.alerts.notify import Delivery, deliver
from sheets_sync.alerts.rules import Rule, load_rules
from sheets_sync.alerts.speech import Viewer, as_raised, speak
from sheets_sync.alerts.state import Plan, apply, plan
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db import require_schema
from sheets_sync.guards import as_of_day
from sheets_sync.locks import destination_lock
from sheets_sync.vocabulary.alert_voice import Said

RULES_FILE = "alerts.yaml"
EVALUATION_LOCK = "alerts evaluation"
"""The lock name evaluations share: one evaluation at a time, across threads, processes, hosts."""


@dataclass
class AlertsSummary:
    """What a run found and did; ``dry_run`` runs report what they would have done."""

    as_of: dt.date
    rules: int
    dry_run: bool
    raised: list[dict[str, Any]] = field(default_factory=list)
    ongoing: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0
    delivery: Delivery = field(default_factory=Delivery)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "rules": self.rules, "dry_run": self.dry_run,
            "raised": self.raised, "ongoing": self.ongoing, "resolved": self.resolved,
            "notifications_queued": self.queued,
            "notifications_delivered": self.delivery.delivered,
            "notifications_undelivered": self.delivery.undelivered,
            "delivery_errors": self.delivery.errors,
        }  # fmt: skip

    def lines(self) -> list[str]:
        """The human summary the CLI prints: each alert as the voice says it in one line."""
        verb = "would be" if self.dry_run else "were"
        head = (
            f"Alerts as of {self.as_of.isoformat()} ({self.rules} rules): "
            f"{len(self.raised)} new, {len(self.ongoing)} still active, "
            f"{len(self.resolved)} resolved"
        )
        out = [head + (" (dry run: nothing notified, nothing recorded)" if self.dry_run else "")]
        for label, alerts in (("NEW", self.raised), ("ACTIVE", self.ongoing)):
            out += [f"  {label:8} {a['line']}" for a in alerts]
        out += [f"  {a['line']}" for a in self.resolved]  # the line starts with RESOLVED
        if not self.dry_run:
            out.append(
                f"Notifications: {self.queued} queued; {self.delivery.delivered} {verb} "
                f"delivered, {self.delivery.undelivered} left for the next run"
            )
            out += [f"  {error}" for error in self.delivery.errors]
        return out


def _as_dict(row: Mapping[str, Any], said: Said, volume: int | None) -> dict[str, Any]:
    """An alert for the summary (and ``--json``): its figures and the words they are said in."""
    shown = {k: row[k] for k in ("rule_id", "description", "severity", "metric", "scope")}
    shown.update(scope_key=row["scope_key"], value=row["value"], threshold=row["threshold"])
    if volume is not None:
        shown["volume"] = volume
    shown.update(where=said.where, value_text=said.value, threshold_text=said.threshold)
    shown["link"] = said.link
    shown["line"] = said.line()
    return shown


def rules_path(settings: Settings) -> Path:
    """``alerts.yaml`` beside the tab templates (``SHEETS_SYNC_TEMPLATES_DIR``)."""
    return settings.files.templates_dir / RULES_FILE


def evaluate_and_notify(
    engine: Engine,
    settings: Settings,
    dry_run: bool = False,
    *,
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    owner: str = "alerts",
    viewers: Sequence[Viewer] = (),
) -> AlertsSummary:
    """Evaluate every rule as of ``as_of`` (default: the sync's day), record, notify.

    The state change and the queued notifications are one transaction; the
    delivery comes after it, each notification on its own (see :mod:`.notify`).
    A dry run evaluates the same way and writes and sends nothing.

    Two evaluations at once (a cron retry and Cloud Scheduler, two instances,
    the CLI during the nightly) would both see an alert as new and race to
    insert it. So a recording evaluation holds the ``alerts evaluation`` lock
    (:mod:`sheets_sync.locks`, the one syncs use per spreadsheet) from its first
    read to its commit: the second waits up to ``SHEETS_SYNC_LOCK_WAIT_SECONDS``,
    then finds the alerts already recorded and notifies nothing twice. ``owner``
    names who evaluates in the lock note (and so in a busy error). ``viewers`` are
    the registered spreadsheets an alert may link to (:mod:`.speech`).
    """
    rules = load_rules(rules_path(settings))
    require_schema(engine)
    moment = now or utcnow()
    if dry_run:
        summary = _evaluate(engine, settings, rules, (as_of, moment, dry_run), viewers)
    else:
        lock = destination_lock(
            engine, EVALUATION_LOCK, owner, wait_seconds=settings.locks.lock_wait_seconds,
            lease_seconds=settings.locks.lock_lease_seconds,
        )  # fmt: skip
        with lock:
            summary = _evaluate(engine, settings, rules, (as_of, moment, dry_run), viewers)
    if not dry_run:
        summary.delivery = deliver(engine, settings.alerts)
    return summary


Moment = tuple[dt.date | None, dt.datetime, bool]
"""(as_of, now, dry_run) of one evaluation."""


def _evaluate(
    engine: Engine,
    settings: Settings,
    rules: Sequence[Rule],
    moment: Moment,
    viewers: Sequence[Viewer],
) -> AlertsSummary:
    """Read, compare, say and (unless a dry run) record in one transaction."""
    as_of, now, dry_run = moment
    url = settings.alerts.alerts_spreadsheet_url
    with engine.begin() as conn:
        day = as_of_day(conn, as_of)
        changes = plan(conn, evaluate(conn, rules, day, now))
        raised, ongoing, resolved = _said(conn, changes, now, viewers, url)
        summary = AlertsSummary(day, len(rules), dry_run, raised, ongoing, resolved)
        if not dry_run:
            channels = settings.alerts.alert_channels
            summary.queued = apply(conn, changes, now, channels, url, viewers)
    return summary


SaidGroups = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]
"""(raised, ongoing, resolved) alerts of the summary, each with its words."""


def _said(
    conn: Connection, changes: Plan, now: dt.datetime, viewers: Sequence[Viewer], url: str | None
) -> SaidGroups:
    """(raised, ongoing, resolved) of the plan with their words, before anything is written."""
    raised = [(as_raised(f, now), f.volume) for f in changes.new]
    ongoing = [(as_raised(f, now, row.first_seen), f.volume) for row, f in changes.ongoing]
    resolved = [
        ({**row._mapping, "status": "resolved", "resolved_at": now}, None)
        for row in changes.resolved
    ]
    return (
        _with_words(conn, raised, viewers, url),
        _with_words(conn, ongoing, viewers, url),
        _with_words(conn, resolved, viewers, url),
    )


def _with_words(
    conn: Connection,
    group: Sequence[tuple[Mapping[str, Any], int | None]],
    viewers: Sequence[Viewer],
    url: str | None,
) -> list[dict[str, Any]]:
    said = speak(conn, [row for row, _ in group], viewers, url)
    return [_as_dict(row, s, volume) for (row, volume), s in zip(group, said, strict=True)]
