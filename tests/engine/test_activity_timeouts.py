"""Activity timeouts: schedule-to-start, start-to-close, schedule-to-close, heartbeat; deduction."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from pytest_durable import (
    HANG,
    ActivityError,
    ApplicationError,
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


def activity_failure(handle: Any) -> tuple[ActivityError, BaseException]:
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    error = info.value.cause
    assert isinstance(error, ActivityError)
    return error, innermost(error)


def scheduled(handle: Any) -> ev.ActivityTaskScheduled:
    (event,) = handle.history.of_kind(ev.ActivityTaskScheduled)
    assert isinstance(event, ev.ActivityTaskScheduled)
    return event


# --- schedule-to-start ---------------------------------------------------------------------------


def test_schedule_to_start_times_out_while_no_worker_picks_up(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, returns="never")
    env.pause_activity_worker()
    wf = activity_workflow(work, "x", schedule_to_start_timeout=timedelta(seconds=2))
    handle = env.run(wf)
    error, cause = activity_failure(handle)
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_START
    # Only START_TO_CLOSE and HEARTBEAT timeouts are retried.
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert mock.calls == []
    assert env.now() == at(seconds=2)
    # The attempt never started, so history has no ActivityTaskStarted for it.
    kinds = [e.kind for e in handle.history]
    assert "ActivityTaskStarted" not in kinds
    (timed_out,) = handle.history.of_kind(ev.ActivityTaskTimedOut)
    assert timed_out.time_ns == env.now_ns()


def test_queued_activity_runs_when_the_worker_resumes(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, returns="ok")
    env.pause_activity_worker()
    wf = activity_workflow(work, "x", schedule_to_start_timeout=timedelta(minutes=5))
    handle = env.start(wf)
    env.sleep(timedelta(minutes=3))
    assert mock.calls == []
    assert handle.status == "running"
    env.resume_activity_worker()
    assert handle.result() == "ok"
    assert attempt_times(mock) == [at(minutes=3)]
    (started,) = handle.history.of_kind(ev.ActivityTaskStarted)
    assert started.time_ns == scheduled(handle).time_ns + 3 * 60 * 10**9


def test_schedule_to_close_passes_while_queued(env: DurableEnvironment) -> None:
    env.mock_activity(work, returns="never")
    env.pause_activity_worker()
    wf = activity_workflow(
        work, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=10)
    )
    handle = env.run(wf)
    error, cause = activity_failure(handle)
    assert error.retry_state is RetryState.TIMEOUT
    assert isinstance(cause, TimeoutError)
    # schedule-to-start was deduced from schedule-to-close (10 s): both are due at once, and the
    # whole-activity deadline is what is reported.
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert env.now() == at(seconds=10)
    assert not handle.history.of_kind(ev.ActivityTaskStarted)


# --- start-to-close ------------------------------------------------------------------------------


def test_start_to_close_is_per_attempt(env: DurableEnvironment) -> None:
    # Each attempt takes 8 s of its 10 s budget, and the third succeeds: 24 s of work in all.
    mock = env.mock_activity(
        work,
        outcomes=[ValueError(), ValueError(), "ok"],
        delay=timedelta(seconds=8),
    )
    wf = activity_workflow(work, "x", start_to_close_timeout=timedelta(seconds=10))
    assert env.run(wf).result() == "ok"
    assert attempt_times(mock) == [at(), at(seconds=9), at(seconds=19)]
    assert env.now() == at(seconds=27)


def test_start_to_close_then_deadline_leaves_no_room(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[HANG])
    wf = activity_workflow(
        work,
        "x",
        start_to_close_timeout=timedelta(seconds=1),
        schedule_to_close_timeout=timedelta(milliseconds=1500),
    )
    handle = env.run(wf)
    error, cause = activity_failure(handle)
    # The attempt timed out at 1 s; a retry at 2 s would pass the 1.5 s deadline. Temporal then
    # reports the schedule-to-close timeout (measured on temporalio 1.35), not the attempt's.
    assert error.retry_state is RetryState.TIMEOUT
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    assert attempt_times(mock) == [at()]
    assert env.now() == at(seconds=1)


def test_schedule_to_close_during_a_retried_attempt(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[ValueError(), HANG])
    wf = activity_workflow(
        work, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=5)
    )
    handle = env.run(wf)
    error, _ = activity_failure(handle)
    assert error.retry_state is RetryState.TIMEOUT
    cause = error.cause
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.SCHEDULE_TO_CLOSE
    # As on Temporal, the timeout carries the failure of the attempt before it as its cause.
    previous = cause.cause
    assert isinstance(previous, ApplicationError) and previous.type == "ValueError"
    assert attempt_times(mock) == [at(), at(seconds=1)]
    assert env.now() == at(seconds=5)
    # History names the attempt that was running and when it really started.
    (started,) = handle.history.of_kind(ev.ActivityTaskStarted)
    assert started.attempt == 2
    assert started.time_ns == scheduled(handle).time_ns + 10**9


# --- deduction -----------------------------------------------------------------------------------


def test_unset_timeouts_default_to_schedule_to_close(env: DurableEnvironment) -> None:
    env.mock_activity(work, returns="ok")
    wf = activity_workflow(
        work, "x", start_to_close_timeout=None, schedule_to_close_timeout=timedelta(seconds=40)
    )
    handle = env.run(wf)
    event = scheduled(handle)
    assert event.schedule_to_close_timeout_ns == 40 * 10**9
    assert event.start_to_close_timeout_ns == 40 * 10**9
    assert event.schedule_to_start_timeout_ns == 40 * 10**9
    assert event.heartbeat_timeout_ns is None


def test_set_timeouts_are_capped_by_schedule_to_close(env: DurableEnvironment) -> None:
    env.mock_activity(work, returns="ok")
    wf = activity_workflow(
        work,
        "x",
        schedule_to_close_timeout=timedelta(seconds=40),
        start_to_close_timeout=timedelta(minutes=5),
        schedule_to_start_timeout=timedelta(minutes=5),
        heartbeat_timeout=timedelta(minutes=5),
    )
    event = scheduled(env.run(wf))
    assert event.start_to_close_timeout_ns == 40 * 10**9
    assert event.schedule_to_start_timeout_ns == 40 * 10**9
    assert event.heartbeat_timeout_ns == 40 * 10**9


def test_smaller_timeouts_are_kept(env: DurableEnvironment) -> None:
    env.mock_activity(work, returns="ok")
    wf = activity_workflow(
        work,
        "x",
        schedule_to_close_timeout=timedelta(seconds=40),
        start_to_close_timeout=timedelta(seconds=5),
        schedule_to_start_timeout=timedelta(seconds=3),
        heartbeat_timeout=timedelta(seconds=2),
    )
    event = scheduled(env.run(wf))
    assert event.start_to_close_timeout_ns == 5 * 10**9
    assert event.schedule_to_start_timeout_ns == 3 * 10**9
    assert event.heartbeat_timeout_ns == 2 * 10**9


def test_without_schedule_to_close_nothing_is_deduced(env: DurableEnvironment) -> None:
    env.mock_activity(work, returns="ok")
    event = scheduled(env.run(activity_workflow(work, "x")))
    assert event.start_to_close_timeout_ns == 30 * 10**9
    assert event.schedule_to_close_timeout_ns is None
    assert event.schedule_to_start_timeout_ns is None


# --- heartbeats ----------------------------------------------------------------------------------


def test_heartbeat_details_reach_the_next_attempt(env: DurableEnvironment) -> None:
    seen: list[tuple[int, tuple[Any, ...]]] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        info = activity.info()
        seen.append((info.attempt, tuple(info.heartbeat_details)))
        if info.attempt == 1:
            activity.heartbeat(10, {"cursor": "a"})
            await asyncio.sleep(100)  # stalls: the heartbeat timeout ends it
        if info.attempt == 2:
            activity.heartbeat(20)
            raise ValueError("fails after heartbeating")
        return "done"

    wf = activity_workflow(real, "x", heartbeat_timeout=timedelta(seconds=3))
    assert env.run(wf).result() == "done"
    assert seen == [(1, ()), (2, (10, {"cursor": "a"})), (3, (20,))]


def test_heartbeat_details_reach_a_mocked_next_attempt(env: DurableEnvironment) -> None:
    @activity.defn(name="work")
    async def first(item: str) -> str:
        activity.heartbeat("p1")
        raise ValueError("once")

    wf = activity_workflow(first, "x")
    handle = env.start(wf)
    # Swap in a mock for the retry, which is due after 1 s of backoff.
    mock = env.mock_activity(work, returns="ok")
    assert handle.result() == "ok"
    assert mock.calls[0].heartbeat_details == ("p1",)
    assert mock.calls[0].attempt == 2
    assert mock.calls[0].time == at(seconds=1)


def test_heartbeats_keep_a_long_activity_alive(env: DurableEnvironment) -> None:
    @activity.defn(name="work")
    async def steady(item: str) -> str:
        for step in range(10):
            await asyncio.sleep(1.5)
            activity.heartbeat(step)
        return "finished"

    wf = activity_workflow(
        steady,
        "x",
        start_to_close_timeout=timedelta(minutes=1),
        heartbeat_timeout=timedelta(seconds=2),
        retry_policy=RetryPolicy(maximum_attempts=1),
    )
    assert env.run(wf).result() == "finished"
    assert env.now() == at(seconds=15)


def test_heartbeat_timeout_details_are_on_the_error(env: DurableEnvironment) -> None:
    @activity.defn(name="work")
    def stalls(item: str) -> str:
        activity.heartbeat("from-a-thread")
        give_up = time.monotonic() + 10  # bounded: a regression fails the test, not hangs it
        while not activity.is_cancelled() and time.monotonic() < give_up:
            time.sleep(0.005)
        return "cancelled"

    wf = activity_workflow(
        stalls,
        "x",
        heartbeat_timeout=timedelta(milliseconds=50),
        retry_policy=RetryPolicy(maximum_attempts=1),
    )
    error, cause = activity_failure(env.run(wf))
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, TimeoutError)
    assert cause.type is TimeoutType.HEARTBEAT
    assert list(cause.last_heartbeat_details) == ["from-a-thread"]


# --- activity.info() and real work ---------------------------------------------------------------


def test_activity_info_describes_the_attempt(env: DurableEnvironment) -> None:
    infos: list[activity.ActivityInfo] = []

    @activity.defn(name="work")
    async def real(item: str) -> str:
        infos.append(activity.info())
        if len(infos) == 1:
            raise ValueError("retry me")
        return "ok"

    @workflow.defn
    class Describe:
        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(timedelta(minutes=1))
            return await workflow.execute_activity(
                real,
                "x",
                activity_id="my-activity",
                schedule_to_close_timeout=timedelta(hours=1),
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=10),
            )

    handle = env.run(Describe, id="describe-1")
    assert handle.result() == "ok"
    first, second = infos
    assert second.activity_id == "my-activity"
    assert second.activity_type == "work"
    assert second.attempt == 2
    assert second.workflow_id == "describe-1"
    assert second.workflow_run_id == handle.run_id
    assert second.workflow_type == "Describe"
    assert second.scheduled_time == at(minutes=1)
    assert second.current_attempt_scheduled_time == at(minutes=1, seconds=1)
    assert second.started_time == at(minutes=1, seconds=1)
    assert second.schedule_to_close_timeout == timedelta(hours=1)
    assert second.start_to_close_timeout == timedelta(seconds=30)
    assert second.heartbeat_timeout == timedelta(seconds=10)
    assert first.attempt == 1
    assert first.started_time == at(minutes=1)


def test_real_work_in_a_thread_is_not_timed_out_by_a_skip(env: DurableEnvironment) -> None:
    @activity.defn(name="work")
    def blocking(item: str) -> str:
        time.sleep(0.2)  # real time; virtual time must flow with it, not jump past 1 s
        return "ok"

    @workflow.defn
    class Race:
        @workflow.run
        async def run(self) -> list[str]:
            order: list[str] = []

            async def call() -> None:
                await workflow.execute_activity(
                    blocking,
                    "x",
                    start_to_close_timeout=timedelta(seconds=1),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
                order.append("activity")

            async def timer() -> None:
                await workflow.sleep(timedelta(hours=1))
                order.append("timer")

            await asyncio.gather(call(), timer())
            return order

    assert env.run(Race).result() == ["activity", "timer"]
    assert env.now() == at(hours=1)


def test_times_are_exact_after_many_backoffs(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[ValueError()] * 3 + ["ok"])
    wf = activity_workflow(
        work, "x", retry_policy=RetryPolicy(initial_interval=timedelta(microseconds=1))
    )
    env.run(wf).result()
    assert [c.time_ns - mock.calls[0].time_ns for c in mock.calls] == [0, 1_000, 3_000, 7_000]


def test_scheduled_time_is_the_first_schedule(env: DurableEnvironment) -> None:
    mock = env.mock_activity(work, outcomes=[ValueError(), ValueError(), "ok"])
    env.run(activity_workflow(work, "x")).result()
    assert [c.time for c in mock.calls] == [at(), at(seconds=1), at(seconds=3)]
    assert isinstance(mock.calls[0].time, datetime)
