"""Failures carry no private exceptions in their chains, and the TimeoutError trap (ours vs the
builtin) is explained where it can be detected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    RunawayWorkflowError,
    TimeoutError,  # the trap: this shadows the builtin in this module
    WorkflowBlockedError,
    WorkflowDeadlockError,
    WorkflowFailureError,
    workflow,
)


def _chain(error: BaseException) -> list[BaseException]:
    seen = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return seen


def _private(chain: list[BaseException]) -> list[str]:
    return [
        type(e).__name__
        for e in chain
        if type(e).__name__.startswith("_") or type(e).__name__ == "LoopIdle"
    ]


@workflow.defn
class Spins:
    @workflow.run
    async def run(self) -> None:
        deadline = time.process_time() + 5
        while time.process_time() < deadline:  # never yields
            pass


@workflow.defn
class Waits:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn
class Forever:
    @workflow.run
    async def run(self) -> None:
        while True:
            await workflow.sleep(timedelta(days=1))


def test_no_private_exception_in_any_chain(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(deadlock_timeout=0.1)
    with pytest.raises(WorkflowFailureError) as deadlock:
        env.run(Spins).result()
    assert isinstance(deadlock.value.cause, WorkflowDeadlockError)
    assert deadlock.value.cause.__traceback__ is not None  # it still points at the line
    with pytest.raises(WorkflowBlockedError) as blocked:
        env.run(Waits)
    runaway_env = make_env(max_drive_time=timedelta(days=30))
    with pytest.raises(RunawayWorkflowError) as runaway:
        runaway_env.run(Forever)
    for info in (deadlock, blocked, runaway):
        assert _private(_chain(info.value)) == [], _chain(info.value)


@workflow.defn
class CatchesTheWrongTimeout:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=5))
        except TimeoutError:  # pytest_durable's: asyncio's TimeoutError passes through
            return "timed out"
        return "done"


def test_a_workflow_missing_the_builtin_timeout_gets_a_hint(env: DurableEnvironment) -> None:
    with pytest.raises(WorkflowFailureError) as info:
        env.run(CatchesTheWrongTimeout).result()
    cause = info.value.cause
    assert isinstance(cause, asyncio.TimeoutError)
    [note] = cause.__notes__
    assert note.startswith("hint: this is Python's builtin TimeoutError")
    assert "in this module the name TimeoutError is pytest_durable.TimeoutError" in note
