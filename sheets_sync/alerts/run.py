"""One alerts run: evaluate the rules, record the state, queue and deliver notifications.

:func:`evaluate_and_notify` is the hook the nightly job calls after syncing
(and what ``sheets-sync alerts`` runs). It never fails because a receiver is
down: undelivered notifications stay in the outbox for the next run and are
reported in the summary. It does fail, with one clear line, on a bad rules
file or a database without the schema, before changing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from sheets_sync.alerts.evaluate import Finding, evaluate
from sheets_sync.alerts.messages import fmt
from sheets_sync.alerts.notify import Delivery, deliver
from sheets_sync.alerts.rules import Rule, load_rules
from sheets_sync.alerts.state import Plan, apply, plan
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db import require_schema
from sheets_sync.guards import as_of_day
from sheets_sync.locks import destination_lock

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
        """The human summary the CLI prints."""
        verb = "would be" if self.dry_run else "were"
        head = (
            f"Alerts as of {self.as_of.isoformat()} ({self.rules} rules): "
            f"{len(self.raised)} new, {len(self.ongoing)} still active, "
            f"{len(self.resolved)} resolved"
        )
        out = [head + (" (dry run: nothing notified, nothing recorded)" if self.dry_run else "")]
        for label, alerts in (("NEW", self.raised), ("ACTIVE", self.ongoing)):
            out += [f"  {label:8} {_describe(a)}" for a in alerts]
        out += [f"  RESOLVED {a['rule_id']} {a['scope']} {a['scope_key']}" for a in self.resolved]
        if not self.dry_run:
            out.append(
                f"Notifications: {self.queued} queued; {self.delivery.delivered} {verb} "
                f"delivered, {self.delivery.undelivered} left for the next run"
            )
            out += [f"  {error}" for error in self.delivery.errors]
        return out


def _describe(a: dict[str, Any]) -> str:
    where = "overall" if a["scope"] == "overall" else f"{a['scope']} {a['scope_key']}"
    value, threshold = fmt(a["metric"], a["value"]), fmt(a["metric"], a["threshold"])
    return f"[{a['severity']}] {a['rule_id']} — {where}: {value} vs {threshold}"


def _as_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule.id, "description": f.rule.description, "severity": f.rule.severity,
        "metric": f.rule.metric, "scope": f.rule.scope, "scope_key": f.scope_key,
        "value": f.value, "threshold": f.threshold, "volume": f.volume,
    }  # fmt: skip


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
    names who evaluates in the lock note (and so in a busy error).
    """
    rules = load_rules(rules_path(settings))
    require_schema(engine)
    moment = now or utcnow()
    if dry_run:
        day, changes, queued = _evaluate(engine, settings, rules, as_of, moment, dry_run)
    else:
        lock = destination_lock(
            engine, EVALUATION_LOCK, owner, wait_seconds=settings.locks.lock_wait_seconds,
            lease_seconds=settings.locks.lock_lease_seconds,
        )  # fmt: skip
        with lock:
            day, changes, queued = _evaluate(engine, settings, rules, as_of, moment, dry_run)
    summary = AlertsSummary(
        as_of=day, rules=len(rules), dry_run=dry_run, queued=queued,
        raised=[_as_dict(f) for f in changes.new],
        ongoing=[_as_dict(f) for _, f in changes.ongoing],
        resolved=[
            {"rule_id": r.rule_id, "scope": r.scope, "scope_key": r.scope_key}
            for r in changes.resolved
        ],
    )  # fmt: skip
    if not dry_run:
        summary.delivery = deliver(engine, settings.alerts)
    return summary


def _evaluate(
    engine: Engine,
    settings: Settings,
    rules: Sequence[Rule],
    as_of: dt.date | None,
    moment: dt.datetime,
    dry_run: bool,
) -> tuple[dt.date, Plan, int]:
    """Read, compare and (unless a dry run) record in one transaction: (day, plan, queued)."""
    with engine.begin() as conn:
        day = as_of_day(conn, as_of)
        changes = plan(conn, evaluate(conn, rules, day, moment))
        queued = 0
        if not dry_run:
            queued = apply(
                conn,
                changes,
                moment,
                settings.alerts.alert_channels,
                settings.alerts.alerts_spreadsheet_url,
            )
    return day, changes, queued
