"""The workflow's own event loop: durable time, and clear errors for what cannot be durable."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import pytest

from pytest_durable import (
    DurableEnvironment,
    LoopMisuseError,
    WorkflowFailureError,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


def misuse_of(env: DurableEnvironment, action: Callable[[], Any]) -> LoopMisuseError:
    @workflow.defn
    class Misuses:
        @workflow.run
        async def run(self) -> None:
            result = action()
            if asyncio.iscoroutine(result):
                await result

    with pytest.raises(WorkflowFailureError) as info:
        env.run(Misuses).result()
    cause = info.value.cause
    assert isinstance(cause, LoopMisuseError)
    return cause


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.parametrize(
    ("action", "what", "why"),
    [
        (lambda: _loop().run_in_executor(None, print), "run_in_executor", "threads"),
        (lambda: _loop().call_soon_threadsafe(print), "call_soon_threadsafe", "one thread"),
        (lambda: _loop().getaddrinfo("example.com", 80), "getaddrinfo", "network"),
        (lambda: _loop().create_connection(asyncio.Protocol, "x", 1), "create_connection", "net"),
        (lambda: asyncio.open_connection("example.com", 80), "create_connection", "network"),
        (lambda: asyncio.create_subprocess_exec("true"), "subprocess_exec", "subprocesses"),
        (lambda: _loop().add_reader(0, print), "add_reader", "file descriptors"),
        (lambda: _loop().stop(), "stop", "engine drives"),
        (lambda: _loop().run_until_complete(asyncio.sleep(0)), "run_until_complete", "engine"),
        (lambda: asyncio.to_thread(print), "run_in_executor", "threads"),
    ],
)
def test_what_cannot_be_durable_is_refused_clearly(
    env: DurableEnvironment, action: Callable[[], Any], what: str, why: str
) -> None:
    error = misuse_of(env, action)
    gc.collect()  # nothing refused may linger to warn "never awaited" later
    message = str(error)
    assert message.startswith(f"{what} is not available inside a workflow")
    assert why in message
    assert "workflow.execute_activity()" in message


def test_loop_time_is_workflow_time(env: DurableEnvironment) -> None:
    @workflow.defn
    class Clock:
        @workflow.run
        async def run(self) -> list[float]:
            loop = asyncio.get_running_loop()
            times = [loop.time()]
            await asyncio.sleep(90)
            times.append(loop.time())
            handle_fired = loop.create_future()
            loop.call_at(loop.time() + 30, handle_fired.set_result, None)
            await handle_fired
            times.append(loop.time())
            return times

    handle = env.run(Clock)
    assert handle.result() == [0.0, 90.0, 120.0]  # seconds since the run started, exactly
    assert [e.duration_ns for e in handle.history.of_kind(ev.TimerStarted)] == [
        90 * 10**9,
        30 * 10**9,
    ]


def test_call_later_handle_cancel_cancels_the_durable_timer(env: DurableEnvironment) -> None:
    @workflow.defn
    class CallLater:
        @workflow.run
        async def run(self) -> str:
            loop = asyncio.get_running_loop()
            fired: list[str] = []
            handle = loop.call_later(3600, fired.append, "late")
            await asyncio.sleep(60)
            handle.cancel()
            await asyncio.sleep(7200)
            return ",".join(fired) or "cancelled"

    handle = env.run(CallLater)
    assert handle.result() == "cancelled"
    (canceled,) = handle.history.of_kind(ev.TimerCanceled)
    first = handle.history.of_kind(ev.TimerStarted)[0]
    assert canceled.started_event_id == first.event_id
    assert env.now() == at(seconds=7260)


def test_tasks_and_names(env: DurableEnvironment) -> None:
    @workflow.defn
    class Tasks:
        @workflow.run
        async def run(self) -> list[str]:
            async def named(label: str) -> str:
                await asyncio.sleep(1)
                return label

            tasks = [
                asyncio.get_running_loop().create_task(named(str(i)), name=f"t{i}")
                for i in range(3)
            ]
            assert [t.get_name() for t in tasks] == ["t0", "t1", "t2"]
            return list(await asyncio.gather(*tasks))

    assert env.run(Tasks).result() == ["0", "1", "2"]


def test_child_started_and_cancelled_in_one_task_leaves_no_trace(
    env: DurableEnvironment,
) -> None:
    @workflow.defn
    class Quick:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(1)

    @workflow.defn
    class Hesitant:
        @workflow.run
        async def run(self) -> str:
            starting: asyncio.Task[Any] = asyncio.ensure_future(
                workflow.start_child_workflow(Quick.run, id="never")
            )
            await asyncio.sleep(0)  # the start command is issued...
            starting.cancel()  # ...and withdrawn before the task ends
            try:
                await starting
            except asyncio.CancelledError:
                return "withdrawn"
            return "started"

    handle = env.run(Hesitant)
    assert handle.result() == "withdrawn"
    assert not handle.history.of_kind(ev.StartChildWorkflowExecutionInitiated)
    assert "never" not in env.engine.executions
