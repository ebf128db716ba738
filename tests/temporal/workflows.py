"""Temporal SDK workflows and activities the front-end tests run, written as Temporal users do."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

SHORT = timedelta(seconds=5)


@dataclass
class Order:
    order_id: str
    amount: int


@activity.defn
async def charge(order: Order) -> str:
    info = activity.info()
    if order.amount < 0:
        raise ApplicationError(
            "negative amount", order.amount, type="BadAmount", non_retryable=True
        )
    if info.attempt < 3:
        raise RuntimeError(f"gateway down (attempt {info.attempt})")
    return f"tx-{order.order_id}-{info.attempt}"


@activity.defn
def double(x: int) -> int:
    activity.heartbeat(x)
    return x * 2


@activity.defn
async def resumable(total: int) -> list[int]:
    """Heartbeats its progress; a retry resumes from the last heartbeat's details."""
    info = activity.info()
    start = info.heartbeat_details[0] if info.heartbeat_details else 0
    for i in range(start, total):
        activity.heartbeat(i + 1)
        if info.attempt == 1 and i == 2:
            raise RuntimeError("crashed mid-way")
    return [info.attempt, start]


@activity.defn(name="slow")
async def slow_activity() -> str:
    await asyncio.sleep(3600)
    return "never"


@activity.defn
async def waits_for_cancel() -> str:
    while not activity.is_cancelled():
        activity.heartbeat()
        await asyncio.sleep(1)
    return "noticed"


@workflow.defn
class Checkout:
    def __init__(self) -> None:
        self.status = "new"
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, order: Order) -> str:
        self.status = "charging"
        tx = await workflow.execute_activity(charge, order, start_to_close_timeout=SHORT)
        self.status = "awaiting approval"
        await workflow.wait_condition(lambda: self.approved_by is not None)
        await workflow.sleep(timedelta(days=1))
        doubled = await workflow.execute_activity(
            double, order.amount, start_to_close_timeout=SHORT
        )
        self.status = "done"
        when = workflow.now().isoformat(timespec="seconds")
        return f"{tx} approved by {self.approved_by} at {when} ({doubled})"

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query
    def current_status(self) -> str:
        return self.status


@workflow.defn
class ChargeOnce:
    @workflow.run
    async def run(self, order: Order) -> str:
        return await workflow.execute_activity(
            charge,
            order,
            start_to_close_timeout=SHORT,
            retry_policy=RetryPolicy(maximum_attempts=2),
        )


@workflow.defn
class TimesOut:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            "slow",
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
        )


@workflow.defn
class Resumes:
    @workflow.run
    async def run(self, total: int) -> list[int]:
        return await workflow.execute_activity(
            resumable, total, start_to_close_timeout=SHORT, heartbeat_timeout=SHORT
        )


@workflow.defn
class CancelsActivity:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            waits_for_cancel, start_to_close_timeout=timedelta(hours=1), heartbeat_timeout=SHORT
        )
        await workflow.sleep(10)
        handle.cancel()
        try:
            return await handle
        except Exception as err:
            return f"{type(err).__name__}<-{type(err.__cause__).__name__}"


@workflow.defn
class Child:
    @workflow.run
    async def run(self, n: int) -> int:
        if n < 0:
            raise ApplicationError("child refuses negatives", type="Negative")
        await workflow.sleep(timedelta(minutes=n))
        return n * 10


@workflow.defn
class Parent:
    @workflow.run
    async def run(self, values: list[int]) -> list[int]:
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_child_workflow(Child.run, v, id=f"child-{i}")
                    for i, v in enumerate(values)
                )
            )
        )


@workflow.defn
class Counter:
    @workflow.run
    async def run(self, count: int, limit: int) -> int:
        await workflow.sleep(60)
        if count + 1 < limit:
            workflow.continue_as_new(args=[count + 1, limit])
        return count + 1


@workflow.defn
class Patched:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched("v2"):
            return "v2"
        return "v1"


@workflow.defn
class Deterministic:
    @workflow.run
    async def run(self) -> list[str]:
        workflow.upsert_memo({"note": "kept"})
        first = [str(workflow.uuid4()), str(workflow.random().random())]
        await workflow.sleep(1)
        return [*first, workflow.info().workflow_id, str(workflow.info().attempt)]


@workflow.defn
class Waits:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: False, timeout=timedelta(hours=2))
        except TimeoutError:
            return f"gave up at {workflow.now().isoformat()}"
        return "unreachable"


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(days=30))
        except asyncio.CancelledError:
            await workflow.execute_activity(double, 1, start_to_close_timeout=SHORT)
            raise
        return "woke"


@workflow.defn
class Buggy:
    @workflow.run
    async def run(self) -> None:
        raise ValueError("a bug, not a declared failure")


@workflow.defn
class LocalCall:
    @workflow.run
    async def run(self, x: int) -> int:
        return await workflow.execute_local_activity(double, x, start_to_close_timeout=SHORT)


@workflow.defn
class SignalsElsewhere:
    @workflow.run
    async def run(self) -> None:
        handle = workflow.get_external_workflow_handle("someone-else")
        await handle.signal("hello")


@workflow.defn
class CleansUp:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(3600)
        finally:
            await workflow.execute_activity(double, 1, start_to_close_timeout=SHORT)
        return "done"


@workflow.defn
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        import datetime as real_datetime

        return real_datetime.datetime.now().isoformat()


@workflow.defn(dynamic=True)
class AnyName:
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> str:
        return workflow.info().workflow_type


@activity.defn(dynamic=True)
async def any_activity(args: Sequence[RawValue]) -> str:
    return activity.info().activity_type


