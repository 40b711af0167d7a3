"""Alert state: what is new, what is still on, what cleared, and what must be said.

An evaluation's findings are compared with the active rows of ``alerts``:

- a finding with no active row raises a new alert (first seen = last seen = now);
- a finding with an active row refreshes it (last seen, value, threshold):
  it was announced already and is not announced again;
- an active row with no finding has cleared: it is resolved (``resolved_at``).

Announcements go to the ``alert_notifications`` outbox in the same
transaction as the state change, one digest per configured channel, and the
alert's ``notified`` / ``resolved_notified`` flag is set there too: queued
once, whatever happens to the delivery later. An alert whose channels are
not configured stays unannounced and is queued by the first run that has one.
A dry run computes the same :class:`Plan` and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exc, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from sheets_sync.alerts.evaluate import Finding
from sheets_sync.alerts.messages import email_payload, slack_payload
from sheets_sync.alerts.speech import Viewer, speak
from sheets_sync.errors import DatabaseError
from sheets_sync.schema import alert_notifications, alerts
from sheets_sync.vocabulary.alert_voice import Said

RESOLVED_NOTICE_DAYS = 14
"""A resolution older than this is not announced any more (it would only confuse)."""


@dataclass
class Plan:
    """What an evaluation changes: new findings, refreshed alerts, cleared alerts."""

    new: list[Finding] = field(default_factory=list)
    ongoing: list[tuple[Row[Any], Finding]] = field(default_factory=list)
    """Each still-firing finding with its active row (which knows since when)."""
    resolved: list[Row[Any]] = field(default_factory=list)


def plan(conn: Connection, findings: Sequence[Finding]) -> Plan:
    """Compare findings with the active alerts; reads only."""
    active = {
        (row.rule_id, row.scope_key): row
        for row in conn.execute(select(alerts).where(alerts.c.status == "active"))
    }
    result = Plan()
    for finding in findings:
        row = active.pop((finding.rule.id, finding.scope_key), None)
        if row is None:
            result.new.append(finding)
        else:
            result.ongoing.append((row, finding))
    result.resolved = sorted(active.values(), key=lambda r: (r.rule_id, r.scope_key))
    return result


def apply(
    conn: Connection,
    changes: Plan,
    now: dt.datetime,
    channels: Iterable[str],
    spreadsheet_url: str | None = None,
    viewers: Sequence[Viewer] = (),
) -> int:
    """Write the plan and queue its announcements; returns how many notifications were queued.

    Runs in the caller's transaction. Evaluations take turns under the
    ``alerts evaluation`` lock (:func:`sheets_sync.alerts.run.evaluate_and_notify`);
    should one bypass it and raise the same alert as another, the partial unique
    index refuses the second, reported as one line.
    """
    try:
        _write(conn, changes, now)
    except exc.IntegrityError as err:
        raise DatabaseError(
            "another alerts evaluation changed the same alerts at the same time; "
            "nothing was written by this one: run `sheets-sync alerts` again"
        ) from err
    return queue(conn, now, tuple(channels), spreadsheet_url, viewers)


def _write(conn: Connection, changes: Plan, now: dt.datetime) -> None:
    if changes.new:
        conn.execute(insert(alerts), [_new_row(f, now) for f in changes.new])
    for row, f in changes.ongoing:
        conn.execute(
            update(alerts)
            .where(alerts.c.alert_id == row.alert_id)
            .values(last_seen=now, value=f.value, threshold=f.threshold)
        )
    ids = [row.alert_id for row in changes.resolved]
    if ids:
        conn.execute(
            update(alerts)
            .where(alerts.c.alert_id.in_(ids))
            .values(status="resolved", resolved_at=now)
        )


def _new_row(f: Finding, now: dt.datetime) -> dict[str, Any]:
    return {
        "rule_id": f.rule.id, "scope": f.rule.scope, "scope_key": f.scope_key,
        "metric": f.rule.metric, "description": f.rule.description,
        "severity": f.rule.severity, "channels": ",".join(f.rule.notify),
        "value": f.value, "threshold": f.threshold, "status": "active",
        "first_seen": now, "last_seen": now, "notified": False, "resolved_notified": False,
    }  # fmt: skip


def pending(conn: Connection, now: dt.datetime) -> list[Row[Any]]:
    """Alerts raised or resolved and not yet announced, oldest first."""
    a = alerts.c
    recent = now - dt.timedelta(days=RESOLVED_NOTICE_DAYS)
    raised = and_(a.status == "active", a.notified.is_(False))
    cleared = and_(a.status == "resolved", a.resolved_notified.is_(False), a.resolved_at >= recent)
    query = select(alerts).where(or_(raised, cleared)).order_by(a.first_seen, a.alert_id)
    return list(conn.execute(query))


def queue(
    conn: Connection,
    now: dt.datetime,
    channels: tuple[str, ...],
    spreadsheet_url: str | None,
    viewers: Sequence[Viewer] = (),
) -> int:
    """One digest per configured channel of what is pending; flags set in the same step.

    Each alert links to the spreadsheet of ``viewers`` that shows it, else to
    ``spreadsheet_url`` (:func:`sheets_sync.alerts.speech.link_for`).
    """
    rows = _take(
        conn, [r for r in pending(conn, now) if set(r.channels.split(",")) & set(channels)]
    )
    said = speak(conn, rows, viewers, spreadsheet_url)
    queued = 0
    for channel in channels:
        items = [s for r, s in zip(rows, said, strict=True) if channel in r.channels.split(",")]
        if items:
            conn.execute(
                insert(alert_notifications).values(
                    channel=channel, payload=json.dumps(_render(channel, items, spreadsheet_url)),
                    created_at=now, attempts=0,
                )
            )  # fmt: skip
            queued += 1
    return queued


def _take(conn: Connection, rows: list[Row[Any]]) -> list[Row[Any]]:
    """The rows whose flag this run turned on: a concurrent run cannot announce them too.

    The UPDATE only matches a flag still off; on PostgreSQL a second run's UPDATE
    waits for the first to commit and then matches nothing (SQLite serialises
    writers), so each alert lands in exactly one queued digest.
    """
    taken: set[int] = set()
    for event, flag in (("active", "notified"), ("resolved", "resolved_notified")):
        ids = [r.alert_id for r in rows if r.status == event]
        if ids:
            column = alerts.c[flag]
            statement = (
                update(alerts)
                .where(alerts.c.alert_id.in_(ids), column.is_(False))
                .values({flag: True})
                .returning(alerts.c.alert_id)
            )
            taken.update(conn.execute(statement).scalars())
    return [r for r in rows if r.alert_id in taken]


def _render(channel: str, items: list[Said], url: str | None) -> dict[str, Any]:
    return slack_payload(items, url) if channel == "slack" else email_payload(items, url)
