"""The Google Sheets quota, shared by every process and instance through the database.

Google counts requests per account (the one service account every sync and
push writes as): by default 60 reads and 60 writes a minute (docs/design.md
§8). Each process pacing itself cannot keep many syncs at once inside that;
so every request the Google backend sends first takes a place in its kind's
sliding window, kept in ``sheets_quota`` (:mod:`.window`: what is logged and
why no window holds more than the limit; :mod:`.store`: the atomic take and
settle; :mod:`.governor`: the wait, bounded per run). A run waits its turn
instead of drawing ``429``s; the retry on ``429`` stays as the fallback.
"""

from sheets_sync.quota.governor import Place, QuotaGovernor, QuotaRules
from sheets_sync.quota.store import Usage, usage

__all__ = ["Place", "QuotaGovernor", "QuotaRules", "Usage", "usage"]
