"""raise_complete_async(): the attempt stays open until the client's async handle ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import AsyncActivityCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from pytest_durable.temporal import Worker, WorkflowEnvironment

from .workflows import (
    ASYNC_DETAILS,
    ASYNC_TOKENS,
    AwaitsApproval,
    LocalCompletesLater,
    completes_later,
    completes_later_sync,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    ASYNC_TOKENS.clear()
    ASYNC_DETAILS.clear()
    async with (
        await WorkflowEnvironment.start_time_skipping() as environment,
        Worker(
            environment.client,
            task_queue="tq",
            workflows=[AwaitsApproval, LocalCompletesLater],
            activities=[completes_later, completes_later_sync],
        ),
    ):
        yield environment


async def _start(env: WorkflowEnvironment, order_id: str, sync: bool = False) -> Any:
    handle = await env.client.start_workflow(
        AwaitsApproval.run, args=[order_id, sync], id=f"wf-{order_id}", task_queue="tq"
    )
    await env.sleep(timedelta(seconds=1))  # the activity runs and asks to be completed later
    return handle


async def test_completed_by_task_token(env: WorkflowEnvironment) -> None:
    handle = await _start(env, "o-1")
    [token] = ASYNC_TOKENS
    await env.sleep(timedelta(minutes=5))  # still open: nobody completed it
    await env.client.get_async_activity_handle(task_token=token).complete("approved")
    assert await handle.result() == "approved"


async def test_a_sync_activity_completed_by_workflow_and_activity_id(
    env: WorkflowEnvironment,
) -> None:
    handle = await _start(env, "o-2", sync=True)
    outside = env.client.get_async_activity_handle(workflow_id="wf-o-2", activity_id="approve-o-2")
    await outside.complete("approved by id")
    assert await handle.result() == "approved by id"
    with pytest.raises(RPCError) as caught:  # it is over: a second completion is refused
        await outside.complete("again")
    assert caught.value.status == RPCStatusCode.NOT_FOUND


async def test_failed_from_outside_it_retries_then_fails(env: WorkflowEnvironment) -> None:
    handle = await _start(env, "o-3")
    await env.client.get_async_activity_handle(task_token=ASYNC_TOKENS[0]).fail(
        ApplicationError("desk closed", type="Closed"), last_heartbeat_details=["page 3"]
    )
    await env.sleep(timedelta(seconds=5))  # the retry's backoff; attempt 2 asks again
    assert len(ASYNC_TOKENS) == 2 and ASYNC_TOKENS[0] != ASYNC_TOKENS[1]
    assert ASYNC_DETAILS == [[], ["page 3"]]  # the details reach the next attempt
    await env.client.get_async_activity_handle(task_token=ASYNC_TOKENS[1]).fail(
        ApplicationError("still closed", type="Closed")
    )
    assert await handle.result() == "ApplicationError: Closed: still closed"


async def test_heartbeats_keep_it_alive_and_its_timeouts_fire_in_virtual_time(
    env: WorkflowEnvironment,
) -> None:
    began = await env.get_current_time()
    handle = await _start(env, "o-4")
    outside = env.client.get_async_activity_handle(task_token=ASYNC_TOKENS[0])
    for _ in range(3):
        await env.sleep(timedelta(minutes=9))
        await outside.heartbeat("still reviewing")  # within the 10-minute heartbeat timeout
    assert len(ASYNC_TOKENS) == 1
    await env.sleep(timedelta(minutes=11))  # no heartbeat: attempt 1 times out, 2 starts
    assert len(ASYNC_TOKENS) == 2
    with pytest.raises(RPCError):
        await outside.complete("too late")
    result = await handle.result()  # nobody completes attempt 2: its heartbeat timeout fires
    assert result == "TimeoutError: activity heartbeat timeout"
    # Attempt 1 timed out 10 min after its last heartbeat (27 min 1 s in), attempt 2 started after
    # the 1 s backoff and timed out 10 min later: all in virtual time.
    assert await env.get_current_time() - began == timedelta(minutes=47, seconds=2)


async def test_cancellation_reaches_the_outside_heartbeat(env: WorkflowEnvironment) -> None:
    handle = await _start(env, "o-5")
    outside = env.client.get_async_activity_handle(task_token=ASYNC_TOKENS[0])
    await handle.cancel()
    await env.sleep(timedelta(seconds=1))
    with pytest.raises(AsyncActivityCancelledError):
        await outside.heartbeat()


async def test_report_cancellation_only_after_a_cancel_request(env: WorkflowEnvironment) -> None:
    handle = await _start(env, "o-6")
    outside = env.client.get_async_activity_handle(task_token=ASYNC_TOKENS[0])
    with pytest.raises(RPCError) as caught:
        await outside.report_cancellation()
    assert caught.value.status == RPCStatusCode.FAILED_PRECONDITION
    await handle.cancel()
    await env.sleep(timedelta(seconds=1))
    await outside.report_cancellation("stopped")  # accepted: the cancellation is recorded
    kinds = [e.kind for e in env.env.get_handle("wf-o-6").history.events]
    assert kinds.count("ActivityTaskCanceled") == 1


async def test_unknown_activities_and_missing_names_are_refused(env: WorkflowEnvironment) -> None:
    with pytest.raises(RPCError) as caught:
        await env.client.get_async_activity_handle(task_token=b"nope").complete(1)
    assert "no activity is waiting" in caught.value.message
    with pytest.raises(ValueError, match=r"task_token=\.\.\. or both workflow_id"):
        env.client.get_async_activity_handle(workflow_id="wf")


async def test_a_local_activity_cannot_complete_later(env: WorkflowEnvironment) -> None:
    result = await env.client.execute_workflow(LocalCompletesLater.run, id="l", task_queue="tq")
    assert result == "UnsupportedAsyncCompletion"
