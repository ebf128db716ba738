"""A bug in a Temporal SDK workflow fails its workflow task, as on Temporal: nothing is recorded,
the run stays open and the task is retried when something new arrives; a wait for the run ends
at once with WorkflowTaskFailedError instead of hanging."""

from __future__ import annotations

import logging

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, TerminatedError

from pytest_durable import DurableEnvironment
from pytest_durable.errors import WorkflowTaskFailedError
from pytest_durable.temporal import Worker, WorkflowEnvironment

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@workflow.defn
class Picky:
    """Its task fails while it has seen fewer than two signals (a bug it recovers from)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.seen))
        if len(self.seen) < 2:
            raise KeyError(f"only {self.seen}")
        return self.seen

    @workflow.signal
    def add(self, name: str) -> None:
        self.seen.append(name)


@workflow.defn
class Broken:
    @workflow.run
    async def run(self) -> None:
        raise LookupError("the bug")


@workflow.defn(failure_exception_types=[LookupError])
class DeclaresItsFailures:
    @workflow.run
    async def run(self) -> None:
        raise LookupError("declared")


def test_the_failed_task_records_nothing_and_is_retried_when_a_signal_arrives(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Picky.run, id="picky")
    handle.signal(Picky.add, "a")
    assert handle.status == "running"
    assert handle.history.events[-1].kind == "WorkflowExecutionSignaled"  # no task completed
    with pytest.raises(WorkflowTaskFailedError, match=r"KeyError: \"only \['a'\]\""):
        handle.result()
    handle.signal(Picky.add, "b")  # the retried task replays history and sees both signals
    assert handle.result() == ["a", "b"]
    kinds = [event.kind for event in handle.history.events]
    assert kinds[-3:] == [
        "WorkflowExecutionSignaled",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]


def test_a_run_whose_task_fails_can_be_queried_cancelled_and_terminated(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Picky.run, id="picky")
    handle.signal(Picky.add, "a")
    handle.terminate("stuck", reason="giving up")
    with pytest.raises(WorkflowFailureError) as caught:
        handle.result()
    assert isinstance(caught.value.cause, TerminatedError)
    other = env.start(Broken.run, id="broken")
    other.cancel()  # retried with the cancellation: the bug comes first again
    with pytest.raises(WorkflowTaskFailedError, match="LookupError: the bug"):
        other.result()


def test_declared_failure_types_fail_the_workflow_instead(env: DurableEnvironment) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(DeclaresItsFailures.run).result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == ("LookupError", "declared")


@pytest.mark.asyncio
async def test_the_client_sees_a_running_workflow_and_temporalio_logs_the_task_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:
        async with Worker(env.client, task_queue="q", workflows=[Broken]):
            with caplog.at_level(logging.WARNING):
                handle = await env.client.start_workflow(Broken.run, id="b", task_queue="q")
            record = next(r for r in caplog.records if "Failed activation" in r.getMessage())
            assert getattr(record, "__temporal_error_identifier") == "WorkflowTaskFailure"
            description = await handle.describe()
            assert description.status == WorkflowExecutionStatus.RUNNING
            with pytest.raises(WorkflowTaskFailedError):
                await handle.result()
            await handle.terminate()
            with pytest.raises(WorkflowFailureError):
                await handle.result()
        async with Worker(
            env.client,
            task_queue="declared",
            workflows=[Broken],
            workflow_failure_exception_types=[LookupError],
        ):
            with pytest.raises(WorkflowFailureError) as caught:
                await env.client.execute_workflow(Broken.run, id="b2", task_queue="declared")
            assert isinstance(caught.value.cause, ApplicationError)
            assert caught.value.cause.type == "LookupError"
