"""What to generate: the few knobs of the demo dataset, validated once.

The spec is the whole input of the generator: the same spec gives the same
data, whatever the clock says (only the CLI's default end date reads it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sheets_sync.errors import ConfigError

MARKETS: tuple[str, ...] = ("FR", "DE", "ES", "IT", "NL", "BE", "AT")
"""EUR markets, most to least traffic."""

CURRENCY = "EUR"
GRID_VERSION = 1
GRID_UPDATED_BY = "demo-data"

DEFAULT_ORDERS = 60_000
DEFAULT_DAYS = 120
DEFAULT_SEED = 42
MAX_ORDERS = 20_000_000


def yesterday_utc() -> dt.date:
    """The default end date: the last full day, so the data looks like last night's snapshot."""
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


@dataclass(frozen=True)
class DemoSpec:
    """Size, randomness and time span of a demo dataset."""

    orders: int = DEFAULT_ORDERS
    seed: int = DEFAULT_SEED
    end_date: dt.date = field(default_factory=yesterday_utc)
    days: int = DEFAULT_DAYS

    def __post_init__(self) -> None:
        if not 0 <= self.orders <= MAX_ORDERS:
            raise ConfigError(
                f"--orders must be between 0 and {MAX_ORDERS:,} (got {self.orders:,})"
            )
        if not 7 <= self.days <= 3660:
            raise ConfigError(f"--days must be between 7 and 3660 (got {self.days})")
        if self.seed < 0:
            raise ConfigError(f"--seed must be a non-negative integer (got {self.seed})")
        if isinstance(self.end_date, dt.datetime) or not isinstance(self.end_date, dt.date):
            raise ConfigError(f"end_date must be a date, e.g. 2025-06-30 (got {self.end_date!r})")

    @property
    def start_date(self) -> dt.date:
        """First day with orders: the window is ``days`` days ending on ``end_date``."""
        return self.end_date - dt.timedelta(days=self.days - 1)

    @property
    def cutoff(self) -> dt.datetime:
        """Nothing happens at or after this instant (midnight after the end date)."""
        return dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time())
