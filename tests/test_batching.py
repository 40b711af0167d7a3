"""Group calls (sheets_sync/batching.py): callers arriving together share one batch.

A batch holds only callers that arrived before it started (a shared read must
not answer someone with what the database held before they asked), answers
each caller with its own item's answer, and when it fails, fails every caller
in it — none is left waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from sheets_sync.batching import GroupCall


def test_callers_arriving_during_a_batch_are_served_by_the_next_one() -> None:
    batches: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def run(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_started.set()
            release.wait(10)
        return [item * 10 for item in items]

    call = GroupCall(run)
    answers: dict[int, int] = {}

    def ask(item: int) -> None:
        answers[item] = call(item)

    leader = threading.Thread(target=ask, args=(0,))
    leader.start()
    assert first_started.wait(10)
    followers = [threading.Thread(target=ask, args=(i,)) for i in range(1, 6)]
    for thread in followers:
        thread.start()
    time.sleep(0.2)  # all five are waiting behind the first batch
    release.set()
    for thread in [leader, *followers]:
        thread.join(10)
    assert batches[0] == [0] and sorted(batches[1]) == [1, 2, 3, 4, 5] and len(batches) == 2
    assert answers == {i: i * 10 for i in range(6)}


def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    fail = True

    def run(items: Sequence[str]) -> list[str]:
        if fail:
            raise ConnectionError("database gone")
        return list(items)

    call = GroupCall(run)
    errors: list[BaseException] = []

    def ask(item: str) -> None:
        try:
            call(item)
        except ConnectionError as error:
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(str(i),)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 8
    fail = False
    assert call("back") == "back"


def test_a_batch_answering_the_wrong_number_of_items_is_an_error_not_a_mixup() -> None:
    call = GroupCall(lambda items: [])
    with pytest.raises(RuntimeError, match="a batch of 1 got 0 answers"):
        call("x")
