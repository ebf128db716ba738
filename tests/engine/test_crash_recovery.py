"""Crash recovery: dropping workflow instances at any point and rebuilding them by replay.

A crash must be invisible: the run resumes exactly where it was, and its history (every event,
every time) and result are identical to a run that never crashed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import DurableEnvironment, activity, workflow
from pytest_durable.engine import events as ev

from ._helpers import at

TIMEOUT = timedelta(seconds=30)


@activity.defn
async def step(name: str, n: int) -> str:
    attempt = activity.info().attempt
    await asyncio.sleep(n)
    if n == 2 and attempt == 1:
        raise ValueError("first try of step 2 fails")
    return f"{name}-{n}-a{attempt}"


@workflow.defn
class Leg:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(minutes=10))
        return f"leg {name} {workflow.random().randint(0, 999)}"


@workflow.defn
class Journey:
    def __init__(self) -> None:
        self.approvals: list[list[str]] = []
        self.log: list[Any] = []

    @workflow.run
    async def run(self, name: str) -> dict[str, Any]:
        self.log.append(["start", workflow.now().isoformat(), workflow.random().random()])
        self.log.append(["uuid", str(workflow.uuid4())])
        first = await workflow.execute_activity(step, name, 1, start_to_close_timeout=TIMEOUT)
        await workflow.sleep(timedelta(minutes=5))
        second, third = await asyncio.gather(
            workflow.execute_activity(step, name, 2, start_to_close_timeout=TIMEOUT),
            workflow.execute_activity(step, name, 3, start_to_close_timeout=TIMEOUT),
        )
        if workflow.patched("with-log"):
            self.log.append(["patched", workflow.now().isoformat()])
        try:
            await workflow.wait_condition(lambda: len(self.approvals) >= 1, timeout=1800)
        except TimeoutError:
            self.log.append(["no approval by", workflow.now().isoformat()])
        await workflow.wait_condition(lambda: len(self.approvals) >= 2)
        leg = await workflow.execute_child_workflow(Leg.run, name, id=f"{name}-leg")
        self.log.append(["end", workflow.now().isoformat(), workflow.random().randint(0, 10**6)])
        return {
            "results": [first, second, third, leg],
            "log": self.log,
            "approvals": self.approvals,
        }

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approvals.append([who, workflow.now().isoformat()])

    @workflow.query
    def progress(self) -> int:
        return len(self.log)


# The test's script: (minutes of virtual time to let pass, signal to send afterwards or None).
SCRIPT: list[tuple[int, str | None]] = (
    [(1, None)] * 40 + [(1, "ann")] + [(1, None)] * 5 + [(1, "bob")] + [(1, None)] * 20
)


def drive(
    env: DurableEnvironment, crash: Callable[[int], bool] = lambda i: False
) -> tuple[Any, list[str], list[int]]:
    """Run the script, crashing the worker after step ``i`` whenever ``crash(i)``."""
    handle = env.start(Journey, "trip", id="trip")
    progress = []
    for i, (minutes, signal) in enumerate(SCRIPT):
        if crash(i):
            env.crash_worker()
        env.sleep(timedelta(minutes=minutes))
        if crash(i):
            env.crash_worker()
        if signal is not None and not handle.done:
            handle.signal(Journey.approve, signal)
        progress.append(handle.query(Journey.progress))
    result = handle.result()
    return result, [h.to_json() for h in env.histories()], progress


@pytest.fixture
def baseline(make_env: Callable[..., DurableEnvironment]) -> tuple[Any, list[str], list[int]]:
    return drive(make_env(seed=3))


def test_baseline_does_what_the_script_says(
    baseline: tuple[Any, list[str], list[int]],
) -> None:
    result, histories, _ = baseline
    assert result["results"][:3] == ["trip-1-a1", "trip-2-a2", "trip-3-a1"]
    assert result["approvals"] == [
        ["ann", at(minutes=41).isoformat()],
        ["bob", at(minutes=47).isoformat()],
    ]
    # step 1 takes 1 s, the sleep 5 min; step 2 fails at 2 s, retries 1 s later and takes 2 s.
    assert ["patched", at(minutes=5, seconds=6).isoformat()] in result["log"]
    assert ["no approval by", at(minutes=35, seconds=6).isoformat()] in result["log"]
    assert len(histories) == 2  # the journey and its leg


def test_crash_after_every_step_resumes_exactly(
    make_env: Callable[..., DurableEnvironment], baseline: tuple[Any, list[str], list[int]]
) -> None:
    assert drive(make_env(seed=3), crash=lambda i: True) == baseline


@pytest.mark.parametrize("point", [0, 1, 5, 6, 35, 40, 41, 46, 47, 57, 58])
def test_one_crash_at_each_interesting_point(
    make_env: Callable[..., DurableEnvironment],
    baseline: tuple[Any, list[str], list[int]],
    point: int,
) -> None:
    assert drive(make_env(seed=3), crash=lambda i: i == point) == baseline


def test_without_the_instance_cache_every_task_replays(
    make_env: Callable[..., DurableEnvironment], baseline: tuple[Any, list[str], list[int]]
) -> None:
    assert drive(make_env(seed=3, replay_every_task=True)) == baseline


def test_crash_while_an_activity_is_in_flight(env: DurableEnvironment) -> None:
    calls: list[int] = []

    @activity.defn
    async def slow(n: int) -> int:
        calls.append(n)
        await asyncio.sleep(60)
        return n * 2

    @workflow.defn
    class WaitsForSlow:
        @workflow.run
        async def run(self) -> int:
            value: int = await workflow.execute_activity(
                slow, 21, start_to_close_timeout=timedelta(minutes=5)
            )
            return value

    handle = env.start(WaitsForSlow)
    env.sleep(timedelta(seconds=30))
    assert env.crash_worker() == 1
    assert handle.result() == 42
    assert calls == [21]  # the activity was not run again by the replay
    assert env.now() == at(minutes=1)


def test_crash_one_workflow_only(env: DurableEnvironment) -> None:
    first = env.start(Leg, "a", id="a")
    second = env.start(Leg, "b", id="b")
    assert env.crash_worker("a") == 1
    assert env.crash_worker("a") == 0  # already gone
    assert env.crash_worker() == 1  # only b's was left
    assert first.result().startswith("leg a")
    assert second.result().startswith("leg b")


def test_replayed_tasks_issue_no_new_events(env: DurableEnvironment) -> None:
    handle = env.start(Journey, "trip")
    env.sleep(timedelta(minutes=10))
    before = handle.history
    env.crash_worker()
    assert handle.query(Journey.progress) == 3  # the query rebuilt the instance by replay
    assert handle.history == before
    assert len(before.of_kind(ev.WorkflowTaskCompleted)) >= 3
