"""Payments: charge a card through a provider, then email a receipt.

The provider is a fake kept in Redis (an effect ledger): each charge it accepts is a side
effect that must happen once per order. ``charge_card`` calls it WITHOUT an idempotency key, so
a retry after a lost completion or a worker crash charges the card again;
``charge_card_idempotent`` passes the order's key, which the provider honours. Retries make
every activity at-least-once: the key is what makes the charge exactly-once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pytest_durable import RetryPolicy, activity, workflow
from pytest_durable.testing import EffectLedger


@dataclass(frozen=True)
class Payment:
    """What to charge, for which order."""

    order_id: str
    amount_cents: int


class FakeProvider:
    """A payment provider that records every accepted charge in an effect ledger."""

    def __init__(self) -> None:
        self.ledger: EffectLedger | None = None

    def charge(self, order_id: str, amount_cents: int, idempotency_key: str | None = None) -> str:
        """Charge the card; with an idempotency key, a repeated request charges nothing."""
        assert self.ledger is not None, "connect the provider to a ledger first"
        if idempotency_key is None:
            self.ledger.record("charge", order_id, amount_cents=amount_cents)
        else:
            self.ledger.apply_once("charge", order_id, amount_cents=amount_cents)
        return f"ch_{order_id}"


PROVIDER = FakeProvider()
"""The activities' provider; tests connect it to a ledger (``PROVIDER.ledger = ...``)."""


@activity.defn(name="charge_card")
async def charge_card(payment: Payment) -> str:
    """Charge the payment, with no idempotency key: a retry charges again (the bug)."""
    return PROVIDER.charge(payment.order_id, payment.amount_cents)


@activity.defn(name="charge_card")
async def charge_card_idempotent(payment: Payment) -> str:
    """Charge the payment under the order's idempotency key (the fix)."""
    return PROVIDER.charge(
        payment.order_id, payment.amount_cents, idempotency_key=f"charge-{payment.order_id}"
    )


@activity.defn
async def email_receipt(order_id: str, charge_id: str) -> None:
    """Send the receipt (a stand-in)."""


@workflow.defn
class Checkout:
    """Charge the card, wait out the dispute window's first hour, email the receipt."""

    @workflow.run
    async def run(self, payment: Payment) -> str:
        charge_id: str = await workflow.execute_activity(
            "charge_card",
            payment,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5),
        )
        await workflow.sleep(timedelta(hours=1))
        await workflow.execute_activity(
            email_receipt, payment.order_id, charge_id, start_to_close_timeout=timedelta(seconds=30)
        )
        return charge_id
