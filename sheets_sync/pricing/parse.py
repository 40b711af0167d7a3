"""Reading what the team typed in `New price` (docs/design.md §7, step 2).

The reading itself lives in :mod:`sheets_sync.vocabulary.prices`, below the KPIs
and the backends, so the sync's typed-price figures read a price exactly as the
push does; this module names it for the push.
"""

from sheets_sync.vocabulary.prices import EXAMPLE, PriceRejected, is_blank, parse_price

__all__ = ["EXAMPLE", "PriceRejected", "is_blank", "parse_price"]
