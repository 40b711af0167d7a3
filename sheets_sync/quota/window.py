"""The sliding window's log: until when each recent request counts against the quota.

Google counts a request from when it arrives, for a window (a minute). We never
see the arrival, only bounds on it: it comes after the request's place was
taken and before its answer came back. So a request is logged twice: when its
place is taken, at the latest it may end (``taken + hold``: it is in flight),
then, once its answer came, at that moment (:func:`settled`). A new request may
go when fewer than ``limit`` logged ends are less than a window old; then
however late an old request reached Google and however early the new one
does, they are a window apart there too, and no window ever holds more than
``limit`` of them. A process that dies mid-request leaves its pessimistic end,
which lapses on its own.

The log is text (``"1712345678.123456 …"``, Unix seconds): one short row per
account and kind, rewritten whole. An end is named by its text, so the
request that logged it settles exactly one of the equal ends (any one will do).
"""

from __future__ import annotations

from collections.abc import Sequence


def parse(recent: str) -> list[str]:
    return recent.split()


def dump(ends: Sequence[str]) -> str:
    return " ".join(ends)


def end_at(seconds: float) -> str:
    """An end as the log writes it (microseconds: the text names it exactly)."""
    return f"{seconds:.6f}"


def live(ends: Sequence[str], now: float, window: float) -> list[str]:
    """The ends still counted: less than a window before ``now`` (or still to come)."""
    return [end for end in ends if float(end) + window > now]


def wait_for_place(ends: Sequence[str], now: float, window: float) -> tuple[float, bool]:
    """How long until the earliest counted request leaves the window, and whether that is
    exact: False while that request is in flight (it may settle earlier, so poll)."""
    earliest = min(float(end) for end in ends)
    return max(earliest + window - now, 0.0), earliest <= now


def settled(ends: Sequence[str], taken: str, answered: float) -> list[str]:
    """The log with the end ``taken`` logged for an in-flight request moved to ``answered``
    (never later); unchanged when it already left the log."""
    out = list(ends)
    if taken in out:
        out[out.index(taken)] = end_at(min(answered, float(taken)))
    return out
