"""Tests for subscription billing: a year in milliseconds, retries, grace period, cancellation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pytest_durable import ApplicationError, DurableEnvironment, MockActivity, Replayer

from .workflows import (
    BillingStatus,
    BillingSummary,
    Subscription,
    SubscriptionBilling,
    SubscriptionStatus,
    cancel_subscription,
    charge_subscription,
    send_payment_failed_notice,
)

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
SUBSCRIPTION = Subscription("sub-123", "cus-9", "pro-monthly", monthly_price_cents=1500)
DECLINED = ApplicationError("do not honour", type="CardDeclined")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def epoch_ns(moment: datetime) -> int:
    """Epoch nanoseconds, the unit history events carry."""
    return int(moment.timestamp()) * 1_000_000_000


def first_of_month(year: int, month: int) -> datetime:
    return datetime(year, month, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


@pytest.fixture
def notices(env: DurableEnvironment) -> MockActivity:
    return env.mock_activity(send_payment_failed_notice)


@pytest.fixture
def cancellations(env: DurableEnvironment) -> MockActivity:
    return env.mock_activity(cancel_subscription)


def test_twelve_paid_cycles_take_a_year_of_virtual_time_in_milliseconds(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, returns="inv")

    started = time.perf_counter()
    summary = env.run(SubscriptionBilling.run, SUBSCRIPTION).result()
    elapsed = time.perf_counter() - started

    assert [call.time for call in charge.calls] == [first_of_month(2030, m) for m in range(1, 13)]
    assert charge.call_args_list == [("sub-123", cycle, 1500) for cycle in range(1, 13)]
    assert summary == BillingSummary(
        "sub-123", SubscriptionStatus.COMPLETED, cycles_paid=12, ended_at=first_of_month(2031, 1)
    )
    assert env.now() == first_of_month(2031, 1)
    notices.assert_not_called()
    cancellations.assert_not_called()
    assert elapsed < 1.0, f"a year of billing took {elapsed:.3f} s of real time"


def test_the_billing_day_is_clamped_in_short_months() -> None:
    with DurableEnvironment(start_time=datetime(2032, 1, 31, tzinfo=UTC)) as env:
        charge = env.mock_activity(charge_subscription, returns="inv")
        summary = env.run(SubscriptionBilling.run, SUBSCRIPTION).result()

    days = [(call.time.month, call.time.day) for call in charge.calls]
    # 2032 is a leap year: February bills on the 29th.
    assert days == [
        (1, 31), (2, 29), (3, 31), (4, 30), (5, 31), (6, 30),
        (7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31),
    ]  # fmt: skip
    assert summary.ended_at == datetime(2033, 1, 31, tzinfo=UTC)


def test_a_failed_month_retries_at_exact_backoff_times_then_recovers_after_grace(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    # March fails four times (the whole retry policy), then the post-grace attempt succeeds.
    charge = env.mock_activity(
        charge_subscription, outcomes=["inv1", "inv2", *[DECLINED] * 4, "inv3"], returns="inv"
    )

    summary = env.run(SubscriptionBilling.run, SUBSCRIPTION).result()

    march = first_of_month(2030, 3)
    march_calls = [call for call in charge.calls if call.args[1] == 3]
    assert [(call.attempt, call.time) for call in march_calls] == [
        (1, march),
        (2, march + 1 * HOUR),  # backoff 1 h
        (3, march + 3 * HOUR),  # + 2 h
        (4, march + 7 * HOUR),  # + 4 h, and maximum_attempts=4 is reached
        (1, march + 7 * HOUR + 7 * DAY),  # the last attempt, when the grace period ends
    ]
    notices.assert_called_once_with("cus-9", 3, march + 7 * HOUR + 7 * DAY)
    assert notices.calls[0].time == march + 7 * HOUR
    # April is billed on its usual day: the grace period does not move the schedule.
    assert [call.time for call in charge.calls if call.args[1] == 4] == [first_of_month(2030, 4)]
    assert summary.status is SubscriptionStatus.COMPLETED
    assert summary.cycles_paid == 12
    cancellations.assert_not_called()


def test_the_subscription_is_past_due_during_the_grace_period(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    env.mock_activity(charge_subscription, outcomes=["inv1", *[DECLINED] * 4], returns="inv")
    handle = env.start(SubscriptionBilling.run, SUBSCRIPTION)

    env.sleep(first_of_month(2030, 2) + 2 * DAY - env.now())

    assert handle.query(SubscriptionBilling.billing_status) == BillingStatus(
        SubscriptionStatus.PAST_DUE, cycles_paid=1, next_billing_at=first_of_month(2030, 2)
    )
    env.sleep(6 * DAY)  # grace ends on 8 Feb at 17:00; the last attempt succeeds
    assert handle.query(SubscriptionBilling.billing_status) == BillingStatus(
        SubscriptionStatus.ACTIVE, cycles_paid=2, next_billing_at=first_of_month(2030, 3)
    )


def test_an_unpaid_month_cancels_for_nonpayment(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, outcomes=["inv1"], raises=DECLINED)

    summary = env.run(SubscriptionBilling.run, SUBSCRIPTION).result()

    grace_ends = first_of_month(2030, 2) + 7 * HOUR + 7 * DAY
    charge.assert_attempts(1 + 4 + 1)
    assert charge.calls[-1].time == grace_ends
    cancellations.assert_called_once_with("sub-123", "non-payment")
    assert cancellations.calls[0].time == grace_ends
    assert summary == BillingSummary(
        "sub-123", SubscriptionStatus.CANCELLED_FOR_NONPAYMENT, cycles_paid=1, ended_at=grace_ends
    )


def test_an_expired_card_skips_retries_and_a_new_card_ends_grace_early(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    expired = ApplicationError("card expired 12/29", type="CardExpired")
    charge = env.mock_activity(charge_subscription, outcomes=[expired], returns="inv")
    handle = env.start(SubscriptionBilling.run, SUBSCRIPTION, id="billing-sub-123")

    # CardExpired is non-retryable: the customer is told straight away.
    notices.assert_called_once_with("cus-9", 1, T0 + 7 * DAY)
    env.sleep(2 * DAY + 3 * HOUR)
    handle.signal(SubscriptionBilling.update_payment_method, "pm_new_card")

    assert [(call.attempt, call.time) for call in charge.calls] == [
        (1, T0),
        (1, T0 + 2 * DAY + 3 * HOUR),  # retried the moment the card was updated
    ]
    summary = handle.result()
    assert summary.status is SubscriptionStatus.COMPLETED
    assert summary.cycles_paid == 12
    assert charge.call_count == 13


def test_a_cancel_signal_stops_billing(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, returns="inv")
    handle = env.start(SubscriptionBilling.run, SUBSCRIPTION, id="billing-sub-123")
    env.sleep(datetime(2030, 3, 15, tzinfo=UTC) - env.now())
    assert charge.call_count == 3

    handle.signal(SubscriptionBilling.cancel, "too expensive")

    assert handle.result() == BillingSummary(
        "sub-123",
        SubscriptionStatus.CANCELLED,
        cycles_paid=3,
        ended_at=datetime(2030, 3, 15, tzinfo=UTC),
    )
    cancellations.assert_called_once_with("sub-123", "too expensive")
    env.sleep(timedelta(days=365))
    assert charge.call_count == 3  # no charge after cancelling, however long we wait


def test_cancelling_during_the_grace_period_skips_the_last_attempt(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, raises=DECLINED)
    handle = env.start(SubscriptionBilling.run, SUBSCRIPTION)
    env.sleep(3 * DAY)

    handle.signal(SubscriptionBilling.cancel, "switching provider")

    summary = handle.result()
    assert (summary.status, summary.cycles_paid) == (SubscriptionStatus.CANCELLED, 0)
    assert summary.ended_at == T0 + 3 * DAY
    charge.assert_attempts(4)  # the retry policy's attempts, and no post-grace attempt
    cancellations.assert_called_once_with("sub-123", "switching provider")


def test_auto_renewal_continues_as_new_each_term_until_cancelled(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, returns="inv")
    subscription = replace(SUBSCRIPTION, auto_renew=True)
    handle = env.start(SubscriptionBilling.run, subscription, id="billing-sub-123")

    env.sleep(datetime(2032, 3, 15, tzinfo=UTC) - env.now())  # two full terms and a bit

    assert [status for _, status in handle.runs] == [
        "continued_as_new",
        "continued_as_new",
        "running",
    ]
    # Cycle numbers (the idempotency key) keep counting across terms; dates stay on the 1st.
    assert charge.call_args_list == [("sub-123", cycle, 1500) for cycle in range(1, 28)]
    assert charge.calls[-1].time == first_of_month(2032, 3)
    # Each run's history covers one term only, so it stays small however long we bill.
    terms = handle.histories
    assert [history.started.time_ns for history in terms] == [
        epoch_ns(T0),
        epoch_ns(first_of_month(2031, 1)),
        epoch_ns(first_of_month(2032, 1)),
    ]
    assert [len(history.of_kind("ActivityTaskScheduled")) for history in terms] == [12, 12, 3]

    handle.signal(SubscriptionBilling.cancel, "moving abroad")

    assert handle.result() == BillingSummary(
        "sub-123",
        SubscriptionStatus.CANCELLED,
        cycles_paid=3,
        ended_at=datetime(2032, 3, 15, tzinfo=UTC),
        term=3,
    )
    cancellations.assert_called_once_with("sub-123", "moving abroad")
    replayer = Replayer(workflows=[SubscriptionBilling])
    assert [result.divergences for result in replayer.replay_all(handle.histories)] == [()] * 3


def test_billing_survives_a_worker_crash_and_replays(
    env: DurableEnvironment, notices: MockActivity, cancellations: MockActivity
) -> None:
    charge = env.mock_activity(charge_subscription, outcomes=["inv1", DECLINED], returns="inv")
    handle = env.start(SubscriptionBilling.run, SUBSCRIPTION, id="billing-sub-123")
    env.sleep(timedelta(days=100))

    # The worker dies mid-term; the next workflow task rebuilds the workflow from its history.
    assert env.crash_worker("billing-sub-123") == 1
    assert handle.query(SubscriptionBilling.billing_status).cycles_paid == 4

    summary = handle.result()
    assert (summary.status, summary.cycles_paid) == (SubscriptionStatus.COMPLETED, 12)
    assert [call.time for call in charge.calls if call.attempt == 1] == [
        first_of_month(2030, m) for m in range(1, 13)
    ]
    assert [call.time for call in charge.calls if call.attempt == 2] == [
        first_of_month(2030, 2) + HOUR
    ]
    assert Replayer(workflows=[SubscriptionBilling]).replay(handle.history).divergences == ()
