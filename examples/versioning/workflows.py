"""Versioning: add a fraud check to a live workflow without breaking runs already in flight.

``Order`` v1 charges the customer, then ships. v2 adds a fraud check before the charge. Runs
started under v1 may still be open when v2 is deployed; the worker then rebuilds them by
replaying their history through v2 code, and that history has no fraud check in it. So v2 wraps
the new step in ``if workflow.patched("fraud-check"):``: a new run takes the new branch and
records a ``patch`` marker; a replayed v1 history has no marker and takes the old branch.

Both versions are registered under the same workflow type name, ``"Order"``, as the one class
would be across two deployments. The tests record their histories as golden files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pytest_durable import activity, workflow


@dataclass(frozen=True)
class OrderRequest:
    """What to charge and where to ship."""

    order_id: str
    customer_id: str
    amount_cents: int


@dataclass(frozen=True)
class OrderOutcome:
    """``shipped`` with the ids of the charge and the parcel, or ``rejected`` by the check."""

    order_id: str
    status: str
    charge_id: str | None = None
    tracking_number: str | None = None


@activity.defn
async def charge(order_id: str, customer_id: str, amount_cents: int) -> str:
    """Charge the customer; returns the charge id."""
    return f"ch_{order_id}"


@activity.defn
async def ship(order_id: str) -> str:
    """Hand the order to the carrier; returns the tracking number."""
    return f"TRK-{order_id}"


@activity.defn
async def check_fraud(order_id: str, customer_id: str, amount_cents: int) -> bool:
    """Ask the risk service; True means the order looks fraudulent."""
    return False


STEP_TIMEOUT = timedelta(seconds=30)
FRAUD_CHECK = "fraud-check"
"""The patch id. Keep it until no history recorded without it can still be replayed."""


@workflow.defn(name="Order")
class OrderV1:
    """v1: charge, then ship."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderOutcome:
        charge_id = await workflow.execute_activity(
            charge,
            request.order_id,
            request.customer_id,
            request.amount_cents,
            start_to_close_timeout=STEP_TIMEOUT,
        )
        tracking = await workflow.execute_activity(
            ship, request.order_id, start_to_close_timeout=STEP_TIMEOUT
        )
        return OrderOutcome(request.order_id, "shipped", charge_id, tracking)


@workflow.defn(name="Order")
class OrderV2:
    """v2: check for fraud first (new runs only), then charge and ship."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderOutcome:
        if workflow.patched(FRAUD_CHECK):
            suspicious = await workflow.execute_activity(
                check_fraud,
                request.order_id,
                request.customer_id,
                request.amount_cents,
                start_to_close_timeout=STEP_TIMEOUT,
            )
            if suspicious:
                return OrderOutcome(request.order_id, "rejected")
        charge_id = await workflow.execute_activity(
            charge,
            request.order_id,
            request.customer_id,
            request.amount_cents,
            start_to_close_timeout=STEP_TIMEOUT,
        )
        tracking = await workflow.execute_activity(
            ship, request.order_id, start_to_close_timeout=STEP_TIMEOUT
        )
        return OrderOutcome(request.order_id, "shipped", charge_id, tracking)
