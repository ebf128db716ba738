"""A checkout that charges, then ships, and refunds the charge when shipping fails for good.

``FlawedCheckout`` refunds only when shipping *failed* (an application error): a shipment that
timed out on every attempt leaves the customer charged for nothing. ``Checkout`` refunds
whatever ended the shipping. The property test finds the flaw and shrinks it to the smallest
plan; the activities record their effects in :data:`LEDGER` so the invariant can read them.
"""

from __future__ import annotations

from datetime import timedelta

from pytest_durable import ActivityError, ApplicationError, RetryPolicy, activity, workflow

LEDGER: list[tuple[str, str]] = []
"""The payment provider's and the carrier's records: (effect, order id)."""

POLICY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=2)


@activity.defn
async def charge(order_id: str) -> str:
    LEDGER.append(("charged", order_id))
    return f"ch-{order_id}"


@activity.defn
async def ship(order_id: str) -> str:
    LEDGER.append(("shipped", order_id))
    return f"sh-{order_id}"


@activity.defn
async def refund(charge_id: str) -> None:
    LEDGER.append(("refunded", charge_id.removeprefix("ch-")))


async def _step(fn: object, arg: str) -> str:
    result: str = await workflow.execute_activity(
        fn, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=POLICY
    )
    return result


@workflow.defn
class FlawedCheckout:
    @workflow.run
    async def run(self, order_id: str) -> str:
        charge_id = await _step(charge, order_id)
        try:
            return await _step(ship, order_id)
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError):  # the flaw: a timeout is not refunded
                await workflow.execute_activity(
                    refund, charge_id, start_to_close_timeout=timedelta(seconds=30)
                )
            raise


@workflow.defn
class Checkout:
    @workflow.run
    async def run(self, order_id: str) -> str:
        charge_id = await _step(charge, order_id)
        try:
            return await _step(ship, order_id)
        except ActivityError:
            await workflow.execute_activity(
                refund, charge_id, start_to_close_timeout=timedelta(seconds=30)
            )
            raise
