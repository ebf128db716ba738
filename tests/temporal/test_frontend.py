"""Temporal SDK workflows run unmodified on the engine, in temporalio's own workflow runtime."""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from pytest_durable import DurableEnvironment
from pytest_durable.errors import (
    InvalidArgumentError,
    UnknownQueryError,
    UnknownSignalError,
    WorkflowTaskFailedError,
)

from .workflows import (
    AnyName,
    Buggy,
    CancelsActivity,
    ChargeOnce,
    Checkout,
    Child,
    CleansUp,
    Counter,
    Deterministic,
    LocalCall,
    Order,
    Parent,
    Patched,
    Resumes,
    SignalsElsewhere,
    Sleeper,
    TimesOut,
    Waits,
    any_activity,
    charge,
    double,
    resumable,
    waits_for_cancel,
)


def test_a_workflow_runs_with_activities_signals_queries_and_time_skipping(
    env: DurableEnvironment,
) -> None:
    env.register_activity(charge)
    env.register_activity(double)
    handle = env.start(Checkout.run, Order("o-1", 21), id="order-1")
    assert handle.query(Checkout.current_status) == "charging"  # retrying: 1 s, then 2 s
    env.sleep(timedelta(seconds=3))
    assert handle.query(Checkout.current_status) == "awaiting approval"
    handle.signal(Checkout.approve, "dana")
    result = handle.result()
    # Two retries of 1 s and 2 s (the server's default policy), then a day's durable timer.
    assert result == "tx-o-1-3 approved by dana at 2030-01-02T00:00:03+00:00 (42)"
    assert handle.query("current_status") == "done"
    kinds = [e.kind for e in handle.history.events]
    assert kinds.count("ActivityTaskScheduled") == 2
    assert "TimerFired" in kinds and "WorkflowExecutionSignaled" in kinds


def test_activity_failures_are_temporalios_errors_with_cause_and_retry_state(
    env: DurableEnvironment,
) -> None:
    env.register_activity(charge)
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(ChargeOnce.run, Order("o-2", 5)).result()
    error = caught.value.cause
    assert isinstance(error, ActivityError)
    assert error.activity_type == "charge"
    assert error.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "RuntimeError"
    assert cause.message == "gateway down (attempt 2)"


def test_a_non_retryable_application_error_keeps_its_type_and_details(
    env: DurableEnvironment,
) -> None:
    env.register_activity(charge)
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(ChargeOnce.run, Order("o-3", -7)).result()
    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state == RetryState.NON_RETRYABLE_FAILURE
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.non_retryable, cause.details) == ("BadAmount", True, (-7,))


def test_virtual_start_to_close_timeouts_retry_then_fail_with_the_timeout_type(
    env: DurableEnvironment,
) -> None:
    mock = env.mock_activity("slow", delay=timedelta(hours=1), returns="late")
    handle = env.start(TimesOut.run)
    with pytest.raises(WorkflowFailureError) as caught:
        handle.result()
    error = caught.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(error.cause, TimeoutError)
    assert error.cause.type == TimeoutType.START_TO_CLOSE
    assert [call.attempt for call in mock.calls] == [1, 2, 3]
    # Three 10-minute attempts with 1 s and 2 s between them, all virtual.
    assert env.now() - env.histories()[0].events[0].time == timedelta(minutes=30, seconds=3)


def test_mock_activity_by_function_replaces_a_temporal_activity(env: DurableEnvironment) -> None:
    env.register_activity(double)
    mock = env.mock_activity(charge, outcomes=[RuntimeError("down"), "tx-mocked"])
    handle = env.start(Checkout.run, Order("o-4", 2))
    handle.signal(Checkout.approve, "eve")
    assert handle.result().startswith("tx-mocked approved by eve")
    assert [call.attempt for call in mock.calls] == [1, 2]
    assert list(mock.calls[0].args) == [{"order_id": "o-4", "amount": 2}]


def test_heartbeat_details_reach_the_next_attempt(env: DurableEnvironment) -> None:
    env.register_activity(resumable)
    assert env.run(Resumes.run, 5).result() == [2, 3]


def test_an_activity_sees_cancellation_and_the_workflow_gets_cancelled_error(
    env: DurableEnvironment,
) -> None:
    env.register_activity(waits_for_cancel)
    assert env.run(CancelsActivity.run).result() == "ActivityError<-CancelledError"


def test_child_workflows_run_and_their_failures_chain(env: DurableEnvironment) -> None:
    env.register_workflow(Child)
    assert env.run(Parent.run, [1, 2, 3]).result() == [10, 20, 30]
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(Parent.run, [1, -1]).result()
    error = caught.value.cause
    assert isinstance(error, ChildWorkflowError)
    assert error.workflow_id == "child-1"
    assert isinstance(error.cause, ApplicationError)
    assert error.cause.type == "Negative"


def test_continue_as_new_starts_the_next_run(env: DurableEnvironment) -> None:
    handle = env.run(Counter.run, 0, 3)
    assert handle.result() == 3
    assert [status for _, status in handle.runs] == [
        "continued_as_new",
        "continued_as_new",
        "completed",
    ]


def test_patched_is_true_live_and_recorded_as_a_marker(env: DurableEnvironment) -> None:
    handle = env.run(Patched.run)
    assert handle.result() == "v2"
    markers = [e for e in handle.history.events if e.kind == "MarkerRecorded"]
    assert [m.details for m in markers] == [{"patch_id": "v2"}]  # type: ignore[attr-defined]


