"""Ordering nondeterminism is absent: whatever order same-instant completions and timers fire
in (the host loop's tie-break hook, driven by Hypothesis), every run's history replays."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_durable import DurableEnvironment, Replayer, activity, workflow


@activity.defn
async def leg(name: str) -> str:
    return name


@workflow.defn
class GatherAndTimers:
    @workflow.run
    async def run(self) -> list[str]:
        async def timer(name: str) -> str:
            await workflow.sleep(timedelta(seconds=30))
            return name

        legs = [
            workflow.execute_activity(leg, n, start_to_close_timeout=timedelta(seconds=9))
            for n in ("a", "b", "c")
        ]
        return list(await asyncio.gather(*legs, timer("t1"), timer("t2"), timer("t3")))


def _run(tie_break: object) -> tuple[list[str], object, list[int]]:
    sizes: list[int] = []

    def hook(batch: Sequence[object]) -> Sequence[object]:
        sizes.append(len(batch))
        return tie_break(batch) if callable(tie_break) else list(batch)

    with DurableEnvironment() as env:
        env.mock_activity(leg, returns="done")
        env.loop.tie_break = hook  # type: ignore[assignment]
        handle = env.run(GatherAndTimers.run)
        Replayer(workflows=[GatherAndTimers]).replay(handle.history)
        kinds = [e.kind for e in handle.history]
        return kinds, handle.result(), sizes


FIFO = _run(None)


def test_the_tie_break_sees_the_simultaneous_completions() -> None:
    assert max(FIFO[2]) >= 3  # three activities or three timers at one instant


@settings(max_examples=40, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_any_same_instant_order_replays(rng: random.Random) -> None:
    def shuffled(batch: Sequence[object]) -> Sequence[object]:
        order = list(batch)
        rng.shuffle(order)
        return order

    kinds, result, _ = _run(shuffled)
    assert result == ["done", "done", "done", "t1", "t2", "t3"]
    # The same kinds of events in the same order as the FIFO run (which activity or timer
    # completes first follows the firing order, as on a server; replay follows the history).
    assert kinds == FIFO[0]
