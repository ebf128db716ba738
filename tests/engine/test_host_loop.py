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
def test_simultaneous_outcomes_are_recorded_in_command_order_whatever_order_they_fire(
    delay: timedelta | None,
) -> None:
    offered: list[int] = []

    def run(tie_break: object) -> tuple[list[str], list[str]]:
        def hook(batch: Sequence[DueCallback]) -> Sequence[DueCallback]:
            offered.append(len(batch))
            assert callable(tie_break)
            return tie_break(batch)  # type: ignore[no-any-return]

        with DurableEnvironment(seed=3) as env:
            env.mock_activity(step, side_effect=lambda name: name.upper(), delay=delay)
            env.loop.tie_break = hook if tie_break is not None else None  # type: ignore[assignment]
            return completion_order(env)

    assert run(None) == (["a", "b", "c"], ["A", "B", "C"])
    assert run(lambda batch: list(batch)) == (["a", "b", "c"], ["A", "B", "C"])
    # The three outcomes fire in reverse, and are still recorded (and seen by as_completed) in
    # the order the workflow scheduled the activities.
    assert max(offered) == 3
    assert run(reverse) == (["a", "b", "c"], ["A", "B", "C"])


@workflow.defn
class Inbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.received) == 2)
        return self.received

    @workflow.signal
    def deliver(self, name: str) -> None:
        self.received.append(name)


def test_simultaneous_signals_keep_the_order_they_arrive_in() -> None:
    from pytest_durable.faults import FaultPlan, SendSignal

    plan = FaultPlan(
        (
            SendSignal(signal="deliver", args=("first",), at=timedelta(seconds=5)),
            SendSignal(signal="deliver", args=("second",), at=timedelta(seconds=5)),
        )
    )

    def run(tie_break: object) -> list[str]:
        with DurableEnvironment() as env:
            env.loop.tie_break = tie_break  # type: ignore[assignment]
            handle = env.run(Inbox.run, faults=plan)
            recorded = [
                e.input[0]
                for e in handle.history.events
                if isinstance(e, events.WorkflowExecutionSignaled)
            ]
            assert recorded == handle.result()
            return recorded

    # Signals are messages, not results of the workflow's commands: the order they arrive in
    # is theirs, and the tie-break decides it.
    assert run(None) == ["first", "second"]
    assert run(reverse) == ["second", "first"]


@workflow.defn
class WaitsForStep:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            step, "a", start_to_close_timeout=timedelta(seconds=30)
        )


def test_a_cancellation_request_keeps_its_place_among_simultaneous_outcomes() -> None:
    from pytest_durable.faults import FaultPlan, RequestCancel

    plan = FaultPlan((RequestCancel(at=timedelta(seconds=5)),))

    def run(tie_break: object) -> list[str]:
        with DurableEnvironment() as env:
            env.mock_activity(step, returns="done", delay=timedelta(seconds=5))
            env.loop.tie_break = tie_break  # type: ignore[assignment]
            handle = env.run(WaitsForStep.run, faults=plan)
            return [
                e.kind
                for e in handle.history.events
                if e.kind in ("ActivityTaskCompleted", "WorkflowExecutionCancelRequested")
            ]

    # Whether the outcome or the cancellation reached the server first is a real race (the
    # workflow sees one before the other): the tie-break decides it, and history keeps it.
    fifo, reversed_order = run(None), run(reverse)
    assert sorted(fifo) == sorted(reversed_order) == [
        "ActivityTaskCompleted",
        "WorkflowExecutionCancelRequested",
    ]
    assert fifo == list(reversed(reversed_order))


@workflow.defn
class SignalledWhileWaiting:
    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        result = await workflow.execute_activity(
            step, "a", start_to_close_timeout=timedelta(seconds=30)
        )
        return [*self.notes, result]

    @workflow.signal
    def note(self, text: str) -> None:
        self.notes.append(text)


def test_a_signal_is_recorded_ahead_of_results_waiting_for_the_same_task() -> None:
    from pytest_durable.faults import FaultPlan, SendSignal

    plan = FaultPlan((SendSignal(signal="note", args=("hi",), at=timedelta(seconds=5)),))

    def run(tie_break: object) -> tuple[list[str], list[str]]:
        with DurableEnvironment(seed=1) as env:
            env.mock_activity(step, returns="done", delay=timedelta(seconds=5))
            env.loop.tie_break = tie_break  # type: ignore[assignment]
            handle = env.run(SignalledWhileWaiting.run, faults=plan)
            kinds = [e.kind for e in handle.history.events]
            return kinds, handle.result()

    fifo = run(None)
    # The outcome fires first under the reversed order; the history is the same: the signal,
    # then the activity's events, in one task (its handler runs before the code resumes).
    assert run(reverse) == fifo
    kinds, result = fifo
    assert result == ["hi", "done"]
    signalled = kinds.index("WorkflowExecutionSignaled")
    assert kinds[signalled + 1 : signalled + 4] == [
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "WorkflowTaskCompleted",
    ]
