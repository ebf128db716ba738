"""Workflows whose recorded histories make the replay corpus (``corpus/*.json``).

Between them they produce every kind of history event. ``record_corpus.py`` runs them (with mock
activities, on a fixed clock and seed) and writes the corpus; pytest collects every file of the
corpus as a test that replays it against this code (``durable_history_paths`` in pyproject.toml),
so a change here that breaks a recorded history fails the suite.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pytest_durable import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    RetryPolicy,
    WorkflowAlreadyStartedError,
    activity,
    workflow,
)

STEP = timedelta(seconds=30)
ONCE = RetryPolicy(maximum_attempts=1)


@activity.defn
async def reserve(item: str) -> str:
    """Reserve stock; returns a reservation id."""
    return f"res-{item}"


@activity.defn
async def charge(order_id: str, amount: int) -> str:
    """Charge the customer; returns a charge id."""
    return f"ch-{order_id}"


@activity.defn
async def notify(message: str) -> None:
    """Send a message."""


@workflow.defn
class Shipment:
    """A child: ships after a delay, or fails when told to."""

    @workflow.run
    async def run(self, item: str, days: int) -> str:
        await workflow.sleep(timedelta(days=days))
        if item == "broken":
            raise ApplicationError("cannot ship a broken item", type="Unshippable")
        return f"shipped {item}"


@workflow.defn
class Purchase:
    """Activities (completed, retried, failed, timed out, cancelled), timers, signals, a patch."""

    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.run
    async def run(self, order_id: str, amount: int) -> str:
        notes = []
        if workflow.patched("reserve-first"):
            notes.append(
                await workflow.execute_activity(reserve, order_id, start_to_close_timeout=STEP)
            )
        notes.append(
            await workflow.execute_activity(
                charge,
                order_id,
                amount,
                start_to_close_timeout=STEP,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        )
        try:
            await workflow.execute_activity(
                notify, "declined?", start_to_close_timeout=STEP, retry_policy=ONCE
            )
        except ActivityError as err:
            notes.append(f"notify failed: {type(err.cause).__name__}")
        try:
            await workflow.execute_activity(
                notify, "slow", start_to_close_timeout=timedelta(seconds=5), retry_policy=ONCE
            )
        except ActivityError as err:
            notes.append(f"notify timed out: {type(err.cause).__name__}")
        pending = workflow.start_activity(
            notify, "never", start_to_close_timeout=timedelta(minutes=5)
        )
        await workflow.sleep(timedelta(minutes=1))
        pending.cancel()
        try:
            await pending
        except ActivityError:
            notes.append("notify cancelled")
        # Wait for approval, but at most a day: the signal comes first, the timer is cancelled.
        await workflow.wait_condition(
            lambda: self.approved_by is not None, timeout=timedelta(days=1)
        )
        notes.append(f"approved by {self.approved_by}")
        await workflow.sleep(timedelta(hours=2))
        return "; ".join(notes)


@workflow.defn
class Fulfilment:
    """Children: completed, failed, cancelled, refused (id already running)."""

    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        outcomes = [await workflow.execute_child_workflow(Shipment.run, "book", 1, id="ship-1")]
        try:
            await workflow.execute_child_workflow(Shipment.run, "broken", 1, id="ship-2")
        except ChildWorkflowError as err:
            outcomes.append(f"failed: {err.cause}")
        slow = await workflow.start_child_workflow(Shipment.run, "piano", 30, id="ship-3")
        try:
            await workflow.start_child_workflow(Shipment.run, "again", 1, id="ship-3")
        except WorkflowAlreadyStartedError:
            outcomes.append("refused: ship-3 is running")
        await workflow.sleep(timedelta(days=2))
        slow.cancel()
        try:
            await slow
        except ChildWorkflowError:
            outcomes.append("cancelled ship-3")
        return outcomes


@workflow.defn
class Subscription:
    """Continue-as-new every period; the last period fails the run."""

    @workflow.run
    async def run(self, period: int, periods: int) -> str:
        await workflow.sleep(timedelta(days=30))
        await workflow.execute_activity(
            charge, f"sub-{period}", 999, start_to_close_timeout=STEP
        )
        if period == periods:
            raise ApplicationError("card expired", type="CardExpired", non_retryable=True)
        workflow.continue_as_new(period + 1, periods)


@workflow.defn
class Hold:
    """Waits until cancelled, then cleans up; an update extends the hold."""

    def __init__(self) -> None:
        self.days = 365

    @workflow.update
    def extend(self, days: int) -> int:
        self.days += days
        return self.days

    @workflow.run
    async def run(self, what: str) -> str:
        try:
            await workflow.sleep(timedelta(days=self.days))
        except asyncio.CancelledError:
            await workflow.execute_activity(notify, f"released {what}", start_to_close_timeout=STEP)
            raise
        return "expired"


@workflow.defn
class Dispatch:
    """Waits on a child that gets terminated, then waits until terminated itself."""

    @workflow.run
    async def run(self, item: str) -> str:
        try:
            await workflow.execute_child_workflow(Shipment.run, item, 30, id="dispatch-child")
        except ChildWorkflowError as err:
            workflow.logger.info("the child ended: %s", err)
        await workflow.sleep(timedelta(days=365))
        return "done"


@workflow.defn
class Triage:
    """Started with a memo and search attributes; upserts both as the ticket moves on."""

    @workflow.run
    async def run(self, title: str) -> str:
        workflow.upsert_memo({"state": "triaged", "source": None})
        workflow.upsert_search_attributes({"Priority": 1})
        await workflow.sleep(timedelta(hours=4))
        workflow.upsert_memo({"state": "closed"})
        return f"{title}: {workflow.memo()['state']}"
