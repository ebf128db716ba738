"""Activity retries: every row of SEMANTICS.md's table, with exact virtual attempt times.

Each scenario is checked twice: with a mock (``calls[i].time``) and with a real activity that
captures ``activity.info()``. Retry state, the innermost cause's type and every attempt's time are
asserted, and so is the history the engine wrote.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from pytest_durable import (
    HANG,
    ActivityError,
    ApplicationError,
    Delay,
    DurableEnvironment,
    RetryPolicy,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import activity_workflow, at, attempt_times, innermost


@activity.defn
async def work(item: str) -> str:
    raise NotImplementedError("mocked in every test")


def failure_of(env: DurableEnvironment, wf: type) -> tuple[ActivityError, BaseException]:
    """Run ``wf`` expecting an activity failure; the ActivityError and the innermost cause."""
    handle = env.run(wf)
    assert handle.status == "failed"
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    return error, innermost(error)


# --- row 1: fails 3x, 4th attempt succeeds, initial 10 min ---------------------------------------


def test_fails_three_times_then_succeeds_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(
        work, outcomes=[ValueError("1"), ValueError("2"), ValueError("3"), "done"]
    )
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(initial_interval=timedelta(minutes=10))
    )
    handle = env.run(wf)
    assert handle.result() == "done"
    assert attempt_times(mock) == [at(), at(minutes=10), at(minutes=30), at(minutes=70)]
    assert [c.attempt for c in mock.calls] == [1, 2, 3, 4]
    assert env.now() == at(minutes=70)
    # Only the deciding attempt reaches history, as on Temporal.
    started = handle.history.of_kind(ev.ActivityTaskStarted)
    assert [(e.attempt, e.time_ns) for e in started] == [(4, env.now_ns())]


def test_fails_three_times_then_succeeds_real(env: DurableEnvironment) -> None:
    seen: list[tuple[int, datetime, datetime]] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        info = activity.info()
        seen.append((info.attempt, info.started_time, info.scheduled_time))
        if info.attempt < 4:
            raise ValueError(f"attempt {info.attempt}")
        return item.upper()

    wf = activity_workflow(
        real, "x", retry_policy=RetryPolicy(initial_interval=timedelta(minutes=10))
    )
    assert env.run(wf).result() == "X"
    assert seen == [
        (1, at(), at()),
        (2, at(minutes=10), at()),
        (3, at(minutes=30), at()),
        (4, at(minutes=70), at()),
    ]


# --- row 2: ValueError listed as non-retryable ---------------------------------------------------


def test_listed_type_is_not_retried_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, raises=ValueError("bad input"))
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(non_retryable_error_types=("ValueError",))
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert error.activity_type == "work"
    assert error.activity_id == "1"
    assert type(cause) is ApplicationError
    assert cause.type == "ValueError"  # the bare class name, no module
    assert cause.message == "bad input"
    assert attempt_times(mock) == [at()]


def test_listed_type_is_not_retried_real(env: DurableEnvironment) -> None:
    seen: list[tuple[int, datetime]] = []

    @activity.defn(name="work")
    def real(item: str) -> str:  # a sync activity runs in a thread
        seen.append((activity.info().attempt, activity.info().started_time))
        raise ValueError("bad input")

    wf = activity_workflow(
        real, "x", retry_policy=RetryPolicy(non_retryable_error_types=("ValueError",))
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ValueError"
    assert seen == [(1, at())]


def test_application_error_marked_non_retryable(env: DurableEnvironment) -> None:
    mock = env.mock_activity(
        work, raises=ApplicationError("no", "d1", type="Nope", non_retryable=True)
    )
    error, cause = failure_of(env, activity_workflow(work, "x"))
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.non_retryable, list(cause.details)) == ("Nope", True, ["d1"])
    assert mock.call_count == 1


def test_application_error_type_listed_as_non_retryable(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, raises=ApplicationError("no", type="Declined"))
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(non_retryable_error_types=("Declined",))
    )
    error, _ = failure_of(env, wf)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert mock.call_count == 1


# --- row 3: always fails, maximum_attempts=3 -----------------------------------------------------


def test_maximum_attempts_reached_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, raises=RuntimeError("down"))
    wf = activity_workflow(work, "x", retry_policy=RetryPolicy(maximum_attempts=3))
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert type(cause) is ApplicationError
    assert cause.type == "RuntimeError"
    assert attempt_times(mock) == [at(), at(seconds=1), at(seconds=3)]
    failed = env.handles[0].history.of_kind(ev.ActivityTaskFailed)
    assert len(failed) == 1
    assert failed[0].retry_state == "MAXIMUM_ATTEMPTS_REACHED"
    assert failed[0].time_ns == env.now_ns()
    assert env.now() == at(seconds=3)


def test_maximum_attempts_reached_real(env: DurableEnvironment) -> None:
    seen: list[datetime] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        seen.append(activity.info().started_time)
        raise RuntimeError("down")

    wf = activity_workflow(real, "x", retry_policy=RetryPolicy(maximum_attempts=3))
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, ApplicationError)
    assert seen == [at(), at(seconds=1), at(seconds=3)]


# --- row 4: always fails, schedule-to-close 2 h, initial 30 min ----------------------------------


def test_schedule_to_close_stops_retries_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, raises=ValueError("nope"))
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=None,
        schedule_to_close_timeout=timedelta(hours=2),
        retry_policy=RetryPolicy(initial_interval=timedelta(minutes=30)),
    )
    handle = env.run(wf)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state is RetryState.TIMEOUT
    cause = innermost(error)
    assert type(cause) is ApplicationError  # not a TimeoutError
    assert cause.type == "ValueError"
    assert attempt_times(mock) == [at(), at(minutes=30), at(minutes=90)]
    # Retries stop as soon as the next one could not fit: at 90 min, not at the 2 h deadline.
    assert env.now() == at(minutes=90)
    (failed,) = handle.history.of_kind(ev.ActivityTaskFailed)
    assert failed.retry_state == "TIMEOUT"
    assert not handle.history.of_kind(ev.ActivityTaskTimedOut)


def test_schedule_to_close_stops_retries_real(env: DurableEnvironment) -> None:
    seen: list[tuple[int, datetime]] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        seen.append((activity.info().attempt, activity.info().started_time))
        raise ValueError("nope")

    wf = activity_workflow(
        real,
        "x",
        start_to_close_timeout=None,
        schedule_to_close_timeout=timedelta(hours=2),
        retry_policy=RetryPolicy(initial_interval=timedelta(minutes=30)),
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.TIMEOUT
    assert type(cause) is ApplicationError
    assert seen == [(1, at()), (2, at(minutes=30)), (3, at(minutes=90))]


# --- row 5: sleeps 3 s, start-to-close 1 s, 2 attempts -------------------------------------------


def test_start_to_close_timeout_retried_then_exhausted_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, delay=timedelta(seconds=3), returns="late")
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=2),
    )
    handle = env.run(wf)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    cause = innermost(error)
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.START_TO_CLOSE
    # attempt 1 at 0 s times out at 1 s; 1 s backoff; attempt 2 at 2 s times out at 3 s.
    assert attempt_times(mock) == [at(), at(seconds=2)]
    assert env.now() == at(seconds=3)
    (timed_out,) = handle.history.of_kind(ev.ActivityTaskTimedOut)
    assert timed_out.time_ns == env.now_ns()
    assert timed_out.retry_state == "MAXIMUM_ATTEMPTS_REACHED"


def test_start_to_close_timeout_retried_then_exhausted_real(env: DurableEnvironment) -> None:
    seen: list[tuple[int, datetime]] = []
    finished: list[int] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        seen.append((activity.info().attempt, activity.info().started_time))
        await asyncio.sleep(3)  # virtual: the host loop runs on the environment's clock
        finished.append(activity.info().attempt)
        return "late"

    wf = activity_workflow(
        real,
        "x",
        start_to_close_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=2),
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.START_TO_CLOSE
    assert seen == [(1, at()), (2, at(seconds=2))]
    assert finished == []  # timed-out attempts are cancelled, not left running
    assert env.now() == at(seconds=3)


# --- row 6: sleeps 3 s, schedule-to-close 1 s ----------------------------------------------------


def test_schedule_to_close_timeout_mock(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, delay=timedelta(seconds=3), returns="late")
    wf = activity_workflow(
        work, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=1)
    )
    handle = env.run(wf)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state is RetryState.TIMEOUT
    cause = innermost(error)
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert attempt_times(mock) == [at()]
    assert env.now() == at(seconds=1)
    (timed_out,) = handle.history.of_kind(ev.ActivityTaskTimedOut)
    assert timed_out.retry_state == "TIMEOUT"


def test_schedule_to_close_timeout_real(env: DurableEnvironment) -> None:
    seen: list[datetime] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        seen.append(activity.info().started_time)
        await asyncio.sleep(3)
        return "late"

    wf = activity_workflow(
        real, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=1)
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.TIMEOUT
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert seen == [at()]
    assert env.now() == at(seconds=1)


# --- row 7: one heartbeat then stalls, heartbeat timeout 1 s, 1 attempt --------------------------


def test_heartbeat_timeout_real(env: DurableEnvironment) -> None:
    seen: list[datetime] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        seen.append(activity.info().started_time)
        activity.heartbeat("step-1")
        await asyncio.sleep(60)
        return "late"

    wf = activity_workflow(
        real,
        "x",
        heartbeat_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=1),
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.HEARTBEAT
    assert list(cause.last_heartbeat_details) == ["step-1"]
    assert seen == [at()]
    assert env.now() == at(seconds=1)


def test_heartbeat_timeout_after_a_late_heartbeat(env: DurableEnvironment) -> None:
    @activity.defn(name="work")
    async def real(item: str) -> str:
        await asyncio.sleep(0.5)
        activity.heartbeat("half")
        await asyncio.sleep(60)
        return "late"

    wf = activity_workflow(
        real,
        "x",
        heartbeat_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=1),
    )
    _, cause = failure_of(env, wf)
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.HEARTBEAT
    # The timeout counts from the last heartbeat (0.5 s), not from the start.
    assert env.now() == at(seconds=1.5)


def test_heartbeat_timeout_is_retried(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[HANG, "second"])
    wf = activity_workflow(work, "x", heartbeat_timeout=timedelta(seconds=5))
    assert env.run(wf).result() == "second"
    # HANG never heartbeats: timed out at 5 s; 1 s backoff; attempt 2 at 6 s.
    assert attempt_times(mock) == [at(), at(seconds=6)]


# --- more retry rules ----------------------------------------------------------------------------


def test_default_policy_retries_with_exponential_backoff(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[KeyError("k")] * 9 + ["ok"])
    assert env.run(activity_workflow(work, "x")).result() == "ok"
    offsets = [1, 2, 4, 8, 16, 32, 64, 100, 100]
    expected = [at()]
    for seconds in offsets:
        expected.append(expected[-1] + timedelta(seconds=seconds))
    assert attempt_times(mock) == expected


def test_next_retry_delay_overrides_the_policy(env: DurableEnvironment) -> None:
    mock = env.mock_activity(
        work,
        outcomes=[ApplicationError("later", next_retry_delay=timedelta(minutes=7)), "ok"],
    )
    assert env.run(activity_workflow(work, "x")).result() == "ok"
    assert attempt_times(mock) == [at(), at(minutes=7)]


def test_maximum_interval_caps_the_wait(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[ValueError()] * 4 + ["ok"])
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=10),
        backoff_coefficient=3.0,
        maximum_interval=timedelta(seconds=50),
    )
    env.run(activity_workflow(work, "x", retry_policy=policy)).result()
    assert attempt_times(mock) == [
        at(),
        at(seconds=10),
        at(seconds=40),
        at(seconds=90),
        at(seconds=140),
    ]


def test_plain_exception_type_is_the_bare_class_name(env: DurableEnvironment) -> None:
    class PaymentDeclined(Exception):
        pass

    env.mock_activity(work, raises=PaymentDeclined("card"))
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(non_retryable_error_types=("PaymentDeclined",))
    )
    error, cause = failure_of(env, wf)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(cause, ApplicationError)
    assert cause.type == "PaymentDeclined"


def test_mock_delay_outcome_counts_as_attempt_time(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[Delay(timedelta(seconds=5), ValueError()), "ok"])
    env.run(activity_workflow(work, "x")).result()
    # Attempt 1 runs 5 s then fails; 1 s backoff.
    assert attempt_times(mock) == [at(), at(seconds=6)]


def test_workflow_catches_activity_error_and_continues(env: DurableEnvironment) -> None:
    env.mock_activity(work, raises=ApplicationError("no", type="Declined", non_retryable=True))

    @workflow.defn
    class Catches:
        @workflow.run
        async def run(self) -> list[str]:
            try:
                await workflow.execute_activity(
                    work, "x", start_to_close_timeout=timedelta(seconds=5)
                )
            except ActivityError as err:
                cause = err.cause
                assert isinstance(cause, ApplicationError)
                return [err.retry_state.name if err.retry_state else "", cause.type or ""]
            return []

    assert env.run(Catches).result() == ["NON_RETRYABLE_FAILURE", "Declined"]


def test_unlimited_attempts_keep_going(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[ValueError()] * 30 + ["ok"])
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=1), maximum_attempts=0)
    assert env.run(activity_workflow(work, "x", retry_policy=policy)).result() == "ok"
    assert mock.call_count == 31
