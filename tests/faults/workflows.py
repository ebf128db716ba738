"""Small workflows and activities the fault tests aim at."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pytest_durable import ActivityError, RetryPolicy, activity, workflow

QUICK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@activity.defn
async def charge(order_id: str) -> str:
    """Take payment."""
    return f"ch-{order_id}"


@activity.defn
async def refund(charge_id: str) -> None:
    """Give the payment back."""


@activity.defn
async def ship(order_id: str) -> str:
    """Send the goods."""
    return f"trk-{order_id}"


@workflow.defn
class Checkout:
    """Charge, then ship; refund the charge when shipping fails."""

    def __init__(self) -> None:
        self.approved_by: str | None = None
        self.stage = "new"

    @workflow.run
    async def run(self, order_id: str) -> str:
        self.stage = "charging"
        charge_id = await workflow.execute_activity(
            charge,
            order_id,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=QUICK_RETRY,
        )
        try:
            self.stage = "shipping"
            tracking = await workflow.execute_activity(
                ship,
                order_id,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=QUICK_RETRY,
            )
        except (ActivityError, asyncio.CancelledError):
            self.stage = "refunding"
            await workflow.execute_activity(
                refund, charge_id, start_to_close_timeout=timedelta(seconds=10)
            )
            raise
        self.stage = "done"
        return f"{charge_id}/{tracking}"

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query
    def status(self) -> str:
        return self.stage


@workflow.defn
class Approval:
    """Wait up to a day for an approval signal."""

    def __init__(self) -> None:
        self.by: str | None = None

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.by is not None, timeout=timedelta(days=1))
        except TimeoutError:
            return "expired"
        return f"approved by {self.by}"

    @workflow.signal
    def approve(self, by: str) -> None:
        self.by = by

    @workflow.query
    def waiting(self) -> bool:
        return self.by is None


@activity.defn
async def reserve(order_id: str) -> str:
    """Hold stock."""
    return f"res-{order_id}"


@activity.defn
async def release(reservation_id: str) -> None:
    """Give the stock back."""


@workflow.defn
class Saga:
    """Charge, reserve, ship; on failure compensate as ``mode`` says (``right`` or a bug)."""

    @workflow.run
    async def run(self, order_id: str, mode: str) -> str:
        timeout = timedelta(seconds=10)
        once = RetryPolicy(maximum_attempts=1)
        done: list[tuple[object, str]] = []
        try:
            charge_id = await workflow.execute_activity(
                charge, order_id, start_to_close_timeout=timeout, retry_policy=once
            )
            done.append((refund, charge_id))
            if mode == "undo-unfinished":
                done.append((release, "res-never"))
            reservation = await workflow.execute_activity(
                reserve, order_id, start_to_close_timeout=timeout, retry_policy=once
            )
            done.append((release, reservation))
            return await workflow.execute_activity(
                ship, order_id, start_to_close_timeout=timeout, retry_policy=once
            )
        except ActivityError:
            order = done if mode == "forward-order" else list(reversed(done))
            if mode == "refund-twice":
                order.append(order[-1])
            if mode == "forget-release":
                order = [step for step in order if step[0] is not release]
            for undo, arg in order:
                await workflow.execute_activity(undo, arg, start_to_close_timeout=timeout)
            raise
