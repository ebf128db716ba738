"""Worker interceptors wrap a Worker's workflows (temporalio's own interceptor classes) and its
activities (each attempt runs through the chain), as on a temporalio worker."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    Interceptor,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from pytest_durable.temporal import UnsupportedTemporalFeatureError, Worker, WorkflowEnvironment

pytestmark = pytest.mark.asyncio

SEEN: list[Any] = []


@activity.defn
async def shout(text: str) -> str:
    activity.heartbeat("half way")
    return text.upper()


@activity.defn
def where() -> str:
    return f"{activity.info().task_queue} on {threading.current_thread().name}"


@workflow.defn
class Relay:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, text: str) -> list[str]:
        await workflow.wait_condition(lambda: self.go)
        options = {"start_to_close_timeout": timedelta(seconds=5)}
        loud = await workflow.execute_activity(shout, text, **options)  # type: ignore[arg-type]
        place = await workflow.execute_activity(where, **options)  # type: ignore[arg-type]
        return [loud, place, workflow.info().task_queue]

    @workflow.signal
    def start(self) -> None:
        self.go = True


class _WorkflowRecorder(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        SEEN.append(("workflow", input.args))
        return [*await super().execute_workflow(input), "wrapped"]

    async def handle_signal(self, input: HandleSignalInput) -> None:
        SEEN.append(("signal", input.signal))
        await super().handle_signal(input)


class _HeartbeatRecorder(ActivityOutboundInterceptor):
    def heartbeat(self, *details: Any) -> None:
        SEEN.append(("heartbeat", details))
        super().heartbeat(*details)


class _ActivityRecorder(ActivityInboundInterceptor):
    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        super().init(_HeartbeatRecorder(outbound))

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        SEEN.append(("activity", input.fn.__name__, list(input.args)))
        return await super().execute_activity(input)


class Recorder(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityRecorder(super().intercept_activity(next))

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _WorkflowRecorder


class CountingRunner(UnsandboxedWorkflowRunner):
    prepared = 0

    def prepare_workflow(self, defn: Any) -> None:
        CountingRunner.prepared += 1
        super().prepare_workflow(defn)


async def test_worker_interceptors_wrap_workflows_and_activities() -> None:
    SEEN.clear()
    runner = CountingRunner()
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(
            env.client,
            task_queue="relay-q",
            workflows=[Relay],
            activities=[shout, where],
            interceptors=[Recorder()],
            workflow_runner=runner,
        ):
            handle = await env.client.start_workflow(
                Relay.run, "hey", id="relay", task_queue="relay-q"
            )
            await handle.signal(Relay.start)
            loud, place, queue, wrapped = await handle.result()
    assert (loud, queue, wrapped) == ("HEY", "relay-q", "wrapped")
    task_queue, _, thread = place.partition(" on ")
    assert task_queue == "relay-q" and thread != threading.main_thread().name
    assert SEEN == [
        ("workflow", ["hey"]),
        ("signal", "start"),
        ("activity", "shout", ["hey"]),
        ("heartbeat", ("half way",)),
        ("activity", "where", []),
    ]
    assert CountingRunner.prepared >= 1  # the worker's own runner object built the instance


async def test_an_interceptor_that_is_not_a_worker_interceptor_is_refused() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:
        with pytest.raises(UnsupportedTemporalFeatureError, match=r"not a temporalio\.worker"):
            Worker(env.client, task_queue="q", workflows=[Relay], interceptors=[object()])
