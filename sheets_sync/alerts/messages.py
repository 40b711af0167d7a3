"""What a notification says: one digest per run and channel, rendered when it is queued.

The outbox stores the rendered payload, so a notification delivered on a
later run says what was true when it was raised, and delivery needs nothing
but the payload. Both channels lay out the words of
:mod:`sheets_sync.vocabulary.alert_voice` — what, where by name, value and
threshold in their unit, since when, where to look — and word nothing
themselves, so Slack, the e-mail, the CLI, the Alerts tab and the sidebar say
an alert alike. Slack gets Block Kit sections; e-mail a subject and a
plain-text body. Text from the database (seller names, rule descriptions) is
sent as plain text: Slack ``mrkdwn`` is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sheets_sync.vocabulary.alert_voice import Said

MAX_SLACK_ALERTS = 40
"""Slack allows 50 blocks per message; beyond this many alerts the digest says how many more."""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(items: Sequence[Said]) -> str:
    raised = sum(1 for i in items if i.mark != "RESOLVED")
    return f"Trade-in alerts: {raised} raised, {len(items) - raised} resolved"


def _slack_section(item: Said) -> dict[str, Any]:
    fields = [
        f"*[{item.mark}] {_escape(item.what)}*",
        f"Where: {_escape(item.where)}",
        f"Value: {_escape(item.figures)}",
        item.when,
    ]
    if item.link:
        fields.append(f"Look: <{item.link}|{item.tab} tab>")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)}}


def slack_payload(items: Sequence[Said], spreadsheet_url: str | None) -> dict[str, Any]:
    """An incoming-webhook body: a header, one section per alert, the link, the rest counted."""
    summary = _summary(items)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary}}
    ]
    blocks += [_slack_section(item) for item in items[:MAX_SLACK_ALERTS]]
    if len(items) > MAX_SLACK_ALERTS:
        more = f"… and {len(items) - MAX_SLACK_ALERTS} more: see the Alerts tab"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    if spreadsheet_url:
        link = f"<{spreadsheet_url}|Open the spreadsheet (Alerts tab)>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    return {"text": summary, "blocks": blocks}


def email_text(item: Said) -> str:
    """One alert's paragraph of the digest."""
    lines = [f"[{item.mark}] {item.what}", f"Where: {item.where}", f"Value: {item.figures}"]
    lines.append(item.when)
    if item.link:
        lines.append(f"Look: {item.look}")
    return "\n".join(lines)


def email_payload(items: Sequence[Said], spreadsheet_url: str | None) -> dict[str, Any]:
    """A digest: subject with the counts, one paragraph per alert, the link at the end."""
    paragraphs = [email_text(item) for item in items]
    if spreadsheet_url:
        paragraphs.append(f"Spreadsheet (Alerts tab): {spreadsheet_url}")
    return {"subject": _summary(items), "body": "\n\n".join(paragraphs) + "\n"}
