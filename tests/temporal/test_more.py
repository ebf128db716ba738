"""Less travelled paths of the front-end: options, refusals, queries that fail, children."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner

from pytest_durable import DurableEnvironment, workflow
from pytest_durable.temporal import UnsupportedTemporalFeatureError, Worker, WorkflowEnvironment

from .workflows import (
    CancelsChild,
    Checkout,
    Deprecated,
    FailingQuery,
    Order,
    Sleeper,
    charge,
    double,
)


def test_deprecated_patches_and_search_attributes(env: DurableEnvironment) -> None:
    handle = env.run(Deprecated.run)
    assert handle.result() == "done"
    markers = [e for e in handle.history.events if e.kind == "MarkerRecorded"]
    assert [m.details for m in markers] == [  # type: ignore[attr-defined]
        {"patch_id": "old-fix", "deprecated": True}
    ]
    instance = env.engine.executions[handle.id].current.instance
    assert instance is None or instance.search_attributes == {"CustomerId": ["c-1"]}


def test_cancelling_a_child_reports_its_cancellation(env: DurableEnvironment) -> None:
    env.register_workflow(Sleeper)
    env.register_activity(double)
    assert env.run(CancelsChild.run).result() == "CancelledError"


def test_a_failing_query_is_temporalios_query_failure(env: DurableEnvironment) -> None:
    handle = env.start(FailingQuery.run)
    with pytest.raises(Exception, match="no answer"):
        handle.query(FailingQuery.broken)


@pytest.mark.asyncio
async def test_client_options_and_refusals() -> None:
    env = await WorkflowEnvironment.start_local()
    try:
        worker = Worker(
            env.client,
            task_queue="q",
            workflows=[Checkout, FailingQuery],
            activities=[charge, double],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        with pytest.raises(UnsupportedTemporalFeatureError, match="Nexus"):
            Worker(env.client, task_queue="q", nexus_service_handlers=[object()])
        with pytest.raises(TypeError, match=r"env\.client"):
            Worker(object(), task_queue="q")  # type: ignore[arg-type]
        await worker.__aenter__()
        assert worker.is_running
        with pytest.raises(ValueError, match="arg and args"):
            await env.client.start_workflow(
                Checkout.run, Order("o", 1), args=[1], id="x", task_queue="q"
            )
        for option in ({"start_delay": timedelta(1)}, {"execution_timeout": timedelta(1)}):
            with pytest.raises(UnsupportedTemporalFeatureError):
                await env.client.start_workflow(Checkout.run, id="x", task_queue="q", **option)
        handle = await env.client.start_workflow(
            Checkout.run,
            Order("o", 1),
            id="sig",
            task_queue="q",
            retry_policy=RetryPolicy(maximum_attempts=2),
            memo={"k": "v"},
            start_signal="approve",
            start_signal_args=["hal"],
        )
        assert (await handle.result()).startswith("tx-o-3 approved by hal")
        broken = await env.client.start_workflow(FailingQuery.run, id="fq", task_queue="q")
        with pytest.raises(WorkflowQueryFailedError, match="no answer"):
            await broken.query(FailingQuery.broken)
        with pytest.raises(WorkflowUpdateFailedError):
            await broken.execute_update("u")  # FailingQuery has no updates: rejected
        await worker.shutdown()
        assert not worker.is_running
    finally:
        await env.shutdown()


@pytest.mark.asyncio
async def test_worker_run_serves_until_shutdown() -> None:
    import asyncio

    async with await WorkflowEnvironment.start_time_skipping() as env:
        worker = Worker(env.client, task_queue="q", workflows=[Sleeper], activities=[double])
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0)
        assert worker.is_running
        await worker.shutdown()
        await task


@pytest.mark.asyncio
async def test_a_handle_on_our_own_workflow_is_refused() -> None:
    @workflow.defn
    class Own:
        @workflow.run
        async def run(self) -> str:
            return "own"

    async with await WorkflowEnvironment.start_time_skipping() as env:
        env.env.run(Own.run, id="own")
        with pytest.raises(UnsupportedTemporalFeatureError, match="not a Temporal workflow"):
            env.client.get_workflow_handle("own")
