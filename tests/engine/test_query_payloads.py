"""Query answers cross the JSON boundary: copies decoded by type hint, unserialisable ones fail."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pytest_durable import DurableEnvironment, PayloadError, workflow


@dataclass
class Progress:
    done: int
    items: list[str]


@workflow.defn
class Tracker:
    def __init__(self) -> None:
        self.items = ["a"]

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.items) > 1)
        return self.items

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.query
    def raw(self) -> list[str]:
        return self.items

    @workflow.query
    def progress(self) -> Progress:
        return Progress(len(self.items), self.items)

    @workflow.query
    def broken(self) -> object:
        return object()


def test_answer_is_a_copy_decoded_by_hint() -> None:
    with DurableEnvironment() as env:
        handle = env.start(Tracker.run)
        answer = handle.query(Tracker.raw)
        answer.append("mutated by the test")
        progress = handle.query(Tracker.progress)
        assert progress == Progress(1, ["a"])
        handle.signal(Tracker.add, "b")
        assert handle.result() == ["a", "b"]


def test_unserialisable_answer_is_a_payload_error() -> None:
    with DurableEnvironment() as env:
        handle = env.start(Tracker.run)
        with pytest.raises(PayloadError, match="the answer of query 'broken'"):
            handle.query(Tracker.broken)
