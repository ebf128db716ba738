"""The host loop owns its timers; same-instant callbacks fire FIFO unless a tie-break says."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from pytest_durable import DurableEnvironment, InvalidArgumentError, activity, workflow
from pytest_durable.engine import VirtualClock, events
from pytest_durable.engine._clock import DueCallback

S = 1_000_000_000
START = 1_000 * S


def reverse(batch: Sequence[DueCallback]) -> Sequence[DueCallback]:
    return list(reversed(batch))


def test_same_instant_callbacks_fire_in_the_order_they_were_scheduled() -> None:
    clock = VirtualClock(START)
    loop = clock.new_event_loop()
    fired: list[str] = []
    try:
        for name in "abcd":
            loop.call_at_ns(START + S, fired.append, name)
        loop.call_at_ns(START + 2 * S, fired.append, "later")
        assert loop.pending_timers == 5 and loop.next_due_ns() == START + S
        clock.advance_to(START + S)
        loop.fire_due()
        assert fired == ["a", "b", "c", "d"]
        assert loop.next_due_ns() == START + 2 * S
    finally:
        loop.close()


def test_a_tie_break_orders_each_instant_and_sees_it_in_fifo_order() -> None:
    clock = VirtualClock(START)
    loop = clock.new_event_loop()
    fired: list[str] = []
    seen: list[list[object]] = []

    def record_then_reverse(batch: Sequence[DueCallback]) -> Sequence[DueCallback]:
        seen.append([(t.when_ns - START) // S for t in batch] + [t.args[0] for t in batch])
        return list(reversed(batch))

    loop.tie_break = record_then_reverse
    try:
        for name in ("a1", "a2", "a3"):
            loop.call_at_ns(START + S, fired.append, name)
        gone = loop.call_at_ns(START + S, fired.append, "gone")
        gone.cancel()
        loop.call_at_ns(START + 2 * S, fired.append, "b1")
        loop.call_at_ns(START + 2 * S, fired.append, "b2")
        clock.advance_to(START + 3 * S)
        loop.fire_due()
        # Instant by instant, earliest first; cancelled ones are not offered to the tie-break.
        assert fired == ["a3", "a2", "a1", "b2", "b1"]
        assert seen == [[1, 1, 1, "a1", "a2", "a3"], [2, 2, "b1", "b2"]]
    finally:
        loop.close()


def test_a_callback_scheduled_for_the_current_instant_runs_after_the_instant_s_batch() -> None:
    clock = VirtualClock(START)
    loop = clock.new_event_loop()
    fired: list[str] = []
    loop.tie_break = lambda batch: list(batch)  # FIFO, but through the hook

    def first() -> None:
        fired.append("first")
        loop.call_at_ns(START + S, fired.append, "scheduled by first")

    def cancels_third() -> None:
        fired.append("second")
        third.cancel()

    try:
        loop.call_at_ns(START + S, first)
        loop.call_at_ns(START + S, cancels_third)
        third = loop.call_at_ns(START + S, fired.append, "third")
        clock.advance_to(START + S)
        loop.fire_due()
        assert fired == ["first", "second", "scheduled by first"]
    finally:
        loop.close()


def test_a_tie_break_must_return_the_callbacks_it_was_given() -> None:
    clock = VirtualClock(START)
    loop = clock.new_event_loop()
    loop.tie_break = lambda batch: list(batch)[:1]
    try:
        loop.call_at_ns(START, lambda: None)
        loop.call_at_ns(START, lambda: None)
        with pytest.raises(InvalidArgumentError, match="must return the callbacks it was given"):
            loop.fire_due()
    finally:
        loop.close()


# --- observable order in a workflow ------------------------------------------------------------


@activity.defn
async def step(name: str) -> str:
    return name


@workflow.defn
class FanOut:
    @workflow.run
    async def run(self) -> list[str]:
        futures = [
            workflow.start_activity(step, name, start_to_close_timeout=timedelta(seconds=30))
            for name in ("a", "b", "c")
        ]
        done: list[str] = []
        for future in asyncio.as_completed(futures):
            done.append(await future)
        return done


def completion_order(env: DurableEnvironment) -> tuple[list[str], list[str]]:
    handle = env.run(FanOut.run)
    history = handle.history
    names = {
        e.event_id: e.input[0]
        for e in history.events
        if isinstance(e, events.ActivityTaskScheduled)
    }
    recorded = [
        names[e.scheduled_event_id]
        for e in history.events
        if isinstance(e, events.ActivityTaskCompleted)
    ]
    return recorded, handle.result()


@pytest.mark.parametrize("delay", [timedelta(seconds=5), None], ids=["delayed", "zero-delay"])
def test_a_non_fifo_tie_break_changes_the_order_of_simultaneous_outcomes_deterministically(
    delay: timedelta | None,
) -> None:
    def run(tie_break: object) -> tuple[list[str], list[str]]:
        with DurableEnvironment(seed=3) as env:
            env.mock_activity(step, side_effect=lambda name: name.upper(), delay=delay)
            env.loop.tie_break = tie_break  # type: ignore[assignment]
            return completion_order(env)

    assert run(None) == (["a", "b", "c"], ["A", "B", "C"])
    assert run(lambda batch: list(batch)) == (["a", "b", "c"], ["A", "B", "C"])
    reversed_order = run(reverse)
    assert reversed_order == (["c", "b", "a"], ["C", "B", "A"])
    assert run(reverse) == reversed_order  # the same choice, the same history
