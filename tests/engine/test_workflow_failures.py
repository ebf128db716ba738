"""Workflow failures: declared failures, bugs failing at once with their traceback, deadlocks."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
import traceback
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    NondeterminismError,
    PayloadError,
    Replayer,
    WorkflowDeadlockError,
    WorkflowFailureError,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


def line_of(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    (number,) = [
        i
        for i, text in enumerate(lines, start=1)
        if text.endswith(marker) and "line_of" not in text
    ]
    return number


def failure(handle: object) -> WorkflowFailureError:
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()  # type: ignore[attr-defined]
    return info.value


SPIN_LIMIT_S = 10
"""Spinning workflows below stop after this many seconds of CPU time: ``while
time.process_time() < end`` never yields, exactly like ``while True``, but a broken watchdog then
fails the test instead of hanging the whole suite. (CPU time, because the determinism guard
refuses the real clocks in workflow code before the watchdog could see the spin.)"""


# --- declared failures ------------------------------------------------------------------------


def test_application_error_fails_the_workflow(env: DurableEnvironment) -> None:
    @workflow.defn
    class Declines:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(minutes=1))
            raise ApplicationError("card declined", {"code": 51}, type="Declined")

    handle = env.run(Declines, id="declines")
    error = failure(handle)
    assert handle.status == "failed"
    assert error.status == "failed"
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type, list(cause.details)) == (
        "card declined",
        "Declined",
        [{"code": 51}],
    )
    assert "workflow 'declines' (Declines) failed" in str(error)
    closing = handle.history[-1]
    assert isinstance(closing, ev.WorkflowExecutionFailed)
    assert closing.failure["class"] == "ApplicationError"
    assert closing.failure["type"] == "Declined"
    assert closing.time_ns == handle.history[0].time_ns + 60 * 10**9


def test_workflows_are_not_retried_by_default(env: DurableEnvironment) -> None:
    runs: list[int] = []

    @workflow.defn
    class Once:
        @workflow.run
        async def run(self) -> None:
            runs.append(1)
            raise ApplicationError("no")

    failure(env.run(Once))
    assert runs == [1]


# --- bugs: fail the run at once, with the original traceback ---------------------------------


def test_bug_fails_at_once_with_the_original_traceback(env: DurableEnvironment) -> None:
    @workflow.defn
    class Buggy:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(seconds=5))
            config: dict[str, int] = {}
            config["missing"] += 1  # BUG-LINE

    handle = env.run(Buggy)
    error = failure(handle)
    cause = error.cause
    assert type(cause) is KeyError
    frames = traceback.extract_tb(cause.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (__file__, line_of("# BUG-LINE"))
    assert error.__cause__ is cause
    assert handle.status == "failed"
    assert env.now() == at(seconds=5)  # not retried forever, not hanging
    closing = handle.history[-1]
    assert isinstance(closing, ev.WorkflowExecutionFailed)
    assert closing.failure == {
        "class": "ApplicationError",
        "message": "'missing'",
        "type": "KeyError",
        "non_retryable": False,
        "details": [],
    }


def test_bug_while_other_coroutines_wait_fails_now(env: DurableEnvironment) -> None:
    @workflow.defn
    class HalfBroken:
        @workflow.run
        async def run(self) -> None:
            async def broken() -> None:
                await asyncio.sleep(1)
                raise ZeroDivisionError("oops")

            await asyncio.gather(workflow.sleep(timedelta(days=30)), broken())

    handle = env.run(HalfBroken)
    assert isinstance(failure(handle).cause, ZeroDivisionError)
    assert env.now() == at(seconds=1)
    # The pending 30-day timer was dropped with the run.
    assert handle.history.of_kind(ev.TimerFired)[-1].time_ns == env.now_ns()


def test_bug_in_a_signal_handler_fails_the_workflow(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadSignal:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.signal
        def poke(self, value: int) -> None:
            raise ValueError(f"cannot take {value}")

    handle = env.start(BadSignal)
    handle.signal(BadSignal.poke, 3)
    cause = failure(handle).cause
    assert isinstance(cause, ValueError)
    assert str(cause) == "cannot take 3"


def test_bug_in_an_async_signal_handler_fails_the_workflow(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadAsyncSignal:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.signal
        async def poke(self) -> None:
            await asyncio.sleep(10)
            raise RuntimeError("late failure")

    handle = env.start(BadAsyncSignal)
    handle.signal(BadAsyncSignal.poke)
    assert isinstance(failure(handle).cause, RuntimeError)
    assert env.now() == at(seconds=10)


def test_bug_in_the_constructor(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadInit:
        def __init__(self) -> None:
            raise AttributeError("no state")

        @workflow.run
        async def run(self) -> None:
            pass

    assert isinstance(failure(env.run(BadInit)).cause, AttributeError)


def test_bug_in_a_wait_condition_predicate(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadPredicate:
        @workflow.run
        async def run(self) -> None:
            items: list[int] = []
            await workflow.wait_condition(lambda: items[0] > 1)

    assert isinstance(failure(env.run(BadPredicate)).cause, IndexError)


def test_uncaught_wait_condition_timeout_fails_the_workflow(env: DurableEnvironment) -> None:
    @workflow.defn
    class Impatient:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False, timeout=timedelta(minutes=3))

    handle = env.run(Impatient)
    assert isinstance(failure(handle).cause, TimeoutError)
    assert env.now() == at(minutes=3)


def test_result_that_cannot_be_serialised(env: DurableEnvironment) -> None:
    @workflow.defn
    class ReturnsJunk:
        @workflow.run
        async def run(self) -> object:
            return object()

    cause = failure(env.run(ReturnsJunk)).cause
    assert isinstance(cause, PayloadError)
    assert "the result of workflow 'ReturnsJunk'" in str(cause)


def test_a_failed_workflow_does_not_disturb_others(env: DurableEnvironment) -> None:
    @workflow.defn
    class Fine:
        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(timedelta(hours=1))
            return "fine"

    @workflow.defn
    class Broken:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(minutes=1))
            raise RuntimeError("broken")

    fine = env.start(Fine)
    broken = env.start(Broken)
    failure(broken)
    assert fine.status == "running"
    assert fine.result() == "fine"


# --- deadlock detection ---------------------------------------------------------------------------


@workflow.defn
class Spins:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(seconds=1))
        end = time.process_time() + SPIN_LIMIT_S
        while time.process_time() < end:  # SPIN-LINE
            pass


def test_busy_loop_is_caught_after_the_budget(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]
    started = time.monotonic()
    handle = env.run(Spins, id="spinner")
    elapsed = time.monotonic() - started
    error = failure(handle)
    cause = error.cause
    assert isinstance(cause, WorkflowDeadlockError)
    message = str(cause)
    assert "workflow 'Spins' (id 'spinner')" in message
    assert "ran for more than 0.2 s without yielding" in message
    spin_line = line_of("# SPIN-LINE")
    # The message lands in history, so the path is relative to the working directory.
    here = os.path.relpath(__file__)
    assert not here.startswith("/")
    assert f"{here}:{spin_line} in run" in message or f"{here}:{spin_line + 1} in run" in message
    assert "move slow or blocking work into an activity" in message
    assert 0.2 <= elapsed < SPIN_LIMIT_S / 2  # caught by the watchdog, not by the spin limit
    assert handle.status == "failed"


def test_blocking_call_is_caught_too(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]

    @workflow.defn
    class Sleepy:
        @workflow.run
        async def run(self) -> None:
            held = threading.Lock()
            held.acquire()
            for _ in range(100):
                # A blocking C call (time.sleep would be refused by the determinism guard).
                held.acquire(timeout=0.01)  # BLOCKING-LINE

    cause = failure(env.run(Sleepy)).cause
    assert isinstance(cause, WorkflowDeadlockError)
    assert f":{line_of('# BLOCKING-LINE')} in run" in str(cause)


def test_environment_keeps_working_after_a_deadlock(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]
    failure(env.run(Spins))

    @workflow.defn
    class Quick:
        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(timedelta(hours=1))
            return "ok"

    assert env.run(Quick).result() == "ok"


def test_replayer_detects_deadlocks_too(env: DurableEnvironment) -> None:
    @workflow.defn(name="MaybeSpins")
    class Sleeps:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(seconds=1))
            await workflow.sleep(timedelta(seconds=1))

    @workflow.defn(name="MaybeSpins")
    class SpinsOnReplay:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(seconds=1))
            end = time.process_time() + SPIN_LIMIT_S
            while time.process_time() < end:
                pass

    history = env.run(Sleeps).history
    started = time.monotonic()
    with pytest.raises(WorkflowDeadlockError, match="without yielding"):
        Replayer(workflows=[SpinsOnReplay], deadlock_budget_s=0.2).replay(history)
    assert time.monotonic() - started < SPIN_LIMIT_S / 2


def test_spinning_constructor_is_caught(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]

    @workflow.defn
    class SpinsAtBirth:
        def __init__(self) -> None:
            end = time.process_time() + SPIN_LIMIT_S
            while time.process_time() < end:  # INIT-SPIN
                pass

        @workflow.run
        async def run(self) -> None:
            pass

    cause = failure(env.run(SpinsAtBirth)).cause
    assert isinstance(cause, WorkflowDeadlockError)
    assert "in __init__" in str(cause)


def test_spinning_signal_handler_is_caught(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]

    @workflow.defn
    class SpinsOnSignal:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.signal
        def poke(self) -> None:
            end = time.process_time() + SPIN_LIMIT_S
            while time.process_time() < end:
                pass

    handle = env.start(SpinsOnSignal)
    handle.signal(SpinsOnSignal.poke)
    cause = failure(handle).cause
    assert isinstance(cause, WorkflowDeadlockError)
    assert "in poke" in str(cause)


def test_spinning_query_is_caught(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]

    @workflow.defn
    class SpinsOnQuery:
        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(timedelta(hours=1))
            return "done"

        @workflow.query
        def status(self) -> str:
            end = time.process_time() + SPIN_LIMIT_S
            while time.process_time() < end:
                pass

    handle = env.start(SpinsOnQuery)
    with pytest.raises(WorkflowDeadlockError, match="query 'status' of workflow 'SpinsOnQuery'"):
        handle.query(SpinsOnQuery.status)
    assert handle.result() == "done"  # the workflow itself is unharmed


def test_spinning_background_task_is_caught(make_env: object) -> None:
    env: DurableEnvironment = make_env(deadlock_timeout=0.2)  # type: ignore[operator]

    @workflow.defn
    class SpinsInTheBackground:
        @workflow.run
        async def run(self) -> None:
            async def spin() -> None:
                end = time.process_time() + SPIN_LIMIT_S
                while time.process_time() < end:
                    pass

            self.task = asyncio.ensure_future(spin())
            await workflow.sleep(timedelta(hours=1))

    handle = env.run(SpinsInTheBackground)
    assert isinstance(failure(handle).cause, WorkflowDeadlockError)
    assert env.now() == at()


def test_a_bug_during_replay_names_the_exception(env: DurableEnvironment) -> None:
    @workflow.defn(name="Changes")
    class Before:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(seconds=1))

    @workflow.defn(name="Changes")
    class After:
        @workflow.run
        async def run(self) -> None:
            raise LookupError("new bug")  # NEW-BUG

    history = env.run(Before).history
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[After]).replay(history)
    error = info.value
    assert "the code raised LookupError: new bug" in str(error)
    assert error.actual == "FailWorkflow(LookupError: new bug)"
    assert error.location == f"{__file__}:{line_of('# NEW-BUG')}"
    assert isinstance(error.__cause__, LookupError)
    assert "workflow.patched(" not in str(error)  # a bug, not a change to version


def test_unawaited_failing_task_is_logged_not_fatal(
    env: DurableEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    # Its error is only reported when the task is garbage collected, at no deterministic moment:
    # letting that fail the run would make the outcome differ between a run and its replay.
    @workflow.defn
    class FireAndForget:
        @workflow.run
        async def run(self) -> str:
            async def doomed() -> None:
                await asyncio.sleep(1)
                raise RuntimeError("nobody listens")

            asyncio.ensure_future(doomed())  # noqa: RUF006 - abandoned on purpose
            await workflow.sleep(timedelta(seconds=5))
            gc.collect()
            return "finished"

    handle = env.run(FireAndForget)
    assert handle.result() == "finished"
    assert "Task exception was never retrieved" in caplog.text
    assert "nobody listens" in caplog.text
    Replayer(workflows=[FireAndForget], strict=True).replay(handle.history)


def test_a_caught_deadlock_leaves_the_interpreter_healthy() -> None:
    # Withdrawing the watchdog's interrupt with PyThreadState_SetAsyncExc(NULL) used to leave the
    # eval breaker raised for good; under a trace function (coverage) the next workflow task then
    # spun forever. Run it in a subprocess, so a regression fails here instead of hanging.
    script = """
import sys, time
from datetime import timedelta
from pytest_durable import DurableEnvironment, WorkflowFailureError, workflow

@workflow.defn
class Spins:
    @workflow.run
    async def run(self) -> None:
        end = time.process_time() + 10
        while time.process_time() < end:
            pass

@workflow.defn
class Naps:
    @workflow.run
    async def run(self) -> str:
        for _ in range(20):
            await workflow.sleep(timedelta(minutes=1))
        return "rested"

with DurableEnvironment(deadlock_timeout=0.2) as env:
    try:
        env.run(Spins).result()
    except WorkflowFailureError as error:
        print(type(error.cause).__name__)
    sys.settrace(lambda *args: None)
    print(env.run(Naps).result())
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.split() == ["WorkflowDeadlockError", "rested"]
