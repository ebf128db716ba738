"""A patch's whole life, as in Temporal: patched -> deprecated -> removed, against recorded files.

Each version of the workflow is a deployment of the same workflow type. Histories recorded by
one version are saved to files and replayed by the next, as a worker rebuilding open runs after
a deploy would replay them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_durable import (
    DurableEnvironment,
    History,
    InvalidArgumentError,
    NondeterminismError,
    QueryError,
    Replayer,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

TIMEOUT = timedelta(seconds=10)
PATCH = "use-new-step"


@activity.defn
async def old_step() -> str:
    return "old"


@activity.defn
async def new_step() -> str:
    return "new"


@workflow.defn(name="Order")
class V1:
    """Before the change."""

    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(old_step, start_to_close_timeout=TIMEOUT)
        return result


@workflow.defn(name="Order")
class V2:
    """The change, guarded: runs recorded by V1 keep the old step."""

    @workflow.run
    async def run(self) -> str:
        if workflow.patched(PATCH):
            result: str = await workflow.execute_activity(
                new_step, start_to_close_timeout=TIMEOUT
            )
        else:
            result = await workflow.execute_activity(old_step, start_to_close_timeout=TIMEOUT)
        return result


@workflow.defn(name="Order")
class V3:
    """Every V1 run has finished: the old branch goes, the patch is deprecated."""

    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch(PATCH)
        workflow.deprecate_patch(PATCH)  # once per run, like patched()
        result: str = await workflow.execute_activity(new_step, start_to_close_timeout=TIMEOUT)
        return result


@workflow.defn(name="Order")
class V4:
    """Every V2 run has finished too: the patch is gone."""

    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity(new_step, start_to_close_timeout=TIMEOUT)
        return result


Record = Callable[[type], History]


@pytest.fixture
def record(make_env: Callable[..., DurableEnvironment], tmp_path: Path) -> Record:
    """Run a version, save its history to a file, and return what the file holds."""

    def record(version: type) -> History:
        history = make_env().run(version, id="order-1").history
        path = history.save(tmp_path / f"{version.__name__}.json")
        return History.load(path)

    return record


def markers(history: History) -> list[dict[str, object]]:
    return [e.details for e in history if isinstance(e, ev.MarkerRecorded)]


def replays(version: type, history: History) -> bool:
    result = Replayer(workflows=[version], strict=True).replay(history)
    return result.divergences == ()


def test_each_version_records_what_temporal_records(record: Record) -> None:
    assert markers(record(V1)) == []
    assert markers(record(V2)) == [{"patch_id": PATCH}]
    assert markers(record(V3)) == [{"patch_id": PATCH, "deprecated": True}]
    assert markers(record(V4)) == []
    for version in (V2, V3, V4):
        (scheduled,) = record(version).of_kind(ev.ActivityTaskScheduled)
        assert isinstance(scheduled, ev.ActivityTaskScheduled)
        assert scheduled.activity_type == "new_step"


def test_patched_replays_the_old_and_the_new_histories(record: Record) -> None:
    assert replays(V2, record(V1))
    assert replays(V2, record(V2))
    # Rolling back from V3 to V2 is safe too: a deprecated marker still means "new path".
    assert replays(V2, record(V3))


def test_deprecated_replays_the_patched_histories(record: Record) -> None:
    assert replays(V3, record(V2))
    assert replays(V3, record(V3))


def test_deprecating_while_old_runs_remain_is_caught(record: Record) -> None:
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[V3]).replay(record(V1))
    assert "'old_step' does not match activity type of activity command 'new_step'" in str(
        info.value
    )


def test_removed_replays_the_deprecated_histories(record: Record) -> None:
    # The deprecated marker is skipped: nothing in V4 asks for it.
    assert replays(V4, record(V3))


def test_removing_a_patch_that_was_never_deprecated_is_caught(record: Record) -> None:
    history = record(V2)
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[V4]).replay(history)
    error = info.value
    (marker,) = history.of_kind(ev.MarkerRecorded)
    assert error.event_id == marker.event_id
    message = str(error)
    assert f"history has the patch marker {PATCH!r}" in message
    assert f"no longer calls workflow.patched({PATCH!r})" in message
    assert f"workflow.deprecate_patch({PATCH!r})" in message  # the fix names the next step


def test_a_trailing_deprecated_marker_is_skipped(env: DurableEnvironment) -> None:
    @workflow.defn(name="Late")
    class LateDeprecated:
        def __init__(self) -> None:
            self.go = False

        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(60)
            workflow.deprecate_patch("late")  # the task's only command
            await workflow.wait_condition(lambda: self.go)
            return "done"

        @workflow.signal
        def proceed(self) -> None:
            self.go = True

    @workflow.defn(name="Late")
    class LateRemoved:
        def __init__(self) -> None:
            self.go = False

        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(60)
            await workflow.wait_condition(lambda: self.go)
            return "done"

        @workflow.signal
        def proceed(self) -> None:
            self.go = True

    handle = env.start(LateDeprecated)
    env.sleep(timedelta(minutes=2))
    handle.signal(LateDeprecated.proceed)
    assert handle.result() == "done"
    history = handle.history
    (marker,) = history.of_kind(ev.MarkerRecorded)
    assert isinstance(history[marker.event_id], ev.WorkflowExecutionSignaled)
    assert replays(LateRemoved, history)


def test_deprecate_patch_checks_its_argument_and_is_not_for_queries(
    env: DurableEnvironment,
) -> None:
    @workflow.defn
    class BadId:
        @workflow.run
        async def run(self) -> None:
            workflow.deprecate_patch("")

    with pytest.raises(Exception, match="patch id must be a non-empty string") as info:
        env.run(BadId).result()
    assert isinstance(info.value.__cause__, InvalidArgumentError)

    @workflow.defn
    class Sneaky:
        @workflow.run
        async def run(self) -> None:
            await workflow.wait_condition(lambda: False)

        @workflow.query
        def sneak(self) -> str:
            workflow.deprecate_patch("in-a-query")
            return "never"

    handle = env.start(Sneaky)
    with pytest.raises(QueryError, match="tried to record a patch marker"):
        handle.query(Sneaky.sneak)


def test_a_deprecated_run_survives_worker_crashes(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(replay_every_task=True)  # every task replays what came before
    handle = env.run(V3)
    assert handle.result() == "new"
    assert markers(handle.history) == [{"patch_id": PATCH, "deprecated": True}]
