"""Local activities: run inside the workflow task, retried there, recorded as Temporal's markers.

Expected values follow Temporal's Core SDK (temporalio 1.35): a local activity leaves no
ActivityTask* events, only a ``MarkerRecorded`` named ``core_local_activity`` once it resolves;
retries wait inside the task while the backoff is at most ``local_retry_threshold`` (1 minute by
default), and a longer backoff records a marker with the failure and the backoff, waits on a
workflow timer, and schedules the next attempt.
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
    Delay,
    DurableEnvironment,
    InvalidArgumentError,
    NondeterminismError,
    Replayer,
    RetryPolicy,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at, attempt_times
from .conftest import START

NS = 1_000_000_000
T0 = int(START.timestamp()) * NS


@activity.defn
async def lookup(key: str) -> str:
    return key.upper()


@activity.defn
async def other(key: str) -> str:
    return key


def local_workflow(fn: Any = lookup, **options: Any) -> Any:
    options.setdefault("start_to_close_timeout", timedelta(seconds=5))

    @workflow.defn(name="LocalOne")
    class LocalOne:
        @workflow.run
        async def run(self, key: str) -> list[str]:
            value = await workflow.execute_local_activity(fn, key, **options)
            return [value, workflow.now().isoformat()]

    return LocalOne


def kinds(history: Any) -> list[str]:
    return [e.kind for e in history]


def markers(history: Any) -> list[ev.MarkerRecorded]:
    return [e for e in history.of_kind(ev.MarkerRecorded) if e.marker_name == "core_local_activity"]


def test_result_is_recorded_as_a_core_local_activity_marker(env: DurableEnvironment) -> None:
    wf = local_workflow()
    handle = env.run(wf.run, "ab")
    assert handle.result() == ["AB", START.isoformat()]
    # Temporal: no ActivityTaskScheduled/Started/Completed; one marker in the same task.
    assert kinds(handle.history) == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "MarkerRecorded",
        "WorkflowExecutionCompleted",
    ]
    (marker,) = markers(handle.history)
    assert marker.details == {
        "data": {
            "seq": 1,
            "attempt": 1,
            "activity_id": "local-1",
            "activity_type": "lookup",
            "complete_time_ns": T0,
            "original_schedule_time_ns": T0,
        },
        "result": "AB",
    }
    assert not Replayer(workflows=[wf]).replay(handle.history).divergences


def test_args_and_is_local(env: DurableEnvironment) -> None:
    seen: list[bool] = []

    @activity.defn(name="joins")
    def joins(a: str, b: str) -> str:  # a sync activity runs as well
        seen.append(activity.info().is_local)
        return a + b

    @workflow.defn
    class Joins:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_local_activity(
                joins, args=["x", "y"], schedule_to_close_timeout=timedelta(seconds=5)
            )

    assert env.run(Joins.run).result() == "xy"
    assert seen == [True]


def test_retries_within_the_threshold_stay_in_the_task(env: DurableEnvironment) -> None:
    mock = env.mock_activity(lookup, outcomes=[ValueError("1"), ValueError("2"), "ok"])
    handle = env.run(local_workflow().run, "k")
    # Backoffs of 1 s and 2 s are below the 1-minute threshold: attempts at 0, 1 and 3 s, one
    # marker (attempt 3), no timer; the code resumes at the completion time.
    assert handle.result() == ["ok", at(seconds=3).isoformat()]
    assert attempt_times(mock) == [at(), at(seconds=1), at(seconds=3)]
    assert [call.attempt for call in mock.calls] == [1, 2, 3]
    assert "TimerStarted" not in kinds(handle.history)
    (marker,) = markers(handle.history)
    assert marker.details["data"]["attempt"] == 3
    assert marker.details["data"]["complete_time_ns"] == T0 + 3 * NS
    # The task completion bears the time the task started; the marker, the activity's end.
    assert handle.history.of_kind(ev.WorkflowTaskCompleted)[0].time_ns == T0
    assert marker.time_ns == T0 + 3 * NS


def test_a_backoff_above_the_threshold_waits_on_a_workflow_timer(
    env: DurableEnvironment,
) -> None:
    mock = env.mock_activity(lookup, outcomes=[ValueError("1"), ValueError("2"), "ok"])
    wf = local_workflow(local_retry_threshold=timedelta(seconds=1))
    handle = env.run(wf.run, "k")
    assert handle.result() == ["ok", at(seconds=3).isoformat()]
    assert attempt_times(mock) == [at(), at(seconds=1), at(seconds=3)]
    # Temporal: the 2 s backoff exceeds the threshold, so attempt 2's failure is recorded in a
    # marker carrying the backoff, a 2 s timer runs, and attempt 3 is a new local activity
    # (new sequence number) keeping the original schedule time.
    assert kinds(handle.history) == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "MarkerRecorded",
        "TimerStarted",
        "TimerFired",
        "WorkflowTaskCompleted",
        "MarkerRecorded",
        "WorkflowExecutionCompleted",
    ]
    first, second = markers(handle.history)
    assert first.details["data"]["attempt"] == 2
    assert first.details["data"]["backoff_ns"] == 2 * NS
    assert first.details["failure"]["type"] == "ValueError"
    assert handle.history.of_kind(ev.TimerStarted)[0].duration_ns == 2 * NS
    assert second.details["data"]["seq"] == 2
    assert second.details["data"]["attempt"] == 3
    assert second.details["data"]["original_schedule_time_ns"] == T0
    assert not Replayer(workflows=[wf]).replay(handle.history).divergences


def test_final_failure(env: DurableEnvironment) -> None:
    env.mock_activity(lookup, raises=ApplicationError("no", type="Nope"))
    wf = local_workflow(retry_policy=RetryPolicy(maximum_attempts=2))
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf.run, "k").result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    assert error.activity_type == "lookup"
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    cause = error.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Nope"
    assert env.now() == at(seconds=1)


def test_start_to_close_timeouts_retry_and_chain(env: DurableEnvironment) -> None:
    env.mock_activity(lookup, outcomes=[HANG, HANG])
    wf = local_workflow(
        start_to_close_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(maximum_attempts=2),
    )
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf.run, "k").result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    final = error.cause
    assert isinstance(final, TimeoutError) and final.type is TimeoutType.START_TO_CLOSE
    previous = final.cause
    assert isinstance(previous, TimeoutError) and previous.type is TimeoutType.START_TO_CLOSE
    # 1 s, a 1 s backoff, 1 s.
    assert env.now() == at(seconds=3)


def test_schedule_to_close_bounds_every_attempt_and_backoff(env: DurableEnvironment) -> None:
    env.mock_activity(lookup, raises=ValueError("down"))
    wf = local_workflow(start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=5))
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf.run, "k").result()
    error = info.value.cause
    assert isinstance(error, ActivityError) and error.retry_state is RetryState.TIMEOUT
    final = error.cause
    assert isinstance(final, TimeoutError) and final.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert isinstance(final.cause, ApplicationError)
    # Attempts at 0, 1 and 3 s; the deadline passes during the 4 s backoff.
    assert env.now() == at(seconds=5)


def test_a_timeout_is_required(env: DurableEnvironment) -> None:
    wf = local_workflow(start_to_close_timeout=None)
    with pytest.raises(WorkflowFailureError) as info:
        env.run(wf.run, "k").result()
    assert isinstance(info.value.cause, InvalidArgumentError)
    assert "needs a start_to_close_timeout or a schedule_to_close_timeout" in str(
        info.value.cause
    )


def test_every_task_replayed_gives_the_same_outcome(make_env: Any) -> None:
    wf = local_workflow(local_retry_threshold=timedelta(seconds=1))
    outcomes = []
    for cache in (True, False):
        env = make_env(replay_every_task=not cache)
        env.mock_activity(lookup, outcomes=[ValueError("1"), ValueError("2"), "ok"])
        handle = env.run(wf.run, "k")
        outcomes.append((handle.result(), [e.kind for e in handle.history]))
    assert outcomes[0] == outcomes[1]


def test_a_crash_while_it_runs_reruns_it(env: DurableEnvironment) -> None:
    mock = env.mock_activity(lookup, outcomes=[Delay(timedelta(seconds=10), "first"), "second"])
    handle = env.start(local_workflow().run, "k")
    env.sleep(timedelta(seconds=5))
    assert env.crash_worker() == 1
    # The running attempt died with the worker; nothing was recorded, so it runs again.
    assert handle.result() == ["second", at(seconds=5).isoformat()]
    assert [call.attempt for call in mock.calls] == [1, 1]
    assert len(markers(handle.history)) == 1


def test_signals_during_the_task_follow_it(env: DurableEnvironment) -> None:
    env.mock_activity(lookup, delay=timedelta(seconds=30), returns="v")

    @workflow.defn
    class Collects:
        def __init__(self) -> None:
            self.notes: list[str] = []

        @workflow.run
        async def run(self) -> list[str]:
            value = await workflow.execute_local_activity(
                lookup, "k", start_to_close_timeout=timedelta(minutes=1)
            )
            self.notes.append(value)
            await workflow.wait_condition(lambda: len(self.notes) > 1)
            return self.notes

        @workflow.signal
        def note(self, text: str) -> None:
            self.notes.append(text)

    handle = env.start(Collects.run)
    env.sleep(timedelta(seconds=10))
    handle.signal(Collects.note, "sig")
    # As Temporal's server buffers events during a workflow task, the signal is delivered
    # after the task that ran the local activity completed.
    assert handle.result() == ["v", "sig"]
    assert kinds(handle.history)[:5] == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "MarkerRecorded",
        "WorkflowExecutionSignaled",
        "WorkflowTaskCompleted",
    ]


def test_cancelled_in_its_own_task_raises_plain_cancelled_error(env: DurableEnvironment) -> None:
    mock = env.mock_activity(lookup, returns="v")

    @workflow.defn
    class CancelsLocal:
        @workflow.run
        async def run(self) -> str:
            task = workflow.start_local_activity(
                lookup, "k", start_to_close_timeout=timedelta(seconds=5)
            )
            await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
            return "completed"

    handle = env.run(CancelsLocal.run)
    assert handle.result() == "cancelled"
    assert mock.call_count == 0
    assert markers(handle.history) == []


def test_replay_catches_a_changed_local_activity(env: DurableEnvironment) -> None:
    handle = env.run(local_workflow().run, "k")
    with pytest.raises(NondeterminismError, match="activity type of recorded marker 'lookup'"):
        Replayer(workflows=[local_workflow(other)]).replay(handle.history)


def test_several_local_activities_resolve_in_recorded_order(env: DurableEnvironment) -> None:
    env.mock_activity(lookup, side_effect=lambda key: key * 2, delay=timedelta(seconds=2))
    env.mock_activity(other, outcomes=[Delay(timedelta(seconds=1), "quick")])

    @workflow.defn
    class Both:
        @workflow.run
        async def run(self) -> list[str]:
            timeout = timedelta(seconds=5)
            slow = workflow.start_local_activity(lookup, "a", start_to_close_timeout=timeout)
            fast = workflow.start_local_activity(other, "b", start_to_close_timeout=timeout)
            done, _ = await asyncio.wait([slow, fast], return_when=asyncio.FIRST_COMPLETED)
            first = "fast" if fast in done else "slow"
            return [first, await slow, await fast]

    handle = env.run(Both.run)
    assert handle.result() == ["fast", "aa", "quick"]
    assert [m.details["data"]["activity_type"] for m in markers(handle.history)] == [
        "other",
        "lookup",
    ]
    assert not Replayer(workflows=[Both]).replay(handle.history).divergences


def test_cancelling_a_running_local_activity_records_it(env: DurableEnvironment) -> None:
    slow = env.mock_activity(lookup, outcomes=[HANG])
    env.mock_activity(other, outcomes=[Delay(timedelta(seconds=1), "quick")])

    @workflow.defn
    class CancelsSlow:
        @workflow.run
        async def run(self) -> str:
            timeout = timedelta(minutes=5)
            hanging = workflow.start_local_activity(lookup, "a", start_to_close_timeout=timeout)
            await workflow.execute_local_activity(other, "b", start_to_close_timeout=timeout)
            hanging.cancel()
            try:
                await hanging
            except ActivityError as err:
                state = err.retry_state.name if err.retry_state else None
                return f"{state} {type(err.cause).__name__}"
            return "completed"

    handle = env.run(CancelsSlow.run)
    assert handle.result() == "CANCEL_REQUESTED CancelledError"
    assert slow.call_count == 1
    assert env.now() == at(seconds=1)  # the hanging attempt was stopped, not waited for
    _, cancelled = markers(handle.history)
    assert cancelled.details["failure"]["class"] == "CancelledError"
    assert not Replayer(workflows=[CancelsSlow]).replay(handle.history).divergences


def test_a_run_that_ends_first_abandons_its_local_activity(env: DurableEnvironment) -> None:
    mock = env.mock_activity(lookup, outcomes=[HANG])

    @workflow.defn
    class Leaves:
        @workflow.run
        async def run(self) -> str:
            workflow.start_local_activity(lookup, "a", start_to_close_timeout=timedelta(hours=1))
            return "left"

    handle = env.run(Leaves.run)
    assert handle.result() == "left"
    assert mock.call_count == 0
    assert markers(handle.history) == []


def test_an_endless_retry_loop_stops_the_test(make_env: Any) -> None:
    from pytest_durable import UnboundedRetryError

    env = make_env(max_unbounded_attempts=5)
    env.mock_activity(lookup, raises=ConnectionError("down"))
    with pytest.raises(UnboundedRetryError, match="local activity 'lookup'"):
        env.run(local_workflow().run, "k")


def test_heartbeat_details_reach_the_next_attempt(env: DurableEnvironment) -> None:
    seen: list[tuple[Any, ...]] = []

    @activity.defn(name="beats")
    async def beats(key: str) -> str:
        seen.append(tuple(activity.info().heartbeat_details))
        activity.heartbeat(f"h{activity.info().attempt}")
        if activity.info().attempt == 1:
            raise ValueError("again")
        return "ok"

    assert env.run(local_workflow(beats).run, "k").result()[0] == "ok"
    assert seen == [(), ("h1",)]


def test_an_unserialisable_result_fails_it(env: DurableEnvironment) -> None:
    @activity.defn(name="unserialisable")
    async def unserialisable(key: str) -> Any:
        return object()

    with pytest.raises(WorkflowFailureError) as info:
        env.run(local_workflow(unserialisable).run, "k").result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    cause = error.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PayloadError"


def test_replay_catches_a_local_activity_where_history_has_another_marker(
    env: DurableEnvironment,
) -> None:
    @workflow.defn(name="Versioned")
    class Old:
        @workflow.run
        async def run(self) -> bool:
            return workflow.patched("v2")

    @workflow.defn(name="Versioned")
    class New:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_local_activity(
                lookup, "k", start_to_close_timeout=timedelta(seconds=1)
            )

    handle = env.run(Old.run)
    with pytest.raises(NondeterminismError):
        Replayer(workflows=[New]).replay(handle.history)