def test_randomness_is_seeded_and_replay_after_a_crash_agrees(
    make_env: DurableEnvironment,
) -> None:
    first = make_env(seed=7).run(Deterministic.run, id="d").result()  # type: ignore[operator]
    second = make_env(seed=7).run(Deterministic.run, id="d").result()  # type: ignore[operator]
    assert first == second and first[2:] == ["d", "1"]
    uncached = make_env(seed=7, replay_every_task=True)  # type: ignore[operator]
    assert uncached.run(Deterministic.run, id="d").result() == first


def test_wait_condition_times_out_on_a_durable_timer(env: DurableEnvironment) -> None:
    assert env.run(Waits.run).result() == "gave up at 2030-01-01T02:00:00+00:00"


def test_cancelling_a_workflow_runs_its_cleanup_and_reports_cancelled_error(
    env: DurableEnvironment,
) -> None:
    env.register_activity(double)
    handle = env.start(Sleeper.run)
    handle.cancel()
    with pytest.raises(WorkflowFailureError) as caught:
        handle.result()
    assert isinstance(caught.value.cause, CancelledError)
    assert handle.status == "cancelled"
    assert any(e.kind == "ActivityTaskCompleted" for e in handle.history.events)


def test_a_bug_in_workflow_code_fails_its_task_and_the_wait_names_it(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Buggy.run)
    with pytest.raises(WorkflowTaskFailedError, match="failed with ValueError: a bug") as caught:
        handle.result()
    cause = caught.value.__cause__
    assert isinstance(cause, ApplicationError) and cause.type == "ValueError"
    assert "raise ValueError" in "".join(cause.__notes__)  # the workflow code's traceback
    assert handle.status == "running"


def test_local_activities_run_as_local_activities(env: DurableEnvironment) -> None:
    env.register_activity(double)
    assert env.run(LocalCall.run, 4).result() == 8


def test_temporal_and_own_workflows_share_one_environment(env: DurableEnvironment) -> None:
    from pytest_durable import workflow as own

    @own.defn
    class Own:
        @own.run
        async def run(self) -> str:
            await own.sleep(5)
            return "own"

    env.register_activity(double)
    temporal = env.start(LocalCall.run, 1)
    assert env.run(Own.run).result() == "own"
    assert temporal.result() == 2


def test_an_unsupported_feature_fails_the_run_naming_it(env: DurableEnvironment) -> None:
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(SignalsElsewhere.run).result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UnsupportedTemporalFeatureError"
    assert "signalling an external workflow" in cause.message


def test_a_mock_raising_temporalios_non_retryable_error_is_not_retried(
    env: DurableEnvironment,
) -> None:
    declined = ApplicationError("card declined", type="Declined", non_retryable=True)
    mock = env.mock_activity(charge, raises=declined)
    with pytest.raises(WorkflowFailureError) as caught:
        env.run(Checkout.run, Order("o-5", 1)).result()
    assert len(mock.calls) == 1
    error = caught.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state == RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(error.cause, ApplicationError) and error.cause.type == "Declined"


def test_signal_with_start_delivers_the_signal_in_the_first_task(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="tx-sws")
    env.mock_activity(double, returns=0)
    handle = env.run(
        Checkout.run, Order("o-6", 1), start_signal=Checkout.approve, start_signal_args=["fay"]
    )
    assert handle.result().startswith("tx-sws approved by fay")
    kinds = [e.kind for e in handle.history.events]
    assert kinds[:3] == [
        "WorkflowExecutionStarted",
        "WorkflowExecutionSignaled",
        "WorkflowTaskCompleted",
    ]


@pytest.mark.parametrize("replay_every_task", [False, True])
def test_eviction_closes_coroutines_without_their_finally_reaching_history(
    make_env: Any, replay_every_task: bool
) -> None:
    env = make_env(replay_every_task=replay_every_task)
    env.register_activity(double)
    handle = env.start(CleansUp.run)
    gc.collect()
    # Replay-every-task mode caches instances between its replay points too.
    assert env.crash_worker() == 1
    gc.collect()
    assert handle.result() == "done"
    kinds = [e.kind for e in handle.history.events]
    assert kinds.count("ActivityTaskScheduled") == 1
    assert kinds[-1] == "WorkflowExecutionCompleted"


def test_signal_and_query_take_args_as_temporals_client_does(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="tx-args")
    env.mock_activity(double, returns=0)
    handle = env.start(Checkout.run, args=[Order("o-7", 1)])
    handle.signal("approve", args=["gus"])
    assert handle.query(Checkout.current_status, args=[]) == "awaiting approval"  # a day's timer
    assert handle.result().startswith("tx-args approved by gus")
    assert handle.query(Checkout.current_status, args=[]) == "done"


def test_unknown_handler_names_list_the_known_ones(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="tx")
    handle = env.start(Checkout.run, Order("o-8", 1))
    with pytest.raises(UnknownSignalError, match="its signals: approve"):
        handle.signal("approv", "x")
    with pytest.raises(UnknownQueryError, match="its queries: current_status"):
        handle.query("status")


def test_dynamic_definitions_need_a_name(env: DurableEnvironment) -> None:
    with pytest.raises(InvalidArgumentError, match="dynamic Temporal workflow"):
        env.start(AnyName.run)
    with pytest.raises(InvalidArgumentError, match="dynamic Temporal activity"):
        env.register_activity(any_activity)
