"""Continue-as-new: run chains, their histories and ids, handles that follow them."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest

from pytest_durable import (
    ChildWorkflowError,
    DurableEnvironment,
    PayloadError,
    Replayer,
    UnknownWorkflowError,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


@workflow.defn
class Counter:
    def __init__(self) -> None:
        self.bonus = 0

    @workflow.run
    async def run(self, remaining: int, total: int) -> dict[str, int]:
        await workflow.sleep(timedelta(hours=1))
        total += remaining + self.bonus
        if remaining > 0:
            try:
                workflow.continue_as_new(remaining - 1, total)
            except Exception:  # continue-as-new must not be swallowable
                return {"swallowed": 1}
        return {"total": total}

    @workflow.signal
    def add(self, amount: int) -> None:
        self.bonus += amount


def test_runs_chain_until_the_last_returns(env: DurableEnvironment) -> None:
    handle = env.run(Counter, 3, 0, id="counter")
    assert handle.result() == {"total": 6}
    assert env.now() == at(hours=4)
    assert [status for _, status in handle.runs] == [
        "continued_as_new",
        "continued_as_new",
        "continued_as_new",
        "completed",
    ]
    assert handle.status == "completed"
    assert handle.first_run_id == handle.runs[0][0]
    assert handle.run_id == handle.runs[-1][0]


def test_each_run_has_its_own_history_linking_the_chain(env: DurableEnvironment) -> None:
    handle = env.run(Counter, 2, 0)
    histories = handle.histories
    assert len(histories) == 3
    for previous, current in itertools.pairwise(histories):
        closing = previous[-1]
        assert isinstance(closing, ev.WorkflowExecutionContinuedAsNew)
        assert closing.new_run_id == current.run_id
        assert closing.workflow_type == "Counter"
        assert current.started.continued_from_run_id == previous.run_id
        assert current.started.first_run_id == histories[0].run_id
        assert current.started.input == closing.input
        assert current.started.time_ns == closing.time_ns
    assert [h.started.input for h in histories] == [[2, 0], [1, 2], [0, 3]]
    # Fresh randomness for every run.
    assert len({h.started.randomness_seed for h in histories}) == 3


def test_continue_as_new_cannot_be_swallowed_by_except_exception(env: DurableEnvironment) -> None:
    assert env.run(Counter, 1, 0).result() == {"total": 1}


def test_signals_follow_the_chain(env: DurableEnvironment) -> None:
    handle = env.start(Counter, 1, 0)
    env.sleep(timedelta(hours=1, minutes=30))  # now in the second run
    assert len(handle.runs) == 2
    handle.signal(Counter.add, 100)
    assert handle.result() == {"total": 101}
    assert handle.history.of_kind(ev.WorkflowExecutionSignaled)
    assert not handle.histories[0].of_kind(ev.WorkflowExecutionSignaled)


def test_continue_as_new_as_another_workflow(env: DurableEnvironment) -> None:
    @workflow.defn
    class Finale:
        @workflow.run
        async def run(self, note: str) -> str:
            return f"finale: {note} ({workflow.info().workflow_type})"

    @workflow.defn
    class Opening:
        @workflow.run
        async def run(self) -> str:
            workflow.continue_as_new("from opening", workflow=Finale)

    handle = env.run(Opening, id="show")
    assert handle.result() == "finale: from opening (Finale)"
    assert [h.workflow_type for h in handle.histories] == ["Opening", "Finale"]
    assert {h.workflow_id for h in handle.histories} == {"show"}


def test_activities_in_flight_are_abandoned(env: DurableEnvironment) -> None:
    @activity.defn
    async def slow() -> str:
        return "slow"

    mock = env.mock_activity(slow, delay=timedelta(hours=5), returns="done")

    @workflow.defn
    class Restless:
        @workflow.run
        async def run(self, generation: int) -> int:
            if generation == 0:
                workflow.start_activity(slow, start_to_close_timeout=timedelta(hours=10))
                await workflow.sleep(timedelta(minutes=1))
                workflow.continue_as_new(1)
            return generation

    handle = env.run(Restless, 0)
    assert handle.result() == 1
    assert mock.call_count == 1
    assert env.now() == at(minutes=1)
    assert not handle.histories[0].of_kind(ev.ActivityTaskCompleted)


def test_unserialisable_continue_as_new_argument_fails_the_run(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadArgs:
        @workflow.run
        async def run(self) -> None:
            workflow.continue_as_new(object())

    handle = env.run(BadArgs)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    assert isinstance(info.value.cause, PayloadError)
    assert "argument 0 of continue_as_new" in str(info.value.cause)
    assert len(handle.runs) == 1


def test_continue_as_new_to_an_unknown_name_fails_clearly(env: DurableEnvironment) -> None:
    @workflow.defn
    class Misnamed:
        @workflow.run
        async def run(self) -> None:
            workflow.continue_as_new(workflow="NoSuchWorkflow")

    handle = env.run(Misnamed)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    cause = info.value.cause
    assert isinstance(cause, UnknownWorkflowError)
    assert "unknown workflow type 'NoSuchWorkflow'" in str(cause)
    assert "registered workflows: Misnamed" in str(cause)
    assert handle.status == "failed"
    assert len(handle.runs) == 1
    # History records what the code did, so it still replays.
    assert isinstance(handle.history[-1], ev.WorkflowExecutionContinuedAsNew)
    Replayer(workflows=[Misnamed]).replay(handle.history)


def test_child_continuing_as_an_unknown_name_fails_the_parent_clearly(
    env: DurableEnvironment,
) -> None:
    @workflow.defn
    class LostChild:
        @workflow.run
        async def run(self) -> None:
            workflow.continue_as_new(workflow="NoSuchWorkflow")

    @workflow.defn
    class Waiting:
        @workflow.run
        async def run(self) -> str:
            try:
                await workflow.execute_child_workflow(LostChild.run)
            except ChildWorkflowError as err:
                return f"{type(err.cause).__name__}: {err.cause}"
            return "no error"

    result = env.run(Waiting).result()
    # str() of a typed ApplicationError leads with its type, as temporalio's does.
    assert result.startswith(
        "ApplicationError: UnknownWorkflowError: unknown workflow type 'NoSuchWorkflow'"
    )


def test_the_next_run_can_be_cancelled_again(env: DurableEnvironment) -> None:
    @workflow.defn
    class Evasive:
        @workflow.run
        async def run(self, generation: int) -> str:
            try:
                await workflow.sleep(timedelta(days=1))
            except asyncio.CancelledError:
                if generation == 0:
                    workflow.continue_as_new(1)  # the first cancellation starts afresh
                raise
            return "slept"

    handle = env.start(Evasive, 0)
    handle.cancel()
    assert [status for _, status in handle.runs] == ["continued_as_new", "running"]
    handle.cancel()
    with pytest.raises(WorkflowFailureError):
        handle.result()
    assert handle.status == "cancelled"
    assert len(handle.history.of_kind(ev.WorkflowExecutionCancelRequested)) == 1
