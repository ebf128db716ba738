"""Ordering nondeterminism is absent: whatever order same-instant completions and timers fire
in (the host loop's tie-break hook, driven by Hypothesis), the run records one and the same
history, which replays."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_durable import DurableEnvironment, Replayer, activity, workflow
from pytest_durable.engine import events


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
            workflow.execute_activity(leg, n, start_to_close_timeout=timedelta(minutes=9))
            for n in ("a", "b", "c")
        ]
        return list(await asyncio.gather(*legs, timer("t1"), timer("t2"), timer("t3")))


@workflow.defn
class FirstCompleted:
    """Acts on whichever of three simultaneous results it sees first: order-sensitive code."""

    @workflow.run
    async def run(self) -> list[str]:
        pending = [
            workflow.start_activity(leg, n, start_to_close_timeout=timedelta(minutes=9))
            for n in ("a", "b")
        ]
        pending.append(asyncio.ensure_future(workflow.sleep(timedelta(seconds=30))))
        seen: list[str] = []
        for future in asyncio.as_completed(pending):
            value = await future
            seen.append(value if isinstance(value, str) else "timer")
            # Each result starts another activity: the commands follow the order seen.
            await workflow.execute_activity(
                leg, f"after-{seen[-1]}", start_to_close_timeout=timedelta(minutes=9)
            )
        return seen


Order = Sequence[int] | None


def _run(workflow_run: object, delay: timedelta | None, orders: st.DataObject | None):
    """Run under a tie-break that draws each instant's order (FIFO when ``orders`` is None)."""
    sizes: list[int] = []

    def hook(batch: Sequence[object]) -> Sequence[object]:
        sizes.append(len(batch))
        if orders is None:
            return list(batch)
        permutation = orders.draw(st.permutations(range(len(batch))), label="order")
        return [batch[i] for i in permutation]

    with DurableEnvironment(seed=7) as env:
        env.mock_activity(leg, side_effect=lambda name: name, delay=delay)
        env.loop.tie_break = hook  # type: ignore[assignment]
        handle = env.run(workflow_run)
        history = handle.history
        Replayer(workflows=[GatherAndTimers, FirstCompleted]).replay(history)
        return list(history.events), handle.result(), sizes


SAME_INSTANT = timedelta(seconds=30)  # the activities end when the timers fire
FIFO = {
    (name, delay): _run(run, delay, None)
    for name, run in (("gather", GatherAndTimers.run), ("first", FirstCompleted.run))
    for delay in (None, SAME_INSTANT)
}


@pytest.mark.parametrize("delay", [None, SAME_INSTANT], ids=["instant", "with-timers"])
def test_the_tie_break_sees_the_simultaneous_completions(delay: timedelta | None) -> None:
    assert max(FIFO["gather", delay][2]) >= (6 if delay else 3)
    assert max(FIFO["first", delay][2]) >= (3 if delay else 2)


def test_completions_are_recorded_in_the_order_the_workflow_issued_the_commands() -> None:
    recorded, _, _ = FIFO["gather", SAME_INSTANT]
    resolved = [
        getattr(e, "scheduled_event_id", None) or getattr(e, "started_event_id", None)
        for e in recorded
        if isinstance(e, events.ActivityTaskCompleted | events.TimerFired)
    ]
    assert len(resolved) == 6 and resolved == sorted(resolved)


@settings(max_examples=60, deadline=None)
@given(orders=st.data())
@pytest.mark.parametrize("delay", [None, SAME_INSTANT], ids=["instant", "with-timers"])
@pytest.mark.parametrize("name", ["gather", "first"])
def test_any_same_instant_order_records_the_same_history(
    name: str, delay: timedelta | None, orders: st.DataObject
) -> None:
    workflow_run = GatherAndTimers.run if name == "gather" else FirstCompleted.run
    recorded, result, _ = _run(workflow_run, delay, orders)
    fifo_events, fifo_result, _ = FIFO[name, delay]
    assert result == fifo_result
    # Event for event (ids, times, payloads), the history of every order is the FIFO one.
    assert recorded == fifo_events
