"""Eviction: a dropped workflow instance closes its coroutines at once, recording nothing.

Temporal's SDK closes an evicted workflow's coroutines deliberately, with the workflow's runtime
torn down. Left to the garbage collector, their ``finally:`` blocks would run at some later
moment inside whatever workflow is running then, and issue commands into its history.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import DurableEnvironment, Replayer, activity, workflow

TIMEOUT = timedelta(seconds=5)

#: What each ``finally:`` block saw: (workflow id it ran under, what it did).
seen: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    seen.clear()


@pytest.fixture
def env(make_env: Callable[..., DurableEnvironment]) -> DurableEnvironment:
    """No deadlock budget: :class:`Collector` forces full collections inside a workflow task,
    which on a loaded machine can take longer than the 2 s budget and fail the task."""
    return make_env(deadlock_timeout=None)


@activity.defn
async def step(name: str) -> str:
    return name


@workflow.defn
class CleanupActivity:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(hours=1))
        finally:
            seen.append((workflow.info().workflow_id, "activity"))
            await workflow.execute_activity(step, "cleanup", start_to_close_timeout=TIMEOUT)
        return "done"


@workflow.defn
class CleanupTimer:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(hours=1))
        finally:
            seen.append((workflow.info().workflow_id, "timer"))
            await workflow.sleep(timedelta(minutes=1))
        return "done"


@workflow.defn
class CleanupCondition:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(hours=1))
        finally:
            seen.append((workflow.info().workflow_id, "condition"))
            self.go = True
            await workflow.wait_condition(lambda: self.go)
        return "done"


@workflow.defn
class Collector:
    """Forces a garbage collection inside a running workflow task: the most awkward point."""

    @workflow.run
    async def run(self) -> str:
        gc.collect()
        await workflow.sleep(timedelta(seconds=1))
        gc.collect()
        return "collected"


CLEANUPS = [CleanupActivity, CleanupTimer, CleanupCondition]


def kinds(env: DurableEnvironment, workflow_id: str) -> list[str]:
    return [e.kind for e in env.get_handle(workflow_id).history]


@pytest.mark.parametrize("wf", CLEANUPS, ids=lambda wf: wf.__name__)
def test_uncached_finally_block_runs_once_live_and_matches_the_cached_run(
    make_env: Callable[..., DurableEnvironment], wf: Any
) -> None:
    cached = make_env(activities=[step])
    uncached = make_env(activities=[step], replay_every_task=True)
    for env in (cached, uncached):
        assert env.run(wf.run, id="w").result() == "done"
    assert kinds(uncached, "w") == kinds(cached, "w")
    assert [e.time for e in uncached.get_handle("w").history] == [
        e.time for e in cached.get_handle("w").history
    ]


def test_uncached_cleanup_activity_runs_once(make_env: Callable[..., DurableEnvironment]) -> None:
    env = make_env(activities=[step], replay_every_task=True)
    env.run(CleanupActivity.run, id="w").result()
    assert kinds(env, "w").count("ActivityTaskScheduled") == 1


@pytest.mark.parametrize("wf", CLEANUPS, ids=lambda wf: wf.__name__)
def test_crash_closes_coroutines_at_once_under_the_evicted_runtime(
    env: DurableEnvironment, wf: Any
) -> None:
    env.mock_activity(step, returns="cleaned")
    handle = env.start(wf.run, id="parked")
    env.sleep(timedelta(minutes=1))
    before = kinds(env, "parked")
    assert env.crash_worker() == 1
    # The finally: block ran now, under the evicted instance itself, and recorded nothing.
    assert seen == [("parked", seen[0][1])]
    assert kinds(env, "parked") == before
    # A garbage collection inside another workflow finds nothing of the evicted run to run.
    assert env.run(Collector.run, id="other").result() == "collected"
    assert kinds(env, "other") == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "TimerStarted",
        "TimerFired",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]
    # The run resumes by replay and its finally: block runs live exactly once more.
    assert handle.result() == "done"
    assert len(seen) == 2 and seen[1][0] == "parked"


def test_gc_between_tasks_of_an_uncached_run_changes_nothing(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(activities=[step], replay_every_task=True, deadlock_timeout=None)
    handle = env.start(CleanupActivity.run, id="w")
    env.sleep(timedelta(minutes=1))
    gc.collect()
    assert env.run(Collector.run, id="other").result() == "collected"
    gc.collect()
    assert handle.result() == "done"
    assert "ActivityTaskScheduled" not in kinds(env, "other")
    assert kinds(env, "w").count("ActivityTaskScheduled") == 1


@workflow.defn
class SideTask:
    """Completes while a side task is parked in a try/finally that runs an activity."""

    @workflow.run
    async def run(self) -> str:
        async def side() -> None:
            try:
                await workflow.sleep(timedelta(days=1))
            finally:
                seen.append((workflow.info().workflow_id, "side"))
                await workflow.execute_activity(step, "side", start_to_close_timeout=TIMEOUT)

        asyncio.get_running_loop().create_task(side())
        await workflow.sleep(timedelta(seconds=1))
        return "main done"


def test_a_closed_run_closes_its_leftover_coroutines(env: DurableEnvironment) -> None:
    env.mock_activity(step, returns="x")
    assert env.run(SideTask.run, id="side").result() == "main done"
    assert seen == [("side", "side")]
    history = kinds(env, "side")
    assert history[-1] == "WorkflowExecutionCompleted"
    assert "ActivityTaskScheduled" not in history
    gc.collect()
    assert env.run(Collector.run, id="other").result() == "collected"
    assert "ActivityTaskScheduled" not in kinds(env, "other")


def test_replaying_an_open_history_leaves_nothing_pending(env: DurableEnvironment) -> None:
    env.mock_activity(step, returns="x")
    handle = env.start(CleanupActivity.run, id="open")
    env.sleep(timedelta(minutes=1))
    seen.clear()
    Replayer(workflows=[CleanupActivity]).replay(handle.history)
    assert seen == [("open", "activity")]
    gc.collect()
    assert env.run(Collector.run, id="other").result() == "collected"
    assert seen == [("open", "activity")]


@workflow.defn
class RaisingCleanup:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        try:
            await workflow.wait_condition(lambda: len(self.signals) >= 2)
        finally:
            seen.append((workflow.info().workflow_id, "raise"))
            if not workflow.info().workflow_id.endswith("-done"):
                raise ValueError("cleanup failed")
        return self.signals

    @workflow.signal
    async def add(self, value: str) -> None:
        try:
            await workflow.sleep(timedelta(hours=1))
            self.signals.append(value)
        finally:
            seen.append((workflow.info().workflow_id, "handler"))
            await asyncio.sleep(0)  # yields: "coroutine ignored GeneratorExit" on eviction


def test_errors_of_evicted_code_do_not_escape(env: DurableEnvironment) -> None:
    handle = env.start(RaisingCleanup.run, id="r")
    handle.signal(RaisingCleanup.add, "a")
    env.settle()
    assert env.crash_worker() == 1
    assert sorted(what for _, what in seen) == ["handler", "raise"]
    assert handle.history.status == "running"
    handle.signal(RaisingCleanup.add, "b")
    env.sleep(timedelta(hours=2))
    assert handle.history.status == "failed"  # live, the finally: raise fails the run