@workflow.defn(name="Patched")
class PatchedRemoved:
    """Patched, after the patch was removed too early: a breaking change for old histories."""

    @workflow.run
    async def run(self) -> str:
        return "v1"


@workflow.defn(name="Checkout")
class CheckoutReordered:
    """Checkout with its first activity replaced by a timer: a breaking change."""

    @workflow.run
    async def run(self, order: Order) -> str:
        await workflow.sleep(5)
        return "changed"


@activity.defn
def heartbeats_until_cancelled() -> str:
    import time

    while True:
        activity.heartbeat()
        time.sleep(0.01)


@workflow.defn
class CancelsSyncActivity:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                heartbeats_until_cancelled,
                start_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=timedelta(seconds=30),
            )
        finally:
            await workflow.execute_activity(double, 3, start_to_close_timeout=SHORT)
        return "unreachable"


@workflow.defn
class TerminatesChild:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_child_workflow(Sleeper.run, id="sleepy-child")
        except ChildWorkflowError as err:
            return f"{type(err.cause).__name__}"
        return "unreachable"


@workflow.defn
class Deprecated:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("old-fix")
        workflow.upsert_search_attributes(
            [SearchAttributeKey.for_keyword("CustomerId").value_set("c-1")]
        )
        return "done"


@workflow.defn
class CancelsChild:
    @workflow.run
    async def run(self) -> str:
        child = await workflow.start_child_workflow(Sleeper.run, id="to-cancel")
        await workflow.sleep(5)
        child.cancel()
        try:
            await child
        except ChildWorkflowError as err:
            return type(err.cause).__name__
        return "unreachable"


@workflow.defn
class FailingQuery:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def broken(self) -> str:
        raise ValueError("no answer")


# --- local activities ----------------------------------------------------------------------


@activity.defn
async def flaky_local(fail_until: int) -> str:
    info = activity.info()
    if info.attempt < fail_until:
        raise RuntimeError(f"not yet (attempt {info.attempt})")
    return f"ok at {info.attempt} local={info.is_local}"


@workflow.defn
class LocalRetries:
    """Retries within the task (1 s backoffs), then past the threshold on a workflow timer."""

    @workflow.run
    async def run(self, fail_until: int, threshold_s: float) -> list[str]:
        result = await workflow.execute_local_activity(
            flaky_local,
            fail_until,
            start_to_close_timeout=SHORT,
            local_retry_threshold=timedelta(seconds=threshold_s),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5),
        )
        return [result, workflow.now().isoformat()]


@workflow.defn
class LocalFails:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_local_activity(
                flaky_local,
                99,
                start_to_close_timeout=SHORT,
                retry_policy=RetryPolicy(maximum_attempts=2),
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return f"{err.retry_state.name if err.retry_state else None}: {err.cause.message}"
        return "unreachable"


@activity.defn
async def slow_local() -> str:
    await asyncio.sleep(60)
    return "slow"


@workflow.defn
class LocalTimesOut:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_local_activity(
                slow_local,
                schedule_to_close_timeout=timedelta(seconds=10),
                start_to_close_timeout=timedelta(seconds=3),
            )
        except ActivityError as err:
            return f"{type(err.cause).__name__}"
        return "unreachable"


@workflow.defn
class LocalCancelled:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_local_activity(
            slow_local, start_to_close_timeout=timedelta(minutes=5)
        )
        # The slow one runs meanwhile; once the quick one resolves, cancel the slow one.
        await workflow.execute_local_activity(flaky_local, 1, start_to_close_timeout=SHORT)
        handle.cancel()
        try:
            await handle
        except ActivityError as err:
            return f"{type(err.cause).__name__}"
        return "unreachable"


@workflow.defn
class UpsertsAndCancelsChild:
    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes(
            [SearchAttributeKey.for_keyword("CustomerId").value_set("c-9")]
        )
        workflow.upsert_memo({"stage": "started"})
        child = await workflow.start_child_workflow(Sleeper.run, id="upserts-child")
        await workflow.sleep(5)
        child.cancel()
        try:
            await child
        except ChildWorkflowError as err:
            workflow.upsert_memo({"stage": type(err.cause).__name__})
        return "done"


# --- activities completed from outside -------------------------------------------------------

#: Task tokens of the activities that asked to be completed from outside, in order.
ASYNC_TOKENS: list[bytes] = []
#: The heartbeat details each of those attempts started with.
ASYNC_DETAILS: list[list[object]] = []


@activity.defn
async def completes_later(order_id: str) -> str:
    ASYNC_TOKENS.append(activity.info().task_token)
    ASYNC_DETAILS.append(list(activity.info().heartbeat_details))
    activity.raise_complete_async()


@activity.defn
def completes_later_sync(order_id: str) -> str:
    ASYNC_TOKENS.append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class AwaitsApproval:
    """An activity another system completes (an approval desk), with a 1 h start-to-close."""

    @workflow.run
    async def run(self, order_id: str, sync: bool = False) -> str:
        try:
            return await workflow.execute_activity(
                completes_later_sync if sync else completes_later,
                order_id,
                activity_id=f"approve-{order_id}",
                start_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_attempts=2),
            )
        except ActivityError as err:
            return f"{type(err.cause).__name__}: {err.cause}"


@workflow.defn
class LocalCompletesLater:
    @workflow.run
    async def run(self) -> str:
        try:
            return await workflow.execute_local_activity(
                completes_later, "x", start_to_close_timeout=SHORT
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return f"{err.cause.type}"


@workflow.defn
class LocalThenBug:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_local_activity(flaky_local, 1, start_to_close_timeout=SHORT)
        raise ValueError("a bug after the local activity")
