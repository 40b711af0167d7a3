"""What a notification says: one digest per run and channel, rendered when it is queued.

The outbox stores the rendered payload, so a notification delivered on a
later run says what was true when it was raised, and delivery needs nothing
but the payload. Slack gets Block Kit sections (what, where, value vs
threshold, since when, a link to the spreadsheet when known); e-mail gets a
subject and a plain-text body. Text from the database (seller ids, rule
descriptions) is sent as plain text: Slack ``mrkdwn`` is escaped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

MAX_SLACK_ALERTS = 40
"""Slack allows 50 blocks per message; beyond this many alerts the digest says how many more."""


@dataclass(frozen=True)
class Item:
    """One alert raised or resolved, as a notification tells it."""

    event: str  # "raised" or "resolved"
    rule_id: str
    description: str
    severity: str
    metric: str
    scope: str
    scope_key: str
    value: float
    threshold: float
    first_seen: dt.datetime
    resolved_at: dt.datetime | None = None

    @property
    def where(self) -> str:
        return "overall" if self.scope == "overall" else f"{self.scope} {self.scope_key}"

    @property
    def headline(self) -> str:
        mark = "Resolved" if self.event == "resolved" else self.severity.upper()
        return f"[{mark}] {self.description or self.rule_id}"

    def figures(self) -> str:
        return f"{fmt(self.metric, self.value)} (threshold {fmt(self.metric, self.threshold)})"

    def since(self) -> str:
        text = f"Since {self.first_seen:%Y-%m-%d %H:%M} UTC"
        if self.resolved_at is not None:
            text += f", resolved {self.resolved_at:%Y-%m-%d %H:%M} UTC"
        return text


def fmt(metric: str, number: float) -> str:
    """Rates as percentages, stalls and counts as whole numbers, amounts with cents."""
    if metric.endswith("_rate"):
        return f"{number * 100:.1f}%"
    if metric == "paid_amount":
        return f"{number:,.2f}"
    if metric == "csat":
        return f"{number:.2f}"
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,.1f}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(items: list[Item], spreadsheet_url: str | None) -> dict[str, Any]:
    """An incoming-webhook body: a header, one section per alert, the link, the rest counted."""
    raised = sum(1 for i in items if i.event == "raised")
    summary = f"Trade-in alerts: {raised} raised, {len(items) - raised} resolved"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary}}
    ]
    for item in items[:MAX_SLACK_ALERTS]:
        fields = [
            f"*{_escape(item.headline)}*",
            f"Where: {_escape(item.where)}",
            f"Value: {item.figures()}",
            item.since(),
        ]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)}})
    if len(items) > MAX_SLACK_ALERTS:
        more = f"… and {len(items) - MAX_SLACK_ALERTS} more: see the Alerts tab"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    if spreadsheet_url:
        link = f"<{spreadsheet_url}|Open the spreadsheet (Alerts tab)>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    return {"text": summary, "blocks": blocks}


def email_payload(items: list[Item], spreadsheet_url: str | None) -> dict[str, Any]:
    """A digest: subject with the counts, one paragraph per alert, the link at the end."""
    raised = sum(1 for i in items if i.event == "raised")
    subject = f"Trade-in alerts: {raised} raised, {len(items) - raised} resolved"
    paragraphs = [
        f"{item.headline}\nWhere: {item.where}\nValue: {item.figures()}\n{item.since()}"
        for item in items
    ]
    if spreadsheet_url:
        paragraphs.append(f"Spreadsheet (Alerts tab): {spreadsheet_url}")
    return {"subject": subject, "body": "\n\n".join(paragraphs) + "\n"}
