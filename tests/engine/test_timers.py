"""Durable timers: workflow.sleep, asyncio.sleep/wait_for/gather/wait, cancellation, conditions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    InvalidArgumentError,
    Replayer,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


def kinds(handle: object) -> list[str]:
    return [e.kind for e in handle.history]


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self, seconds: float) -> list[str]:
        before = workflow.now()
        await workflow.sleep(timedelta(seconds=seconds))
        return [before.isoformat(), workflow.now().isoformat()]


def test_sleep_is_a_durable_timer(env: DurableEnvironment) -> None:
    handle = env.run(Sleeper, 30 * 86_400)
    assert handle.result() == [at().isoformat(), at(days=30).isoformat()]
    assert env.now() == at(days=30)
    started = handle.history.of_kind(ev.TimerStarted)
    fired = handle.history.of_kind(ev.TimerFired)
    assert [e.duration_ns for e in started] == [30 * 86_400 * 10**9]
    assert [e.started_event_id for e in fired] == [started[0].event_id]
    assert fired[0].time_ns == started[0].time_ns + 30 * 86_400 * 10**9


def test_env_sleep_advances_step_by_step(env: DurableEnvironment) -> None:
    handle = env.start(Sleeper, 3600)
    env.sleep(timedelta(minutes=59))
    assert handle.status == "running"
    assert env.now() == at(minutes=59)
    env.sleep(timedelta(minutes=1))
    assert handle.status == "completed"
    assert env.now() == at(hours=1)


def test_asyncio_sleep_in_a_workflow_is_durable(env: DurableEnvironment) -> None:
    @workflow.defn
    class AsyncioSleeper:
        @workflow.run
        async def run(self) -> str:
            await asyncio.sleep(90)
            await asyncio.sleep(0)  # a plain yield: no timer
            return workflow.now().isoformat()

    handle = env.run(AsyncioSleeper)
    assert handle.result() == at(seconds=90).isoformat()
    assert kinds(handle).count("TimerStarted") == 1


def test_zero_sleep_records_no_timer(env: DurableEnvironment) -> None:
    handle = env.run(Sleeper, 0)
    assert handle.result()[0] == handle.result()[1]
    assert not handle.history.of_kind(ev.TimerStarted)


def test_negative_sleep_is_an_error(env: DurableEnvironment) -> None:
    @workflow.defn
    class Negative:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(seconds=-1))

    with pytest.raises(WorkflowFailureError) as info:
        env.run(Negative).result()
    assert isinstance(info.value.cause, InvalidArgumentError)
    assert "must not be negative" in str(info.value.cause)


def test_long_timers_keep_exact_time(env: DurableEnvironment) -> None:
    @workflow.defn
    class Decade:
        @workflow.run
        async def run(self) -> list[str]:
            out = []
            for _ in range(3):
                await workflow.sleep(timedelta(days=3650, microseconds=1))
                out.append(workflow.now().isoformat())
            return out

    handle = env.run(Decade)
    step = timedelta(days=3650, microseconds=1)
    assert handle.result() == [(at() + step * n).isoformat() for n in (1, 2, 3)]
    assert env.now_ns() - handle.history[0].time_ns == 3 * (3650 * 86_400 * 10**9 + 1_000)


# --- gather / wait / wait_for ------------------------------------------------------------------


def test_gather_of_sleeps_fires_in_time_order(env: DurableEnvironment) -> None:
    @workflow.defn
    class Gather:
        @workflow.run
        async def run(self) -> list[tuple[str, str]]:
            order: list[tuple[str, str]] = []

            async def nap(name: str, seconds: int) -> str:
                await asyncio.sleep(seconds)
                order.append((name, workflow.now().isoformat()))
                return name

            results = await asyncio.gather(nap("c", 30), nap("a", 10), nap("b", 20))
            assert results == ["c", "a", "b"]
            return order

    handle = env.run(Gather)
    assert handle.result() == [
        ("a", at(seconds=10).isoformat()),
        ("b", at(seconds=20).isoformat()),
        ("c", at(seconds=30).isoformat()),
    ]
    # All three timers were started by the first workflow task.
    first_task = handle.history[2:5]
    assert [e.kind for e in first_task] == ["TimerStarted"] * 3


def test_wait_first_completed_and_cancel_the_rest(env: DurableEnvironment) -> None:
    @workflow.defn
    class First:
        @workflow.run
        async def run(self) -> str:
            short = asyncio.ensure_future(workflow.sleep(timedelta(minutes=1)))
            long = asyncio.ensure_future(workflow.sleep(timedelta(days=1)))
            done, pending = await asyncio.wait({short, long}, return_when=asyncio.FIRST_COMPLETED)
            assert done == {short} and pending == {long}
            long.cancel()
            await asyncio.sleep(5)
            return workflow.now().isoformat()

    handle = env.run(First)
    assert handle.result() == at(minutes=1, seconds=5).isoformat()
    canceled = handle.history.of_kind(ev.TimerCanceled)
    started = handle.history.of_kind(ev.TimerStarted)
    day_timer = next(e for e in started if e.duration_ns == 86_400 * 10**9)
    assert [e.started_event_id for e in canceled] == [day_timer.event_id]
    assert not [
        e for e in handle.history.of_kind(ev.TimerFired) if e.started_event_id == day_timer.event_id
    ]
    assert env.now() == at(minutes=1, seconds=5)


def test_wait_for_timeout_cancels_the_timer_when_work_finishes_first(
    env: DurableEnvironment,
) -> None:
    @activity.defn
    async def quick() -> str:
        await asyncio.sleep(2)
        return "quick"

    @workflow.defn
    class WaitFor:
        @workflow.run
        async def run(self) -> str:
            result: str = await asyncio.wait_for(
                workflow.execute_activity(quick, start_to_close_timeout=timedelta(seconds=10)),
                timeout=60,
            )
            return result

    handle = env.run(WaitFor)
    assert handle.result() == "quick"
    (timer,) = handle.history.of_kind(ev.TimerStarted)
    (canceled,) = handle.history.of_kind(ev.TimerCanceled)
    assert canceled.started_event_id == timer.event_id
    assert canceled.time_ns == timer.time_ns + 2 * 10**9
    assert not handle.history.of_kind(ev.TimerFired)
    # Nothing else runs to 60 s: the cancelled timer is gone from the host too.
    assert env.now() == at(seconds=2)


def test_wait_for_timeout_raises_and_cancels_the_inner_sleep(env: DurableEnvironment) -> None:
    @workflow.defn
    class Times:
        @workflow.run
        async def run(self) -> str:
            try:
                await asyncio.wait_for(workflow.sleep(timedelta(hours=1)), timeout=10)
            except TimeoutError:  # asyncio.TimeoutError is the builtin on 3.11+
                return "timed out at " + workflow.now().isoformat()
            return "slept"

    handle = env.run(Times)
    assert handle.result() == "timed out at " + at(seconds=10).isoformat()
    started = handle.history.of_kind(ev.TimerStarted)
    assert sorted(e.duration_ns for e in started) == [10 * 10**9, 3600 * 10**9]
    (canceled,) = handle.history.of_kind(ev.TimerCanceled)
    hour = next(e for e in started if e.duration_ns == 3600 * 10**9)
    assert canceled.started_event_id == hour.event_id
    assert env.now() == at(seconds=10)


def test_sleep_cancelled_by_task_cancel_cancels_its_timer(env: DurableEnvironment) -> None:
    @workflow.defn
    class CancelSleep:
        @workflow.run
        async def run(self) -> str:
            task = asyncio.ensure_future(workflow.sleep(timedelta(days=7)))
            await workflow.sleep(timedelta(hours=1))
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled at " + workflow.now().isoformat()
            return "not cancelled"

    handle = env.run(CancelSleep)
    assert handle.result() == "cancelled at " + at(hours=1).isoformat()
    week = next(
        e for e in handle.history.of_kind(ev.TimerStarted) if e.duration_ns == 7 * 86_400 * 10**9
    )
    (canceled,) = handle.history.of_kind(ev.TimerCanceled)
    assert canceled.started_event_id == week.event_id
    assert canceled.time_ns == handle.history[0].time_ns + 3600 * 10**9
    assert env.now() == at(hours=1)


def test_timer_started_and_cancelled_in_one_task_leaves_no_trace(env: DurableEnvironment) -> None:
    @workflow.defn
    class Fleeting:
        @workflow.run
        async def run(self) -> str:
            task = asyncio.ensure_future(workflow.sleep(timedelta(days=1)))
            await asyncio.sleep(0)  # let the timer start
            task.cancel()
            await asyncio.sleep(0)
            return "ok"

    handle = env.run(Fleeting)
    assert handle.result() == "ok"
    assert not handle.history.of_kind(ev.TimerStarted)
    assert not handle.history.of_kind(ev.TimerCanceled)


# --- wait_condition ------------------------------------------------------------------------------


@workflow.defn
class Gate:
    def __init__(self) -> None:
        self.open = False

    @workflow.run
    async def run(self, timeout_s: float) -> str:
        try:
            await workflow.wait_condition(lambda: self.open, timeout=timedelta(seconds=timeout_s))
        except TimeoutError:
            return "timeout at " + workflow.now().isoformat()
        return "opened at " + workflow.now().isoformat()

    @workflow.signal
    def unlock(self) -> None:
        self.open = True


def test_wait_condition_timeout_raises_inside_the_workflow(env: DurableEnvironment) -> None:
    handle = env.run(Gate, 300)
    assert handle.result() == "timeout at " + at(minutes=5).isoformat()
    assert len(handle.history.of_kind(ev.TimerFired)) == 1


def test_wait_condition_met_before_timeout_cancels_the_timer(env: DurableEnvironment) -> None:
    handle = env.start(Gate, 300)
    env.sleep(timedelta(minutes=2))
    handle.signal(Gate.unlock)
    assert handle.result() == "opened at " + at(minutes=2).isoformat()
    assert len(handle.history.of_kind(ev.TimerCanceled)) == 1
    assert not handle.history.of_kind(ev.TimerFired)


def test_wait_condition_already_true_returns_at_once(env: DurableEnvironment) -> None:
    @workflow.defn
    class AlreadyTrue:
        @workflow.run
        async def run(self) -> str:
            await workflow.wait_condition(lambda: True)
            return workflow.now().isoformat()

    handle = env.run(AlreadyTrue)
    assert handle.result() == at().isoformat()
    assert [e.kind for e in handle.history] == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]


def test_wait_condition_sees_state_changed_by_another_coroutine(env: DurableEnvironment) -> None:
    @workflow.defn
    class TwoCoroutines:
        def __init__(self) -> None:
            self.count = 0

        @workflow.run
        async def run(self) -> str:
            async def tick() -> None:
                for _ in range(3):
                    await asyncio.sleep(60)
                    self.count += 1

            task = asyncio.ensure_future(tick())
            await workflow.wait_condition(lambda: self.count == 2)
            stamp = workflow.now()
            await task
            return stamp.isoformat()

    assert env.run(TwoCoroutines).result() == at(minutes=2).isoformat()


def test_now_is_the_workflow_task_time_not_the_clock(env: DurableEnvironment) -> None:
    seen: list[datetime] = []

    @workflow.defn
    class Observe:
        @workflow.run
        async def run(self) -> None:
            seen.append(workflow.now())
            await workflow.sleep(timedelta(seconds=5))
            seen.append(workflow.now())

    handle = env.start(Observe)
    env.sleep(timedelta(hours=1))
    assert handle.status == "completed"
    assert seen == [at(), at(seconds=5)]


def test_asyncio_timeout_queue_event_and_lock_work_in_workflows(env: DurableEnvironment) -> None:
    @workflow.defn
    class Primitives:
        def __init__(self) -> None:
            self.queue: asyncio.Queue[int] = asyncio.Queue()
            self.ready = asyncio.Event()

        @workflow.run
        async def run(self) -> list[object]:
            out: list[object] = []
            try:
                async with asyncio.timeout(5):
                    await workflow.sleep(timedelta(hours=1))
            except TimeoutError:
                out.append(["timeout", workflow.now().isoformat()])
            async with asyncio.timeout(50):
                await workflow.sleep(timedelta(seconds=1))
            out.append(["in time", workflow.now().isoformat()])
            out.append(["queue", await self.queue.get()])
            await self.ready.wait()
            async with asyncio.Lock():
                out.append(["event", workflow.now().isoformat()])
            return out

        @workflow.signal
        def put(self, item: int) -> None:
            self.queue.put_nowait(item)

        @workflow.signal
        def go(self) -> None:
            self.ready.set()

    handle = env.start(Primitives)
    env.sleep(timedelta(minutes=1))
    handle.signal(Primitives.put, 7)
    env.sleep(timedelta(minutes=1))
    handle.signal(Primitives.go)
    assert handle.result() == [
        ["timeout", at(seconds=5).isoformat()],
        ["in time", at(seconds=6).isoformat()],
        ["queue", 7],
        ["event", at(minutes=2).isoformat()],
    ]
    # Both timeout contexts' timers were cancelled when they were no longer needed.
    assert len(handle.history.of_kind(ev.TimerCanceled)) == 2
    Replayer(workflows=[Primitives], strict=True).replay(handle.history)
