"""Restarting the engine from its store: every open run's host state rebuilt from history.

A restart at any point must reach the same end as a run that never restarted: the same result,
no nondeterminism, retries with the same attempt numbers, heartbeat progress kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    InMemoryStore,
    RetryPolicy,
    activity,
    workflow,
)
from pytest_durable.engine import EventsAppended, Notice
from pytest_durable.engine import events as ev
from pytest_durable.engine._restart import task_due

from ._helpers import at

QUICK = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=4)
TIMEOUT = timedelta(minutes=1)

runs_of: dict[str, int] = {}


@activity.defn
async def flaky(name: str) -> str:
    runs_of[name] = runs_of.get(name, 0) + 1
    await asyncio.sleep(1)
    if activity.info().attempt < 3:
        raise ValueError(f"{name}: attempt {activity.info().attempt} fails")
    return f"{name} on attempt {activity.info().attempt}"


@activity.defn
async def count_to(n: int) -> list[int]:
    """Heartbeats its progress; a later attempt resumes from the last details it sees."""
    done = list(activity.info().heartbeat_details[0]) if activity.info().heartbeat_details else []
    while len(done) < n:
        await asyncio.sleep(1)
        done.append(len(done) + 1)
        activity.heartbeat(done)
        if len(done) == 2 and activity.info().attempt == 1:
            raise RuntimeError("crashed at 2")
    return done


@activity.defn
async def pause(seconds: int) -> int:
    await asyncio.sleep(seconds)
    return seconds


@workflow.defn
class Leg:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(minutes=3))
        return f"leg {name}"


@workflow.defn
class Varied:
    def __init__(self) -> None:
        self.ready = False

    @workflow.run
    async def run(self, name: str) -> dict[str, Any]:
        first = await workflow.execute_activity(
            flaky, name, start_to_close_timeout=TIMEOUT, retry_policy=QUICK
        )
        await workflow.sleep(timedelta(minutes=5))
        a, b = await asyncio.gather(
            workflow.execute_activity(pause, 3, start_to_close_timeout=TIMEOUT),
            workflow.execute_activity(pause, 7, start_to_close_timeout=TIMEOUT),
        )
        counted = await workflow.execute_activity(
            count_to,
            4,
            start_to_close_timeout=TIMEOUT,
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=QUICK,
        )
        patched = workflow.patched("v2")
        try:
            await workflow.wait_condition(lambda: self.ready, timeout=timedelta(minutes=2))
            waited = "ready"
        except TimeoutError:
            waited = "timed out"
        leg = await workflow.execute_child_workflow(Leg.run, name, id=f"{name}-leg")
        return {
            "first": first,
            "pauses": [a, b],
            "counted": counted,
            "patched": patched,
            "waited": waited,
            "leg": leg,
            "r": workflow.random().randint(0, 10**6),
        }


def restart_after(env: DurableEnvironment, workflow_id: str, k: int) -> list[int]:
    """Restart the engine once, right after the append that brings the run to event ``k``.

    Returns a list that gets the event id, then the number of runs the restart rebuilt.
    """
    restarted: list[int] = []

    def observe(notice: Notice) -> None:
        assert isinstance(notice, EventsAppended)
        if notice.run[0] == workflow_id and notice.events[-1].event_id >= k and not restarted:
            restarted.append(notice.events[-1].event_id)
            # Not from inside the observer: between two callbacks of the host loop.
            env.loop.call_soon(lambda: restarted.append(env.engine.restart()))

    env.engine.observe(observe, EventsAppended)
    return restarted


def run_varied(env: DurableEnvironment) -> Any:
    return env.run(Varied.run, "trip", id="trip").result()


def test_a_restart_after_any_event_reaches_the_same_end(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    reference_env = make_env(activities=[flaky, count_to, pause])
    expected = run_varied(reference_env)
    assert expected["counted"] == [1, 2, 3, 4]
    length = len(reference_env.get_handle("trip").history)
    assert length > 30
    for k in range(1, length + 1):
        env = make_env(activities=[flaky, count_to, pause])
        restarted = restart_after(env, "trip", k)
        assert run_varied(env) == expected, f"restarted after event {k}"
        assert len(restarted) == 2, f"no restart after event {k}"
        handle = env.get_handle("trip")
        assert handle.history.status == "completed"
        started = [e for e in handle.history if isinstance(e, ev.ActivityTaskStarted)]
        assert sorted(e.attempt for e in started) == [1, 1, 2, 3]


def test_a_retry_backoff_keeps_its_attempt_and_due_time(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    @workflow.defn
    class Once:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(
                flaky, "once", start_to_close_timeout=TIMEOUT, retry_policy=QUICK
            )

    runs_of.clear()
    env = make_env(activities=[flaky])
    handle = env.start(Once.run, id="w")
    env.sleep(timedelta(seconds=5))  # attempt 1 failed at 1 s; attempt 2 is due at 11 s
    store = env.engine.store
    due_ns = int(at(seconds=11).timestamp()) * 1_000_000_000
    assert store.read_progress(("w", handle.run_id)) == {
        "activity/3": {"attempt": 2, "heartbeat_details": [], "retry_due_ns": due_ns}
    }
    assert env.restart_worker() == 1
    assert handle.result() == "once on attempt 3"
    assert runs_of["once"] == 3  # no attempt was lost or repeated
    started = [e for e in handle.history if isinstance(e, ev.ActivityTaskStarted)]
    assert [(e.attempt, e.time) for e in started] == [(3, at(seconds=32))]
    assert store.read_progress(("w", handle.run_id)) == {}  # forgotten once the activity closed


def test_an_attempt_in_flight_is_lost_and_runs_again_with_its_heartbeat_progress(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    @workflow.defn
    class Counts:
        @workflow.run
        async def run(self) -> list[int]:
            return await workflow.execute_activity(
                count_to,
                6,
                start_to_close_timeout=TIMEOUT,
                heartbeat_timeout=timedelta(seconds=5),
                retry_policy=QUICK,
            )

    env = make_env(activities=[count_to])
    handle = env.start(Counts.run, id="w")
    env.sleep(timedelta(seconds=14.5))  # attempt 2 (from 12 s) has counted to 4 by 14 s
    assert env.restart_worker() == 1
    assert handle.result() == [1, 2, 3, 4, 5, 6]
    started = [e for e in handle.history if isinstance(e, ev.ActivityTaskStarted)]
    # The lost attempt 2 ran again from 14.5 s, resuming after 4 from its heartbeat details.
    assert [(e.attempt, e.time) for e in started] == [(2, at(seconds=14.5))]
    assert handle.history[-2].time == at(seconds=16.5)


def test_crash_worker_keeps_the_attempt_in_flight_and_restart_does_not(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    @workflow.defn
    class Pauses:
        @workflow.run
        async def run(self) -> int:
            return await workflow.execute_activity(pause, 10, start_to_close_timeout=TIMEOUT)

    ends = []
    for restart in (False, True):
        env = make_env(activities=[pause])
        handle = env.start(Pauses.run, id="w")
        env.sleep(timedelta(seconds=4))
        if restart:
            env.restart_worker()
        else:
            env.crash_worker()
        assert handle.result() == 10
        ends.append(handle.history[-1].time)
    assert ends == [at(seconds=10), at(seconds=14)]


@workflow.defn
class FailsOnce:
    @workflow.run
    async def run(self) -> int:
        if workflow.info().attempt == 1:
            raise ApplicationError("first run fails")
        return workflow.info().attempt


@workflow.defn
class Parent:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_child_workflow(
            FailsOnce.run,
            id="child",
            retry_policy=RetryPolicy(initial_interval=timedelta(minutes=1)),
        )


def test_a_workflow_retry_backoff_survives_a_restart(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env()
    handle = env.start(Parent.run, id="parent")
    env.sleep(timedelta(seconds=30))
    child = env.get_handle("child")
    assert child.history.status == "failed"
    assert env.restart_worker() == 1  # the parent; the child has no open run, only a backoff
    assert handle.result() == 2
    assert [h[0].time for h in child.histories] == [at(), at(minutes=1)]


def test_the_progress_a_store_keeps() -> None:
    store = InMemoryStore()
    key = ("w", "r")
    assert store.read_progress(key) == {}
    store.save_progress(key, "a", {"attempt": 2})
    store.save_progress(key, "b", 5)
    copy = store.read_progress(key)
    copy.clear()
    assert store.read_progress(key) == {"a": {"attempt": 2}, "b": 5}
    store.save_progress(key, "a", None)
    store.save_progress(key, "missing", None)
    assert store.read_progress(key) == {"b": 5}
    assert store.read_progress(("w", "other")) == {}


def test_task_due_reads_unprocessed_input_events() -> None:
    started = ev.WorkflowExecutionStarted(
        event_id=1,
        time_ns=0,
        workflow_type="W",
        workflow_id="w",
        run_id="r",
        input=[],
        randomness_seed=1,
    )
    task = ev.WorkflowTaskCompleted(event_id=2, time_ns=0)
    timer = ev.TimerStarted(event_id=3, time_ns=0, timer_id="1", duration_ns=1)
    fired = ev.TimerFired(event_id=4, time_ns=1, started_event_id=3)
    assert task_due([started])
    assert not task_due([started, task, timer])
    assert task_due([started, task, timer, fired])
    assert not task_due([])


class ForgetfulStore(InMemoryStore):
    """Keeps histories but no progress: a restart must still work, starting that state afresh."""

    def save_progress(self, key: tuple[str, str], name: str, value: Any) -> None:
        pass


def test_without_progress_a_restart_starts_the_backoffs_afresh(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    @workflow.defn
    class Once:
        @workflow.run
        async def run(self) -> str:
            return await workflow.execute_activity(
                flaky, "fresh", start_to_close_timeout=TIMEOUT, retry_policy=QUICK
            )

    runs_of.clear()
    env = make_env(activities=[flaky], store=ForgetfulStore())
    handle = env.start(Once.run, id="w")
    env.sleep(timedelta(seconds=5))  # attempt 1 failed at 1 s, its retry was due at 11 s
    env.restart_worker()
    assert handle.result() == "fresh on attempt 3"
    assert runs_of["fresh"] == 4  # attempt 1 ran again at 5 s: the attempt number was lost
    parent = make_env(store=ForgetfulStore())
    parent_handle = parent.start(Parent.run, id="parent")
    parent.sleep(timedelta(seconds=30))
    parent.restart_worker()
    assert parent_handle.result() == 2
    # The child's retry backoff was lost too: its second run started at the restart.
    assert parent.get_handle("child").histories[-1][0].time == at(seconds=30)


@workflow.defn
class TwoTimers:
    @workflow.run
    async def run(self) -> str:
        await asyncio.gather(
            workflow.sleep(timedelta(seconds=10)), workflow.sleep(timedelta(seconds=10))
        )
        await workflow.sleep(timedelta(seconds=5))  # open still when the old timers would refire
        return "woke"


def test_results_waiting_for_the_next_task_are_recorded_before_a_restart() -> None:
    # Two timers fire while the host loop is not running: their TimerFired events wait for the
    # run's next task (recorded then, in command order). A restart at that moment must keep
    # them - the server had accepted them - rather than lose them and fire the timers again.
    with DurableEnvironment() as env:
        handle = env.start(TwoTimers.run, id="two-timers")
        env.settle()
        run = env.engine.executions["two-timers"].current
        env.clock.advance_to(env.clock.now_ns() + 10 * 1_000_000_000)
        env.loop.fire_due()
        assert [type(e) for e in run.arrivals] == [ev.TimerFired, ev.TimerFired]
        assert not any(isinstance(e, ev.TimerFired) for e in env.engine.history(run))
        assert env.restart_worker() == 1
        assert handle.result() == "woke"
        fired = [e for e in handle.history.events if isinstance(e, ev.TimerFired)]
        started = [e.event_id for e in handle.history.events if isinstance(e, ev.TimerStarted)]
        assert [e.started_event_id for e in fired] == started
        assert len(fired) == 3
        assert not run.arrivals
