"""The temporalio-shaped async client: Temporal's own tests port by changing their set-up only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TerminatedError,
    WorkflowAlreadyStartedError,
)

from pytest_durable.temporal import UnsupportedTemporalFeatureError, Worker, WorkflowEnvironment

from .workflows import (
    CancelsSyncActivity,
    ChargeOnce,
    Checkout,
    Child,
    Order,
    Parent,
    Sleeper,
    TerminatesChild,
    charge,
    double,
    heartbeats_until_cancelled,
)

pytestmark = pytest.mark.asyncio


async def test_a_temporal_style_test_runs_unchanged_but_for_its_set_up() -> None:
    # Nested as in Temporal's own tests, which a port keeps line for line.
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(
            env.client, task_queue="orders", workflows=[Checkout], activities=[charge, double]
        ):
            start = await env.get_current_time()
            handle = await env.client.start_workflow(
                Checkout.run, Order("o-1", 4), id="order-1", task_queue="orders"
            )
            await env.sleep(timedelta(seconds=3))
            assert await handle.query(Checkout.current_status) == "awaiting approval"
            await handle.signal(Checkout.approve, "dana")
            assert (await handle.result()).startswith("tx-o-1-3 approved by dana")
            assert await env.get_current_time() - start >= timedelta(days=1)
            description = await handle.describe()
            assert description.status == WorkflowExecutionStatus.COMPLETED
            assert (description.workflow_type, description.task_queue) == ("Checkout", "orders")
            again = env.client.get_workflow_handle_for(Checkout.run, "order-1")
            assert (await again.result()).startswith("tx-o-1-3")
            history = await handle.fetch_history()
            assert history.workflow_id == "order-1"
            assert (
                history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
            )


async def test_execute_workflow_raises_temporalios_failure() -> None:
    # Nested as in Temporal's own tests, which a port keeps line for line.
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="q", workflows=[ChargeOnce], activities=[charge]):
            with pytest.raises(WorkflowFailureError) as caught:
                await env.client.execute_workflow(
                    ChargeOnce.run, Order("o-2", -1), id="w", task_queue="q"
                )
            assert isinstance(caught.value.cause, ActivityError)


async def test_workflows_started_by_name_on_their_task_queue() -> None:
    # Nested as in Temporal's own tests, which a port keeps line for line.
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="kids", workflows=[Parent, Child]):
            result = await env.client.execute_workflow(
                "Parent", args=[[1, 2]], id="p", task_queue="kids", result_type=list
            )
            assert result == [10, 20]
            with pytest.raises(ApplicationError, match="not registered on the worker"):
                await env.client.start_workflow("Checkout", id="c", task_queue="kids")
            with pytest.raises(UnsupportedTemporalFeatureError, match="no Worker polls"):
                await env.client.start_workflow("Parent", id="x", task_queue="elsewhere")


async def test_id_conflict_and_reuse_policies() -> None:
    # Nested as in Temporal's own tests, which a port keeps line for line.
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="q", workflows=[Checkout], activities=[charge]):
            first = await env.client.start_workflow(
                Checkout.run, Order("o", 1), id="same", task_queue="q"
            )
            with pytest.raises(WorkflowAlreadyStartedError):
                await env.client.start_workflow(
                    Checkout.run, Order("o", 1), id="same", task_queue="q"
                )
            existing = await env.client.start_workflow(
                Checkout.run,
                Order("o", 1),
                id="same",
                task_queue="q",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            assert existing.run_id == first.run_id
            await first.cancel()
            with pytest.raises(WorkflowFailureError):
                await first.result()
            with pytest.raises(WorkflowAlreadyStartedError):
                await env.client.start_workflow(
                    Checkout.run,
                    Order("o", 1),
                    id="same",
                    task_queue="q",
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )


async def test_what_needs_a_server_is_refused_by_name() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:
        with pytest.raises(UnsupportedTemporalFeatureError, match="interceptors"):
            Worker(env.client, task_queue="q", interceptors=[object()])
        with pytest.raises(UnsupportedTemporalFeatureError, match="schedules"):
            await env.client.start_workflow("W", id="w", task_queue="q", cron_schedule="* * * * *")
        with pytest.raises(UnsupportedTemporalFeatureError, match=r"Client\.create_schedule"):
            await env.client.create_schedule("s", None)
        async with Worker(env.client, task_queue="q", workflows=[Checkout], activities=[charge]):
            handle = await env.client.start_workflow(
                Checkout.run, Order("o", 1), id="w", task_queue="q"
            )
            with pytest.raises(WorkflowUpdateFailedError, match="update failed"):
                await handle.execute_update("anything")  # Checkout has no such update


async def test_terminate_describe_pending_activities_and_eager_start() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(
            env.client,
            task_queue="q",
            workflows=[CancelsSyncActivity, Sleeper, TerminatesChild],
            activities=[heartbeats_until_cancelled, double],
        ):
            handle = await env.client.start_workflow(
                CancelsSyncActivity.run, id="sync", task_queue="q", request_eager_start=True
            )
            assert getattr(handle, "__temporal_eagerly_started") is True
            pending = (await handle.describe()).raw_description.pending_activities
            assert [p.activity_type.name for p in pending] == ["heartbeats_until_cancelled"]
            await handle.cancel()
            with pytest.raises(WorkflowFailureError) as caught:
                await handle.result()
            assert isinstance(caught.value.cause, CancelledError)
            assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

            sleeper = await env.client.start_workflow(Sleeper.run, id="s", task_queue="q")
            await sleeper.terminate("ops", reason="stuck")
            with pytest.raises(WorkflowFailureError) as caught:
                await sleeper.result()
            assert isinstance(caught.value.cause, TerminatedError)
            assert caught.value.cause.message == "stuck"
            assert (await sleeper.describe()).status == WorkflowExecutionStatus.TERMINATED

            again = await env.client.start_workflow(
                Sleeper.run,
                id="s",
                task_queue="q",
                id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            )
            replaced = await env.client.start_workflow(
                Sleeper.run,
                id="s",
                task_queue="q",
                id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            )
            assert replaced.run_id != again.run_id

            parent = await env.client.start_workflow(TerminatesChild.run, id="p", task_queue="q")
            await env.client.get_workflow_handle("sleepy-child").terminate()
            assert await parent.result() == "TerminatedError"
