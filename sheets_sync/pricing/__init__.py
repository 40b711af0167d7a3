"""Pricing write-back (docs/design.md §7): the team's `New price` edits go live.

:func:`push_pricing` is the one entry point (the CLI's ``push-pricing`` and
the webhook call it): :mod:`.sheet` reads the edited rows and writes their
outcomes back, :mod:`.parse` reads each `New price`, :mod:`.validate` judges
every edit, :mod:`.apply` applies the valid ones in one transaction.
"""

from sheets_sync.pricing.push import PushSummary, push_pricing

__all__ = ["PushSummary", "push_pricing"]
