"""Corner cases where pytest-durable once differed from Temporal, pinned to Temporal's outcome.

Each expectation was measured by running the same workflow on temporalio 1.35's time-skipping
test server; the comment above each assertion says what Temporal does and why. Where we differ
on purpose, docs/semantics.md says so and the test pins our documented behaviour instead.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import (
    HANG,
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    Delay,
    DurableEnvironment,
    InvalidArgumentError,
    RetryPolicy,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
    activity,
    workflow,
)

from ._helpers import activity_workflow, at, attempt_times


@activity.defn
async def work(item: str) -> str:
    raise NotImplementedError("mocked in every test")


def activity_error_of(env: DurableEnvironment, wf: Any) -> ActivityError:
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf).result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    return error


# --- 1. call styles: args=[...] as Temporal's SDK takes them -----------------------------------


@activity.defn
async def add(a: int, b: int) -> int:
    return a + b


@workflow.defn
class Adder:
    @workflow.run
    async def run(self, a: int, b: int) -> int:
        return a + b


@workflow.defn
class ArgsEverywhere:
    def __init__(self) -> None:
        self.extra = 0

    @workflow.run
    async def run(self, a: int, b: int, rounds: int) -> list[int]:
        timeout = timedelta(seconds=5)
        out = [
            await workflow.execute_activity(add, args=[a, b], start_to_close_timeout=timeout),
            await workflow.start_activity(add, args=(a, 10), start_to_close_timeout=timeout),
            await workflow.execute_activity(add, a, b, start_to_close_timeout=timeout),
            await workflow.execute_child_workflow(Adder.run, args=[a, 100]),
            await (await workflow.start_child_workflow(Adder.run, args=[b, 1000])),
        ]
        await workflow.wait_condition(lambda: self.extra > 0)
        out.append(self.extra)
        if rounds > 1:
            workflow.continue_as_new(args=[a * 2, b * 2, rounds - 1])
        return out

    @workflow.signal
    def bump(self, by: int, times: int) -> None:
        self.extra += by * times

    @workflow.query
    def scaled(self, factor: int, offset: int) -> int:
        return self.extra * factor + offset


def test_args_keyword_is_accepted_wherever_temporal_takes_it(env: DurableEnvironment) -> None:
    # temporalio: execute_activity/start_activity/execute_child_workflow/start_child_workflow/
    # continue_as_new take one argument or args=[...]; the client's start/execute_workflow,
    # signal and query take args= too. The same calls run here.
    handle = env.start(ArgsEverywhere.run, args=[1, 2, 2], id="args")
    handle.signal(ArgsEverywhere.bump, args=[3, 1])
    # The first run ended; the second got args=[2, 4, 1] through continue_as_new.
    assert [status for _, status in handle.runs] == ["continued_as_new", "running"]
    assert handle.query(ArgsEverywhere.scaled, args=[10, 1]) == 1
    handle.signal(ArgsEverywhere.bump, 2, 3)  # positional stays unambiguous
    assert handle.query(ArgsEverywhere.scaled, 1, 0) == 6
    assert handle.result() == [6, 12, 6, 102, 1004, 6]
    assert env.run(Adder.run, args=(7, 8)).result() == 15


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: workflow.execute_activity(
                add, 1, args=[2], start_to_close_timeout=timedelta(seconds=1)
            ),
            "activity 'add' got arguments both positionally (1,) and as args=[2]",
        ),
        (
            lambda: workflow.execute_activity(
                add, args="12", start_to_close_timeout=timedelta(seconds=1)
            ),
            "args= of activity 'add' must be a list of the arguments, got '12'",
        ),
        (
            lambda: workflow.execute_child_workflow(Adder.run, 1, args=[2]),
            "child workflow 'Adder' got arguments both positionally",
        ),
    ],
)
def test_both_styles_at_once_are_refused(
    env: DurableEnvironment, call: Any, message: str
) -> None:
    @workflow.defn
    class Ambiguous:
        @workflow.run
        async def run(self) -> None:
            await call()

    with pytest.raises(WorkflowFailureError) as info:
        env.run(Ambiguous).result()
    error = info.value.cause
    assert isinstance(error, InvalidArgumentError)
    assert message in str(error)


def test_environment_refuses_both_styles_at_once(env: DurableEnvironment) -> None:
    with pytest.raises(InvalidArgumentError, match="workflow 'Adder' got arguments both"):
        env.run(Adder.run, 1, args=[2])
    handle = env.start(ArgsEverywhere.run, 1, 2, 1)
    with pytest.raises(InvalidArgumentError, match="args= of signal 'bump' must be a list"):
        handle.signal(ArgsEverywhere.bump, args=5)
    with pytest.raises(InvalidArgumentError, match="query 'scaled' got arguments both"):
        handle.query(ArgsEverywhere.scaled, 1, args=[0])


# --- 2. an untyped ApplicationError is not of type "ApplicationError" ---------------------------


def test_untyped_application_error_is_not_matched_by_its_class_name(
    env: DurableEnvironment,
) -> None:
    mock = env.mock_activity(work, raises=ApplicationError("declined"))
    wf = activity_workflow(
        work,
        "x",
        retry_policy=RetryPolicy(
            maximum_attempts=3, non_retryable_error_types=["ApplicationError"]
        ),
    )
    error = activity_error_of(env, wf)
    # Temporal: 3 attempts, MAXIMUM_ATTEMPTS_REACHED. An ApplicationError raised without a type
    # has an empty type, so the name "ApplicationError" in the list does not match it.
    assert mock.call_count == 3
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    cause = error.cause
    assert isinstance(cause, ApplicationError) and cause.type is None


def test_a_typed_application_error_is_still_matched_by_its_type(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, raises=ApplicationError("declined", type="Declined"))
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(non_retryable_error_types=["Declined"])
    )
    error = activity_error_of(env, wf)
    assert mock.call_count == 1
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE


# --- 3. an unknown activity name follows the retry policy ----------------------------------------


def test_unknown_activity_fails_retryably_as_not_found(env: DurableEnvironment) -> None:
    wf = activity_workflow("not_registered", retry_policy=RetryPolicy(maximum_attempts=3))
    handle = env.run(wf)
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    # Temporal: the worker fails each attempt with a retryable "not registered" error of type
    # NotFoundError, and the retry policy runs its course: 3 attempts (waits 1 s and 2 s).
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NotFoundError" and not cause.non_retryable
    assert "no implementation or mock for activity 'not_registered'" in cause.message
    assert env.now() == at(seconds=3)


def test_a_mock_registered_during_the_backoff_serves_the_retry(env: DurableEnvironment) -> None:
    wf = activity_workflow("late", retry_policy=RetryPolicy(initial_interval=timedelta(hours=1)))
    handle = env.start(wf)
    # As when a worker that has the activity joins: the next attempt finds it.
    mock = env.mock_activity("late", returns="served")
    assert handle.result() == "served"
    assert [c.attempt for c in mock.calls] == [2]
    assert attempt_times(mock) == [at(hours=1)]


# --- 4. a retry that would start past schedule-to-close ------------------------------------------


def test_timed_out_attempt_whose_retry_would_pass_the_deadline(env: DurableEnvironment) -> None:
    env.mock_activity(work, outcomes=[HANG])
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=timedelta(seconds=1),
        schedule_to_close_timeout=timedelta(milliseconds=1500),
    )
    error = activity_error_of(env, wf)
    # Temporal: the attempt times out at 1 s, a retry at 2 s would start past the 1.5 s
    # deadline, so the activity closes with TimeoutError(SCHEDULE_TO_CLOSE), retry state
    # TIMEOUT (not START_TO_CLOSE).
    assert error.retry_state is RetryState.TIMEOUT
    cause = error.cause
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert cause.cause is None  # no earlier attempt failed
    assert env.now() == at(seconds=1)


def test_a_failed_attempt_whose_retry_would_pass_the_deadline_keeps_its_error(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(work, raises=ValueError("bad"))
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=None,
        schedule_to_close_timeout=timedelta(seconds=2),
    )
    error = activity_error_of(env, wf)
    # Temporal: attempts at 0 and 1 s; a retry at 3 s would pass the 2 s deadline. The cause
    # stays the application error (only a timed-out attempt becomes SCHEDULE_TO_CLOSE).
    assert error.retry_state is RetryState.TIMEOUT
    cause = error.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ValueError"


# --- 5. the final timeout carries the previous attempt's failure --------------------------------


def test_final_start_to_close_timeout_has_the_previous_timeout_as_cause(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(work, outcomes=[HANG, HANG])
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=2),
    )
    error = activity_error_of(env, wf)
    # Temporal: ActivityError > TimeoutError(START_TO_CLOSE) > TimeoutError(START_TO_CLOSE):
    # the server puts the last retried failure under the final timeout.
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    final = error.cause
    assert isinstance(final, TimeoutError) and final.type is TimeoutType.START_TO_CLOSE
    previous = final.cause
    assert isinstance(previous, TimeoutError) and previous.type is TimeoutType.START_TO_CLOSE
    assert previous.cause is None


def test_final_heartbeat_timeout_has_the_previous_failure_as_cause(
    env: DurableEnvironment,
) -> None:
    attempts: list[int] = []

    @activity.defn(name="beats_then_stalls")
    async def beats_then_stalls() -> str:
        attempts.append(activity.info().attempt)
        activity.heartbeat(f"step-{activity.info().attempt}")
        if activity.info().attempt == 1:
            raise ValueError("first attempt breaks")
        await asyncio.sleep(10)
        return "never"

    wf = activity_workflow(
        beats_then_stalls,
        start_to_close_timeout=timedelta(minutes=1),
        heartbeat_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=2),
    )
    error = activity_error_of(env, wf)
    # Temporal: TimeoutError(HEARTBEAT) with the last heartbeat's details, caused by the first
    # attempt's failure.
    assert attempts == [1, 2]
    final = error.cause
    assert isinstance(final, TimeoutError) and final.type is TimeoutType.HEARTBEAT
    assert tuple(final.last_heartbeat_details) == ("step-2",)
    previous = final.cause
    assert isinstance(previous, ApplicationError) and previous.type == "ValueError"


def test_schedule_to_close_during_a_later_attempt_has_the_previous_failure_as_cause(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(work, outcomes=[ConnectionError("down"), HANG])
    wf = activity_workflow(
        work, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=5)
    )
    error = activity_error_of(env, wf)
    final = error.cause
    assert isinstance(final, TimeoutError) and final.type is TimeoutType.SCHEDULE_TO_CLOSE
    previous = final.cause
    assert isinstance(previous, ApplicationError) and previous.type == "ConnectionError"


# --- 6. a cancelled child's retry state ----------------------------------------------------------


@workflow.defn
class SleepyChild:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=1))
        return "woke"


@workflow.defn
class CancelsItsChild:
    @workflow.run
    async def run(self) -> str:
        handle = await workflow.start_child_workflow(SleepyChild.run, id="sleepy")
        await workflow.sleep(timedelta(minutes=1))
        handle.cancel()
        try:
            await handle
        except ChildWorkflowError as err:
            state = err.retry_state.name if err.retry_state else None
            return f"{state} {type(err.cause).__name__}"
        return "completed"


def test_cancelled_child_reports_non_retryable_failure(env: DurableEnvironment) -> None:
    # Temporal: ChildWorkflowError(retry_state=NON_RETRYABLE_FAILURE) caused by CancelledError.
    assert env.run(CancelsItsChild.run).result() == "NON_RETRYABLE_FAILURE CancelledError"


# --- 7. invalid calls in workflow code -----------------------------------------------------------


@workflow.defn
class SleepsNegative:
    @workflow.run
    async def run(self) -> list[str]:
        caught = []
        try:
            await workflow.sleep(-1)
        except RuntimeError as err:  # Temporal's type
            caught.append(f"RuntimeError: {err}")
        try:
            await workflow.sleep(timedelta(seconds=-5))
        except ValueError:  # ours, InvalidArgumentError
            caught.append("ValueError")
        try:
            await workflow.execute_activity(work, "x")
        except ValueError:  # Temporal's and ours: no timeout given
            caught.append("no timeout: ValueError")
        return caught


def test_invalid_calls_raise_what_temporal_raises(env: DurableEnvironment) -> None:
    # Temporal: workflow.sleep(-1) raises RuntimeError ("negative delay"), an activity without
    # timeouts ValueError. Ours are InvalidArgumentErrors that are also those types.
    assert env.run(SleepsNegative.run).result() == [
        "RuntimeError: sleep duration must not be negative, got -1",
        "ValueError",
        "no timeout: ValueError",
    ]


def test_negative_sleep_error_is_an_invalid_argument_error(env: DurableEnvironment) -> None:
    @workflow.defn
    class Bug:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(-0.5)

    with pytest.raises(WorkflowFailureError) as info:
        env.run(Bug).result()
    assert isinstance(info.value.cause, InvalidArgumentError)
    assert isinstance(info.value.cause, RuntimeError)


# --- 8. cancelling an activity in the workflow task that started it ------------------------------


@workflow.defn
class CancelsAtOnce:
    @workflow.run
    async def run(self, later: bool) -> str:
        handle = workflow.start_activity(work, "x", start_to_close_timeout=timedelta(minutes=1))
        if later:
            await workflow.sleep(1)
        handle.cancel()
        try:
            await handle
        except asyncio.CancelledError:
            return "asyncio.CancelledError"
        except ActivityError as err:
            state = err.retry_state.name if err.retry_state else None
            return f"ActivityError({state}) > {type(err.cause).__name__}"
        return "completed"


def test_cancel_in_the_same_task_raises_plain_cancelled_error(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[Delay(timedelta(minutes=5), "late")])
    handle = env.run(CancelsAtOnce.run, False)
    # Temporal: the activity was never scheduled; its handle raises asyncio.CancelledError.
    assert handle.result() == "asyncio.CancelledError"
    assert mock.call_count == 0
    assert not [e for e in handle.history if e.kind.startswith("Activity")]


def test_cancel_in_a_later_task_raises_activity_error(env: DurableEnvironment) -> None:
    env.mock_activity(work, outcomes=[Delay(timedelta(minutes=5), "late")])
    # Temporal (matched before): ActivityError(CANCEL_REQUESTED) > CancelledError.
    assert env.run(CancelsAtOnce.run, True).result() == (
        "ActivityError(CANCEL_REQUESTED) > CancelledError"
    )


# --- 9. str() of errors --------------------------------------------------------------------------


def test_str_of_a_typed_application_error_leads_with_its_type() -> None:
    # temporalio: str(ApplicationError("msg", type="X")) == "X: msg"; .message stays "msg".
    error = ApplicationError("card declined", type="Declined")
    assert str(error) == "Declined: card declined"
    assert error.message == "card declined"
    assert str(ApplicationError("card declined")) == "card declined"


def test_failure_chains_read_without_the_type_twice(env: DurableEnvironment) -> None:
    env.mock_activity(work, raises=ApplicationError("card declined", type="Declined"))
    wf = activity_workflow(work, "x", retry_policy=RetryPolicy(maximum_attempts=1))
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf).result()
    # Our WorkflowFailureError message (deliberately richer than Temporal's fixed "Workflow
    # execution failed") shows the chain, each failure's type once.
    assert "ApplicationError[Declined]: card declined" in str(info.value)
    assert "Declined: Declined" not in str(info.value)
