"""The two clocks of a held or awaited lock: a waiting run's poll, a holding run's heartbeat."""

from __future__ import annotations

import threading
from collections.abc import Callable

POLL_SECONDS = 0.1
"""How often a waiting run tries again: short, since a sync's tail is short too."""


class Heartbeat(threading.Thread):
    """Calls ``keep`` every ``interval`` seconds while the run lasts; ``lost`` once it says no.

    A daemon thread rather than renewals at phase boundaries: a single long
    phase (one big tab's query, one slow upload) must not outlive the lease.
    """

    def __init__(self, key: str, interval: float, keep: Callable[[], bool]) -> None:
        super().__init__(name=f"sheets-sync lock {key}", daemon=True)
        self.interval, self.keep = interval, keep
        self.lost = False
        self._stopped = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self.keep():
                self.lost = True
                return

    def stop(self) -> None:
        self._stopped.set()
        self.join()
