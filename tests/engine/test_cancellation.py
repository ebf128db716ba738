"""Cancellation: workflows (with compensations), activities, timers, and what history records."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from pytest_durable import (
    ActivityError,
    CancelledError,
    DurableEnvironment,
    RetryState,
    WorkflowFailureError,
    WorkflowNotRunningError,
    activity,
    is_cancelled_exception,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


@activity.defn
async def book(what: str) -> str:
    return f"booked {what}"


@activity.defn
async def unbook(what: str) -> str:
    return f"unbooked {what}"


@workflow.defn
class Trip:
    def __init__(self) -> None:
        self.compensations: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        done: list[str] = []
        try:
            for item in ("flight", "hotel"):
                done.append(
                    await workflow.execute_activity(
                        book, item, start_to_close_timeout=timedelta(seconds=10)
                    )
                )
            await workflow.sleep(timedelta(days=7))  # wait for the trip
            return done
        except asyncio.CancelledError:
            # Saga: undo what was booked, newest first, then accept the cancellation.
            for item in reversed([d.removeprefix("booked ") for d in done]):
                self.compensations.append(
                    await workflow.execute_activity(
                        unbook, item, start_to_close_timeout=timedelta(seconds=10)
                    )
                )
            raise

    @workflow.query
    def undone(self) -> list[str]:
        return self.compensations


def test_workflow_cancellation_runs_compensations(env: DurableEnvironment) -> None:
    unbook_mock = env.mock_activity(unbook, side_effect=lambda what: f"unbooked {what}")
    handle = env.start(Trip)
    env.sleep(timedelta(days=1))
    handle.cancel("changed plans")
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    assert info.value.status == "cancelled"
    assert isinstance(info.value.cause, CancelledError)
    assert handle.status == "cancelled"
    assert unbook_mock.call_args_list == [("hotel",), ("flight",)]
    assert [c.time for c in unbook_mock.calls] == [at(days=1), at(days=1)]
    assert handle.query(Trip.undone) == ["unbooked hotel", "unbooked flight"]
    kinds = [e.kind for e in handle.history]
    assert kinds[-1] == "WorkflowExecutionCanceled"
    assert "TimerCanceled" in kinds
    (requested,) = handle.history.of_kind(ev.WorkflowExecutionCancelRequested)
    assert requested.reason == "changed plans"
    assert requested.time_ns == env.now_ns()


def test_cancel_before_anything_was_booked(env: DurableEnvironment) -> None:
    env.mock_activity(book, delay=timedelta(minutes=5), returns="booked flight")
    unbook_mock = env.mock_activity(unbook, returns="x")
    handle = env.start(Trip)
    env.sleep(timedelta(minutes=1))
    handle.cancel()
    with pytest.raises(WorkflowFailureError):
        handle.result()
    unbook_mock.assert_not_called()
    # The activity in flight was cancelled (Temporal's TRY_CANCEL: the workflow saw ActivityError
    # caused by CancelledError at once and closed as cancelled in the same task, so the request
    # is the last word about the activity: nothing follows the closing event).
    assert handle.status == "cancelled"
    assert handle.history.of_kind(ev.ActivityTaskCancelRequested)
    assert not handle.history.of_kind(ev.ActivityTaskCanceled)
    assert handle.history[-1].kind == "WorkflowExecutionCanceled"
    assert env.now() == at(minutes=1)


def test_workflow_may_swallow_cancellation_and_complete(env: DurableEnvironment) -> None:
    @workflow.defn
    class Stubborn:
        @workflow.run
        async def run(self) -> str:
            try:
                await workflow.sleep(timedelta(days=1))
            except asyncio.CancelledError:
                await workflow.sleep(timedelta(minutes=5))  # may still use timers
                return "cleaned up"
            return "slept"

    handle = env.start(Stubborn)
    handle.cancel()
    assert handle.result() == "cleaned up"
    assert handle.status == "completed"
    assert env.now() == at(minutes=5)


def test_cancel_is_idempotent_and_refused_once_closed(env: DurableEnvironment) -> None:
    handle = env.start(Trip)
    env.mock_activity(unbook, returns="x")
    handle.cancel()
    assert len(handle.history.of_kind(ev.WorkflowExecutionCancelRequested)) == 1
    with pytest.raises(WorkflowNotRunningError, match="already cancelled"):
        handle.cancel()


def test_cancel_before_the_first_workflow_task(env: DurableEnvironment) -> None:
    ran: list[str] = []

    @workflow.defn
    class NeverRuns:
        @workflow.run
        async def run(self) -> None:
            ran.append("body")
            await workflow.sleep(timedelta(hours=1))

    definition = env.register_workflow(NeverRuns)
    env.engine.start_workflow(definition, [], workflow_id="never")
    env.engine.cancel("never")
    handle = env.get_handle("never")
    with pytest.raises(WorkflowFailureError):
        handle.result()
    assert handle.status == "cancelled"
    assert not handle.history.of_kind(ev.TimerStarted)


# --- activity cancellation ---------------------------------------------------------------------


def test_cancelling_an_activity_reaches_an_async_implementation(env: DurableEnvironment) -> None:
    observed: list[str] = []

    @activity.defn
    async def long_job() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            observed.append(f"cancelled at attempt {activity.info().attempt}")
            raise
        return "finished"

    @workflow.defn
    class Cancels:
        @workflow.run
        async def run(self) -> str:
            job = workflow.start_activity(long_job, start_to_close_timeout=timedelta(hours=2))
            await workflow.sleep(timedelta(minutes=1))
            job.cancel()
            try:
                await job
            except ActivityError as err:  # Temporal: ActivityError caused by CancelledError
                assert is_cancelled_exception(err)
                assert err.retry_state is RetryState.CANCEL_REQUESTED
                return "cancelled"
            return "finished"

    handle = env.run(Cancels)
    assert handle.result() == "cancelled"
    assert observed == ["cancelled at attempt 1"]
    (scheduled,) = handle.history.of_kind(ev.ActivityTaskScheduled)
    (requested,) = handle.history.of_kind(ev.ActivityTaskCancelRequested)
    assert requested.scheduled_event_id == scheduled.event_id
    # The workflow returned in the task that cancelled, so nothing follows its closing event.
    assert not handle.history.of_kind(ev.ActivityTaskCanceled)
    assert env.now() == at(minutes=1)


def test_cancelling_an_activity_reaches_a_sync_implementation(env: DurableEnvironment) -> None:
    stopped = threading.Event()

    @activity.defn
    def polling() -> str:
        give_up = time.monotonic() + 10  # bounded: a regression fails the test, not hangs it
        while not activity.is_cancelled() and time.monotonic() < give_up:
            stopped.wait(0.005)
        if activity.is_cancelled():
            stopped.set()
        return "noticed"

    @workflow.defn
    class CancelsSync:
        @workflow.run
        async def run(self) -> str:
            job = workflow.start_activity(polling, start_to_close_timeout=timedelta(hours=2))
            await asyncio.sleep(0)
            await workflow.sleep(timedelta(seconds=0.01))
            job.cancel()
            try:
                await job
            except ActivityError as err:  # Temporal: ActivityError caused by CancelledError
                assert is_cancelled_exception(err)
                assert err.retry_state is RetryState.CANCEL_REQUESTED
                return "cancelled"
            return "finished"

    assert env.run(CancelsSync).result() == "cancelled"
    assert stopped.wait(5)


def test_activity_cancelled_while_waiting_for_a_retry(env: DurableEnvironment) -> None:
    mock = env.mock_activity(book, raises=ValueError("down"))

    @workflow.defn
    class GivesUp:
        @workflow.run
        async def run(self) -> str:
            job = workflow.start_activity(book, "x", start_to_close_timeout=timedelta(seconds=5))
            await workflow.sleep(timedelta(seconds=2))  # attempts at 0 s and 1 s; next at 3 s
            job.cancel()
            await workflow.sleep(timedelta(hours=1))
            return "gave up"

    assert env.run(GivesUp).result() == "gave up"
    assert [c.time for c in mock.calls] == [at(), at(seconds=1)]


def test_activity_scheduled_and_cancelled_in_one_task_never_runs(env: DurableEnvironment) -> None:
    mock = env.mock_activity(book, returns="x")

    @workflow.defn
    class Instant:
        @workflow.run
        async def run(self) -> str:
            job = workflow.start_activity(book, "x", start_to_close_timeout=timedelta(seconds=5))
            job.cancel()
            return "ok"

    handle = env.run(Instant)
    assert handle.result() == "ok"
    mock.assert_not_called()
    assert not handle.history.of_kind(ev.ActivityTaskScheduled)


def test_workflow_cancel_propagates_to_the_awaited_activity(env: DurableEnvironment) -> None:
    mock = env.mock_activity(book, delay=timedelta(hours=1), returns="late")

    @workflow.defn
    class Awaits:
        @workflow.run
        async def run(self) -> str:
            try:
                return str(
                    await workflow.execute_activity(
                        book, "x", start_to_close_timeout=timedelta(hours=2)
                    )
                )
            except ActivityError as err:  # as in Temporal: the cancel reaches the await so
                return f"activity error {err.retry_state}"

    handle = env.start(Awaits)
    env.sleep(timedelta(minutes=10))
    handle.cancel()
    # The workflow caught the cancellation and returned: it completed, as on Temporal.
    assert handle.result() == "activity error RetryState.CANCEL_REQUESTED"
    assert handle.status == "completed"
    assert mock.call_count == 1
    assert handle.history.of_kind(ev.ActivityTaskCancelRequested)
    assert env.now() == at(minutes=10)


def test_uncaught_activity_cancellation_cancels_the_workflow(env: DurableEnvironment) -> None:
    env.mock_activity(book, delay=timedelta(hours=1), returns="late")

    @workflow.defn
    class AwaitsUncaught:
        @workflow.run
        async def run(self) -> str:
            return str(
                await workflow.execute_activity(
                    book, "x", start_to_close_timeout=timedelta(hours=2)
                )
            )

    handle = env.start(AwaitsUncaught)
    handle.cancel()
    with pytest.raises(WorkflowFailureError) as info:
        handle.result()
    assert info.value.status == "cancelled"
    assert handle.status == "cancelled"
    assert handle.history[-1].kind == "WorkflowExecutionCanceled"
