"""workflow.patched: new runs take the new branch and record a marker; old histories replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    InvalidArgumentError,
    NondeterminismError,
    Replayer,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev


@activity.defn
async def old_step() -> str:
    return "old"


@activity.defn
async def new_step() -> str:
    return "new"


TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="Order")
class OrderV1:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(minutes=1))
        result: str = await workflow.execute_activity(old_step, start_to_close_timeout=TIMEOUT)
        return result


@workflow.defn(name="Order")
class OrderV2:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(minutes=1))
        if workflow.patched("use-new-step"):
            result: str = await workflow.execute_activity(new_step, start_to_close_timeout=TIMEOUT)
        else:
            result = await workflow.execute_activity(old_step, start_to_close_timeout=TIMEOUT)
        assert workflow.patched("use-new-step") == (result == "new")  # stable within a run
        return result


def test_new_runs_take_the_new_branch_and_record_a_marker(env: DurableEnvironment) -> None:
    handle = env.run(OrderV2)
    assert handle.result() == "new"
    markers = handle.history.of_kind(ev.MarkerRecorded)
    assert len(markers) == 1  # the second patched() call records nothing more
    (marker,) = markers
    assert isinstance(marker, ev.MarkerRecorded)
    assert marker.marker_name == "patch"
    assert marker.details == {"patch_id": "use-new-step"}
    # The marker is recorded in the same workflow task as the command it guards.
    index = list(handle.history).index(marker)
    assert handle.history[index + 1].kind == "ActivityTaskScheduled"


def test_old_history_replays_on_the_old_branch(env: DurableEnvironment) -> None:
    old = env.run(OrderV1).history
    result = Replayer(workflows=[OrderV2]).replay(old)
    assert result.divergences == ()


def test_new_history_replays_with_the_patch(env: DurableEnvironment) -> None:
    new = env.run(OrderV2).history
    result = Replayer(workflows=[OrderV2], strict=True).replay(new)
    assert result.divergences == ()
    assert result.history is new


def test_new_history_does_not_replay_on_code_without_the_patch(env: DurableEnvironment) -> None:
    new = env.run(OrderV2).history
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[OrderV1]).replay(new)
    marker = new.of_kind(ev.MarkerRecorded)[0]
    assert info.value.event_id == marker.event_id


def test_unpatched_change_is_nondeterministic(env: DurableEnvironment) -> None:
    @workflow.defn(name="Order")
    class OrderUnsafe:
        @workflow.run
        async def run(self) -> str:
            await workflow.sleep(timedelta(minutes=1))
            result: str = await workflow.execute_activity(new_step, start_to_close_timeout=TIMEOUT)
            return result

    old = env.run(OrderV1).history
    with pytest.raises(NondeterminismError, match=r"'old_step'.*'new_step'"):
        Replayer(workflows=[OrderUnsafe]).replay(old)


def test_several_patches_are_independent(env: DurableEnvironment) -> None:
    @workflow.defn
    class TwoPatches:
        @workflow.run
        async def run(self) -> list[bool]:
            first = workflow.patched("a")
            await workflow.sleep(1)
            return [first, workflow.patched("b"), workflow.patched("a")]

    handle = env.run(TwoPatches)
    assert handle.result() == [True, True, True]
    details = [e.details for e in handle.history.of_kind(ev.MarkerRecorded)]
    assert details == [{"patch_id": "a"}, {"patch_id": "b"}]


def test_patch_id_must_be_a_non_empty_string(env: DurableEnvironment) -> None:
    @workflow.defn
    class BadPatch:
        @workflow.run
        async def run(self) -> bool:
            return workflow.patched("")

    with pytest.raises(WorkflowFailureError) as info:
        env.run(BadPatch).result()
    assert isinstance(info.value.cause, InvalidArgumentError)
