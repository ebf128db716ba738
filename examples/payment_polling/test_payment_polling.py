"""Tests for deadline-bounded polling: exact poll times, success on the k-th poll, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pytest_durable import (
    HANG,
    ActivityError,
    DurableEnvironment,
    Replayer,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
)

from .workflows import (
    Outcome,
    PaymentStatus,
    PaymentVerification,
    PollingProgress,
    VerificationRequest,
    VerificationResult,
    check_payment_status,
    flag_for_manual_review,
)

T0 = datetime(2030, 6, 3, 8, 0, tzinfo=UTC)
REQUEST = VerificationRequest("pay-7781")  # every 30 minutes, for 24 hours
PENDING, VERIFIED, DECLINED = PaymentStatus.PENDING, PaymentStatus.VERIFIED, PaymentStatus.DECLINED


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


def test_verified_on_the_fifth_poll(env: DurableEnvironment) -> None:
    status = env.mock_activity(check_payment_status, outcomes=[PENDING] * 4 + [VERIFIED])
    review = env.mock_activity(flag_for_manual_review)

    result = env.run(PaymentVerification.run, REQUEST).result()

    assert result == VerificationResult(
        "pay-7781", Outcome.VERIFIED, polls=5, decided_at=T0 + timedelta(hours=2)
    )
    assert [call.time for call in status.calls] == [
        T0,
        T0 + timedelta(minutes=30),
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=1, minutes=30),
        T0 + timedelta(hours=2),
    ]
    assert status.call_args_list == [("pay-7781",)] * 5
    review.assert_not_called()
    assert env.now() == T0 + timedelta(hours=2)


def test_a_declined_payment_stops_polling(env: DurableEnvironment) -> None:
    status = env.mock_activity(check_payment_status, outcomes=[PENDING, DECLINED])
    review = env.mock_activity(flag_for_manual_review)

    result = env.run(PaymentVerification.run, REQUEST).result()

    assert (result.outcome, result.polls) == (Outcome.DECLINED, 2)
    assert result.decided_at == T0 + timedelta(minutes=30)
    status.assert_attempts(2)
    review.assert_not_called()


def test_polls_every_30_minutes_until_the_24_hour_deadline(env: DurableEnvironment) -> None:
    status = env.mock_activity(check_payment_status, returns=PENDING)
    review = env.mock_activity(flag_for_manual_review)

    result = env.run(PaymentVerification.run, REQUEST).result()

    # Polls at 0:00, 0:30, ... 24:00 inclusive: 49 of them, the last exactly at the deadline.
    assert [call.time for call in status.calls] == [
        T0 + timedelta(minutes=30) * i for i in range(49)
    ]
    assert status.calls[-1].time == datetime(2030, 6, 4, 8, 0, tzinfo=UTC)
    review.assert_called_once_with("pay-7781", 49)
    assert review.calls[0].time == T0 + timedelta(hours=24)
    assert result == VerificationResult(
        "pay-7781", Outcome.EXPIRED, polls=49, decided_at=T0 + timedelta(hours=24)
    )


@pytest.mark.parametrize(
    ("interval", "deadline", "poll_minutes"),
    [
        (timedelta(minutes=15), timedelta(hours=1), [0, 15, 30, 45, 60]),
        # The next slot (135 min) is past the 2 h deadline: give up after the 90-minute poll.
        (timedelta(minutes=45), timedelta(hours=2), [0, 45, 90]),
        (timedelta(hours=6), timedelta(days=1), [0, 360, 720, 1080, 1440]),
    ],
)
def test_the_schedule_follows_the_request(
    env: DurableEnvironment, interval: timedelta, deadline: timedelta, poll_minutes: list[int]
) -> None:
    status = env.mock_activity(check_payment_status, returns=PENDING)
    review = env.mock_activity(flag_for_manual_review)
    request = VerificationRequest("pay-1", poll_interval=interval, deadline=deadline)

    result = env.run(PaymentVerification.run, request).result()

    assert [call.time - T0 for call in status.calls] == [timedelta(minutes=m) for m in poll_minutes]
    assert result.outcome is Outcome.EXPIRED
    assert result.decided_at == T0 + timedelta(minutes=poll_minutes[-1])
    review.assert_called_once_with("pay-1", len(poll_minutes))


def test_a_slow_provider_does_not_shift_the_schedule(env: DurableEnvironment) -> None:
    # Each answer takes 15 s; polls still start on the half hour, measured from the start.
    status = env.mock_activity(
        check_payment_status, outcomes=[PENDING] * 3 + [VERIFIED], delay=timedelta(seconds=15)
    )

    result = env.run(PaymentVerification.run, REQUEST).result()

    assert [call.time - T0 for call in status.calls] == [
        timedelta(minutes=m) for m in (0, 30, 60, 90)
    ]
    assert result.decided_at == T0 + timedelta(minutes=90, seconds=15)


def test_a_hung_poll_times_out_and_is_retried_without_counting_as_a_poll(
    env: DurableEnvironment,
) -> None:
    status = env.mock_activity(check_payment_status, outcomes=[HANG, VERIFIED])

    result = env.run(PaymentVerification.run, REQUEST).result()

    # Attempt 1 hits the 20 s start-to-close timeout; attempt 2 follows the 5 s backoff.
    assert [(call.attempt, call.time - T0) for call in status.calls] == [
        (1, timedelta(0)),
        (2, timedelta(seconds=25)),
    ]
    assert (result.outcome, result.polls) == (Outcome.VERIFIED, 1)


def test_a_provider_outage_fails_the_workflow_once_retries_run_out(
    env: DurableEnvironment,
) -> None:
    status = env.mock_activity(check_payment_status, outcomes=[HANG] * 5)

    handle = env.run(PaymentVerification.run, REQUEST)

    with pytest.raises(WorkflowFailureError) as failure:
        handle.result()
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(activity_error.cause, TimeoutError)
    assert activity_error.cause.type is TimeoutType.START_TO_CLOSE
    # 5 attempts of 20 s each, with 5, 10, 20 and 40 s between them.
    assert [call.time - T0 for call in status.calls] == [
        timedelta(seconds=s) for s in (0, 25, 55, 95, 155)
    ]
    assert env.now() == T0 + timedelta(seconds=175)


def test_progress_is_queryable_between_polls(env: DurableEnvironment) -> None:
    env.mock_activity(check_payment_status, returns=PENDING)
    env.mock_activity(flag_for_manual_review)
    handle = env.start(PaymentVerification.run, REQUEST, id="verify-pay-7781")

    assert handle.query(PaymentVerification.progress) == PollingProgress(
        polls=1, last_status=PENDING, next_poll_at=T0 + timedelta(minutes=30)
    )
    env.sleep(timedelta(hours=1, minutes=1))
    assert handle.query(PaymentVerification.progress) == PollingProgress(
        polls=3, last_status=PENDING, next_poll_at=T0 + timedelta(minutes=90)
    )
    assert handle.status == "running"


def test_a_day_of_polling_replays_against_the_code(env: DurableEnvironment) -> None:
    env.mock_activity(check_payment_status, returns=PENDING)
    env.mock_activity(flag_for_manual_review)
    handle = env.run(PaymentVerification.run, REQUEST)

    # 49 polls and 48 timers, each recorded; replaying them must reproduce every command.
    assert len(handle.history.of_kind("TimerFired")) == 48
    assert Replayer(workflows=[PaymentVerification]).replay(handle.history).divergences == ()
