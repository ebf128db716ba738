"""Subscription billing: twelve monthly cycles, failed-payment retries, grace period, cancel.

One workflow per subscription lives for the whole term. Each cycle it sleeps until the billing
date (the same day of the month as the start, clamped to shorter months), then charges the card.

- A failed charge is retried by the activity's retry policy: 4 attempts, 1 h, 2 h, 4 h apart.
- When those are exhausted (or the card is expired, which no retry fixes), the subscription is
  past due: the customer is told, and gets a 7-day grace period. Updating the payment method
  during the grace period triggers the last attempt at once; otherwise it comes when grace ends.
- If that last attempt fails too, the subscription is cancelled for non-payment.
- A ``cancel`` signal stops billing at any point; the workflow ends there.

The waits are durable timers, so a year-long workflow is tested in milliseconds. Each term is
a loop of twelve cycles; an auto-renewing subscription then continues as new for the next term,
so however old the subscription, one run's history holds one term.
"""

from __future__ import annotations

import calendar
import contextlib
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from pytest_durable import ActivityError, RetryPolicy, activity, workflow


class SubscriptionStatus(enum.Enum):
    """Where a subscription stands."""

    ACTIVE = "active"
    PAST_DUE = "past_due"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    CANCELLED_FOR_NONPAYMENT = "cancelled_for_nonpayment"


@dataclass(frozen=True)
class Subscription:
    """A customer's plan and its price."""

    subscription_id: str
    customer_id: str
    plan: str
    monthly_price_cents: int
    cycles: int = 12
    """Billing cycles per term."""
    auto_renew: bool = False
    """Start a new term when this one ends (until cancelled), instead of completing."""


@dataclass(frozen=True)
class BillingSummary:
    """How the subscription ended."""

    subscription_id: str
    status: SubscriptionStatus
    cycles_paid: int
    """Cycles paid in the last term."""
    ended_at: datetime
    term: int = 1


@dataclass(frozen=True)
class BillingStatus:
    """What the ``billing_status`` query reports."""

    status: SubscriptionStatus
    cycles_paid: int
    next_billing_at: datetime | None
    """The date being billed or waited for; None once no more charges are due."""


@activity.defn
async def charge_subscription(subscription_id: str, cycle: int, amount_cents: int) -> str:
    """Charge one cycle; ``(subscription_id, cycle)`` is the idempotency key. Returns an invoice."""
    return f"inv_{subscription_id}_{cycle}"


@activity.defn
async def send_payment_failed_notice(customer_id: str, cycle: int, grace_ends: datetime) -> None:
    """Email the customer: payment failed, update your card before ``grace_ends``."""


@activity.defn
async def cancel_subscription(subscription_id: str, reason: str) -> None:
    """Turn off the customer's access in the product."""


CHARGE_TIMEOUT = timedelta(seconds=30)
CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(hours=1),
    backoff_coefficient=2.0,
    maximum_attempts=4,
    non_retryable_error_types=("CardExpired",),
)
FINAL_ATTEMPT = RetryPolicy(maximum_attempts=1)
GRACE_PERIOD = timedelta(days=7)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later, clamped to the end of shorter months."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@workflow.defn
class SubscriptionBilling:
    """Bill a subscription monthly for its term, chasing failed payments before giving up."""

    def __init__(self) -> None:
        self.status = SubscriptionStatus.ACTIVE
        self.term = 1
        self.cycles_paid = 0
        self.next_billing_at: datetime | None = None
        self.cancel_reason: str | None = None
        self.payment_method_updated = False

    @workflow.run
    async def run(self, subscription: Subscription, term: int = 1) -> BillingSummary:
        self.term = term
        anchor = workflow.now()
        for index in range(subscription.cycles):
            cycle = (term - 1) * subscription.cycles + index + 1  # numbered across terms
            self.next_billing_at = add_months(anchor, index)
            await self._wait_until(self.next_billing_at)
            if self.cancelled or not await self._collect(subscription, cycle):
                return await self._end(subscription)
            self.cycles_paid += 1
        # The last paid cycle runs to the end of the term.
        self.next_billing_at = None
        await self._wait_until(add_months(anchor, subscription.cycles))
        if self.cancelled:
            return await self._end(subscription)
        if subscription.auto_renew:
            workflow.continue_as_new(subscription, term + 1)
        self.status = SubscriptionStatus.COMPLETED
        return self._summary(subscription)

    @property
    def cancelled(self) -> bool:
        """Whether a ``cancel`` signal has arrived (signal handlers change it at any await)."""
        return self.cancel_reason is not None

    async def _wait_until(self, moment: datetime) -> None:
        """Sleep until ``moment``, waking early if the subscription is cancelled."""
        remaining = moment - workflow.now()
        if remaining <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):  # the usual case: the date arrived
            await workflow.wait_condition(lambda: self.cancelled, timeout=remaining)

    async def _collect(self, subscription: Subscription, cycle: int) -> bool:
        """Charge one cycle: retries, then grace period, then one last attempt."""
        try:
            await self._charge(subscription, cycle, CHARGE_RETRY)
            return True
        except ActivityError:
            pass
        self.status = SubscriptionStatus.PAST_DUE
        self.payment_method_updated = False
        grace_ends = workflow.now() + GRACE_PERIOD
        await workflow.execute_activity(
            send_payment_failed_notice,
            subscription.customer_id,
            cycle,
            grace_ends,
            start_to_close_timeout=CHARGE_TIMEOUT,
        )
        with contextlib.suppress(TimeoutError):  # grace ran out without a new card
            await workflow.wait_condition(
                lambda: self.payment_method_updated or self.cancelled,
                timeout=grace_ends - workflow.now(),
            )
        if self.cancelled:
            return False
        try:
            await self._charge(subscription, cycle, FINAL_ATTEMPT)
        except ActivityError:
            return False
        self.status = SubscriptionStatus.ACTIVE
        return True

    @staticmethod
    async def _charge(subscription: Subscription, cycle: int, policy: RetryPolicy) -> str:
        invoice: str = await workflow.execute_activity(
            charge_subscription,
            subscription.subscription_id,
            cycle,
            subscription.monthly_price_cents,
            start_to_close_timeout=CHARGE_TIMEOUT,
            retry_policy=policy,
        )
        return invoice

    async def _end(self, subscription: Subscription) -> BillingSummary:
        """Stop billing: cancelled by request if one came, else for non-payment."""
        if self.cancel_reason is not None:
            self.status, reason = SubscriptionStatus.CANCELLED, self.cancel_reason
        else:
            self.status, reason = SubscriptionStatus.CANCELLED_FOR_NONPAYMENT, "non-payment"
        self.next_billing_at = None
        await workflow.execute_activity(
            cancel_subscription,
            subscription.subscription_id,
            reason,
            start_to_close_timeout=CHARGE_TIMEOUT,
        )
        return self._summary(subscription)

    def _summary(self, subscription: Subscription) -> BillingSummary:
        return BillingSummary(
            subscription.subscription_id, self.status, self.cycles_paid, workflow.now(), self.term
        )

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The customer (or support) cancels: no further charges."""
        if self.cancel_reason is None:
            self.cancel_reason = reason

    @workflow.signal
    def update_payment_method(self, payment_method_id: str) -> None:
        """The customer saved a new card; during a grace period, retry the charge now."""
        self.payment_method_updated = True

    @workflow.query
    def billing_status(self) -> BillingStatus:
        """Status, cycles paid so far, and the billing date in progress or next due."""
        return BillingStatus(self.status, self.cycles_paid, self.next_billing_at)
