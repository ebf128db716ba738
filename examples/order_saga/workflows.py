"""Saga: charge, reserve inventory, ship; when a step fails, compensate in reverse order.

Each forward step that succeeds registers its compensation (refund a charge, release a
reservation). When a later step fails, the workflow runs the registered compensations newest
first and then fails with the original error, so the caller sees why the order failed. A
customer cancelling the order mid-way is handled the same way.

Compensations retry without limit: an undo that gives up leaves money taken for goods never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pytest_durable import ActivityError, RetryPolicy, activity, workflow


@dataclass(frozen=True)
class Order:
    """What the customer bought and where it goes."""

    order_id: str
    customer_id: str
    sku: str
    quantity: int
    amount_cents: int
    shipping_address: str


@dataclass(frozen=True)
class OrderConfirmation:
    """What a successful order produced, one id per external system."""

    order_id: str
    charge_id: str
    reservation_id: str
    tracking_number: str


@dataclass(frozen=True)
class SagaProgress:
    """What the ``progress`` query reports: the current stage and the steps undone so far."""

    stage: str
    compensated: list[str]


# --- activities: stand-ins for the payment, inventory and shipping services ----------------------


@activity.defn
async def charge_payment(order_id: str, customer_id: str, amount_cents: int) -> str:
    """Charge the customer; returns the payment provider's charge id."""
    return f"ch_{order_id}"


@activity.defn
async def refund_payment(charge_id: str, amount_cents: int) -> None:
    """Refund a charge in full (compensates ``charge_payment``)."""


@activity.defn
def reserve_inventory(order_id: str, sku: str, quantity: int) -> str:
    """Hold stock for the order; returns the reservation id (a sync activity, run in a thread)."""
    return f"res_{order_id}_{sku}"


@activity.defn
def release_inventory(reservation_id: str) -> None:
    """Return reserved stock to the shelf (compensates ``reserve_inventory``)."""


@activity.defn
async def ship_order(order_id: str, reservation_id: str, address: str) -> str:
    """Hand the reserved goods to the carrier; returns the tracking number."""
    return f"TRK-{order_id}"


# --- the workflow ---------------------------------------------------------------------------------

STEP_TIMEOUT = timedelta(seconds=30)

FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_attempts=3,
    non_retryable_error_types=("CardDeclined", "OutOfStock", "AddressUndeliverable"),
)
"""Forward steps: a few quick retries for blips; business refusals are final at once."""

COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10)
)
"""Compensations: retry forever (maximum_attempts=0), backing off to every ten minutes."""

Compensation = tuple[Callable[..., Any], tuple[Any, ...]]


@workflow.defn
class OrderSaga:
    """Take payment, reserve stock and ship an order, undoing completed steps on failure."""

    def __init__(self) -> None:
        self.stage = "received"
        self.compensated: list[str] = []

    @workflow.run
    async def run(self, order: Order) -> OrderConfirmation:
        compensations: list[Compensation] = []
        try:
            self.stage = "charging"
            charge_id = await self._step(
                charge_payment, order.order_id, order.customer_id, order.amount_cents
            )
            compensations.append((refund_payment, (charge_id, order.amount_cents)))

            self.stage = "reserving"
            reservation_id = await self._step(
                reserve_inventory, order.order_id, order.sku, order.quantity
            )
            compensations.append((release_inventory, (reservation_id,)))

            self.stage = "shipping"
            tracking = await self._step(
                ship_order, order.order_id, reservation_id, order.shipping_address
            )
        except (ActivityError, asyncio.CancelledError):
            await self._compensate(compensations)
            raise
        self.stage = "shipped"
        return OrderConfirmation(order.order_id, charge_id, reservation_id, tracking)

    @staticmethod
    async def _step(fn: Callable[..., Any], *args: Any) -> Any:
        return await workflow.execute_activity(
            fn, *args, start_to_close_timeout=STEP_TIMEOUT, retry_policy=FORWARD_RETRY
        )

    async def _compensate(self, compensations: list[Compensation]) -> None:
        self.stage = "compensating"
        for fn, args in reversed(compensations):
            await workflow.execute_activity(
                fn, *args, start_to_close_timeout=STEP_TIMEOUT, retry_policy=COMPENSATION_RETRY
            )
            self.compensated.append(fn.__name__)
        self.stage = "compensated"

    @workflow.query
    def progress(self) -> SagaProgress:
        """Where the order is, and which steps have been undone so far."""
        return SagaProgress(self.stage, list(self.compensated))
