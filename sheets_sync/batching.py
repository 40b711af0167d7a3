"""Group calls: concurrent callers served together by one batch (leader and followers).

A webhook process answers many small requests at once, and each asks the
database the same kind of small thing (record this signature, is a run on
its way for this sheet). One statement for all of those that arrive
together costs the database, the connection pool and the GIL far less than
one each — what databases call a group commit.

:class:`GroupCall` does it without a thread of its own: the first caller to
arrive while no batch runs is the leader and runs its own item at once (a
quiet service waits for nobody); callers arriving meanwhile wait, and when
that batch ends one of them leads the next with every item then waiting. A
batch only ever holds items whose callers arrived before it started, so a
read answers each caller with what the database held after they asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass
class _Slot(Generic[Item, Answer]):
    item: Item
    result: Answer | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCall(Generic[Item, Answer]):
    """``call(item)`` answers through ``run(items)``, which answers a batch in order."""

    def __init__(self, run: Callable[[Sequence[Item]], Sequence[Answer]]) -> None:
        self._run = run
        self._turn = threading.Condition()
        self._waiting: list[_Slot[Item, Answer]] = []
        self._running = False

    def __call__(self, item: Item) -> Answer:
        slot: _Slot[Item, Answer] = _Slot(item)
        batch = self._wait_or_lead(slot)
        if batch:
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set with done

    def _wait_or_lead(self, slot: _Slot[Item, Answer]) -> list[_Slot[Item, Answer]]:
        """Wait until another caller's batch has answered ``slot`` ([]), or take the queue."""
        with self._turn:
            self._waiting.append(slot)
            while self._running and not slot.done:
                self._turn.wait()
            if slot.done:
                return []
            batch, self._waiting, self._running = self._waiting, [], True
            return batch

    def _lead(self, batch: list[_Slot[Item, Answer]]) -> None:
        try:
            results = self._run([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} got {len(results)} answers")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as error:  # every waiter must wake, whatever went wrong
            for slot in batch:
                slot.error = error
        with self._turn:
            for slot in batch:
                slot.done = True
            self._running = False
            self._turn.notify_all()
