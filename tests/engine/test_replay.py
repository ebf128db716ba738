"""Replay: the Replayer, NondeterminismError's content, divergence warnings and strict mode."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_durable import (
    DurableEnvironment,
    History,
    HistoryFormatError,
    InvalidArgumentError,
    NondeterminismError,
    ReplayDivergenceWarning,
    Replayer,
    UnknownWorkflowError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

TIMEOUT = timedelta(seconds=10)


@activity.defn
async def reserve(item: str) -> str:
    return f"reserved {item}"


@activity.defn
async def charge(amount: int) -> str:
    return f"charged {amount}"


@workflow.defn(name="Checkout")
class Checkout:
    @workflow.run
    async def run(self, amount: int) -> list[str]:
        first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
        await workflow.sleep(timedelta(hours=1))
        second = await workflow.execute_activity(charge, amount, start_to_close_timeout=TIMEOUT)
        return [first, second]


def line_of(marker: str) -> int:
    """The line number of the (unique) line of this file that contains ``marker``."""
    lines = Path(__file__).read_text().splitlines()
    (number,) = [
        i
        for i, text in enumerate(lines, start=1)
        if text.endswith(marker) and "line_of" not in text
    ]
    return number


@pytest.fixture
def recorded(env: DurableEnvironment) -> History:
    return env.run(Checkout, 10).history


def test_replay_of_unchanged_code_matches(recorded: History) -> None:
    result = Replayer(workflows=[Checkout]).replay(recorded)
    assert result.history is recorded
    assert result.divergences == ()


def test_replay_from_a_file(recorded: History, tmp_path: Path) -> None:
    path = recorded.save(tmp_path / "golden" / "checkout.json")
    result = Replayer(workflows=[Checkout]).replay(path)
    assert result.history == recorded
    assert Replayer(workflows=[Checkout]).replay(str(path)).history == recorded


def test_replay_all(env: DurableEnvironment) -> None:
    histories = [env.run(Checkout, n).history for n in (1, 2, 3)]
    results = Replayer(workflows=[Checkout]).replay_all(histories)
    assert [r.history for r in results] == histories


def test_changed_activity_type(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class Swapped:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            options = {"start_to_close_timeout": TIMEOUT}
            first = await workflow.execute_activity(charge, amount, **options)  # SWAPPED-LINE
            return [first]

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[Swapped]).replay(recorded)
    error = info.value
    scheduled = recorded.of_kind(ev.ActivityTaskScheduled)[0]
    assert error.event_id == scheduled.event_id == 3
    assert error.expected == "ActivityTaskScheduled(activity_type='reserve')"
    assert error.actual == "ScheduleActivity(activity_type='charge')"
    assert error.location == f"{__file__}:{line_of('# SWAPPED-LINE')}"
    message = str(error)
    assert "nondeterminism at event 3" in message
    assert (
        "activity type of scheduled event 'reserve' does not match activity type of activity "
        "command 'charge'"
    ) in message
    assert "history holds: ActivityTaskScheduled(activity_type='reserve')" in message
    assert "code did now:  ScheduleActivity(activity_type='charge')" in message
    assert f"test_replay.py:{line_of('# SWAPPED-LINE')}" in message
    # A changed command is usually a deliberate edit: the message says how to ship it safely.
    assert 'fix:           if this change is intended' in message
    assert 'guard it with `if workflow.patched("<change-id>"):' in message


def test_timer_where_history_has_an_activity(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class SleepsFirst:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            await workflow.sleep(timedelta(hours=1))  # SLEEPS-FIRST
            return []

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[SleepsFirst]).replay(recorded)
    error = info.value
    assert error.event_id == 3
    assert error.expected == "ActivityTaskScheduled(activity_type='reserve')"
    assert error.actual == "StartTimer(duration=3600s)"
    assert "ActivityTaskScheduled was recorded, but the code issued StartTimer" in str(error)
    assert "workflow.patched(" in str(error)
    assert error.location is not None
    assert error.location.endswith(f":{line_of('# SLEEPS-FIRST')}")


def test_code_issues_a_command_history_does_not_have(env: DurableEnvironment) -> None:
    handle = env.start(Checkout, 10)
    env.sleep(timedelta(minutes=30))  # recorded while the hour-long sleep is still running
    recorded = handle.history
    timer = recorded.of_kind(ev.TimerStarted)[0]
    assert timer.event_id == len(recorded)  # the last task's only command

    @workflow.defn(name="Checkout")
    class SleepThenExtra:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            sleeping = asyncio.ensure_future(workflow.sleep(timedelta(hours=1)))
            await asyncio.sleep(0)  # the timer starts first, as recorded
            workflow.start_activity(charge, amount, start_to_close_timeout=TIMEOUT)  # AFTER-TIMER
            await sleeping
            return [first]

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[SleepThenExtra]).replay(recorded)
    error = info.value
    assert "the code issued a command that history does not have" in str(error)
    assert error.expected == "nothing"
    assert error.actual == "ScheduleActivity(activity_type='charge')"
    assert error.location is not None
    assert error.location.endswith(f":{line_of('# AFTER-TIMER')}")
    assert error.event_id == timer.event_id + 1


def test_closing_differently_is_nondeterministic(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class SleepsAtTheEnd:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            await workflow.sleep(timedelta(hours=1))
            second = await workflow.execute_activity(charge, amount, start_to_close_timeout=TIMEOUT)
            await workflow.sleep(timedelta(minutes=5))  # SLEEPS-AT-THE-END
            return [first, second]

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[SleepsAtTheEnd]).replay(recorded)
    error = info.value
    completed = recorded[-1]
    assert error.event_id == completed.event_id
    assert error.expected == "WorkflowExecutionCompleted"
    assert error.actual == "StartTimer(duration=300s)"
    assert "WorkflowExecutionCompleted was recorded, but the code issued StartTimer" in str(error)
    assert error.location is not None
    assert error.location.endswith(f":{line_of('# SLEEPS-AT-THE-END')}")


def test_history_has_a_command_the_code_no_longer_issues(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class NoSleep:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            second = await workflow.execute_activity(charge, amount, start_to_close_timeout=TIMEOUT)
            return [first, second]

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[NoSleep]).replay(recorded)
    error = info.value
    timer = recorded.of_kind(ev.TimerStarted)[0]
    assert error.event_id != timer.event_id or error.expected.startswith("TimerStarted")
    assert error.expected == "TimerStarted(duration=3600s)"
    assert error.actual == "ScheduleActivity(activity_type='charge')"
    assert error.event_id == timer.event_id
    assert "workflow.patched(" in str(error)


def test_changed_duration_is_a_warning(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class LongerSleep:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            await workflow.sleep(timedelta(hours=2))  # LONGER-SLEEP
            second = await workflow.execute_activity(charge, amount, start_to_close_timeout=TIMEOUT)
            return [first, second]

    timer = recorded.of_kind(ev.TimerStarted)[0]
    with pytest.warns(ReplayDivergenceWarning) as caught:
        result = Replayer(workflows=[LongerSleep]).replay(recorded)
    (warning,) = caught
    text = str(warning.message)
    assert f"replay diverges at event {timer.event_id}" in text
    assert "timer lasts 7200s, history has 3600s" in text
    assert f"test_replay.py:{line_of('# LONGER-SLEEP')}" in text
    assert [(d.event_id, d.message) for d in result.divergences] == [
        (timer.event_id, "timer lasts 7200s, history has 3600s")
    ]

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[LongerSleep], strict=True).replay(recorded)
    assert info.value.event_id == timer.event_id
    assert "timer lasts 7200s, history has 3600s" in str(info.value)


def test_changed_activity_arguments_are_a_warning(env: DurableEnvironment) -> None:
    recorded = env.run(Checkout, 10).history

    @workflow.defn(name="Checkout")
    class Overcharges:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            await workflow.sleep(timedelta(hours=1))
            second = await workflow.execute_activity(
                charge, amount * 100, start_to_close_timeout=TIMEOUT
            )
            return [first, second]

    scheduled = recorded.of_kind(ev.ActivityTaskScheduled)[1]
    with pytest.warns(ReplayDivergenceWarning, match="activity 'charge' is called with"):
        result = Replayer(workflows=[Overcharges]).replay(recorded)
    assert [d.event_id for d in result.divergences] == [scheduled.event_id]
    assert "[1000]" in result.divergences[0].message
    assert "[10]" in result.divergences[0].message
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[Overcharges], strict=True).replay(recorded)
    assert info.value.event_id == scheduled.event_id


def test_unchanged_replay_emits_no_warning(recorded: History) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = Replayer(workflows=[Checkout], strict=True).replay(recorded)
    assert result.divergences == ()


def test_replayer_names_the_workflows_it_has(recorded: History) -> None:
    @workflow.defn
    class Other:
        @workflow.run
        async def run(self) -> None:
            pass

    with pytest.raises(UnknownWorkflowError) as info:
        Replayer(workflows=[Other]).replay(recorded)
    message = str(info.value)
    assert "'Checkout'" in message
    assert "it has: Other" in message


def test_replayer_rejects_what_is_not_a_workflow() -> None:
    with pytest.raises(InvalidArgumentError, match="is not a workflow"):
        Replayer(workflows=[reserve])


def test_replaying_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(HistoryFormatError, match=r"nope\.json: cannot read history file"):
        Replayer(workflows=[Checkout]).replay(missing)


def test_nondeterministic_code_is_caught_between_runs(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    import random

    # Replay's own check, so the determinism guard (which refuses random.random() at the
    # call) is off on both sides.
    env = make_env(determinism_guard=False)

    @workflow.defn
    class CoinFlip:
        @workflow.run
        async def run(self) -> str:
            # Wrong on purpose: the stdlib's global random, not workflow.random().
            if random.random() < 0.5:
                await workflow.sleep(1)
            else:
                await workflow.sleep(2)
            return "done"

    history = env.run(CoinFlip).history
    replayer = Replayer(workflows=[CoinFlip], strict=True, determinism_guard=False)
    outcomes = set()
    for _ in range(40):
        try:
            replayer.replay(history)
            outcomes.add("ok")
        except NondeterminismError:
            outcomes.add("caught")
    assert outcomes == {"ok", "caught"}


def test_replay_checks_workflows_that_failed(env: DurableEnvironment) -> None:
    from pytest_durable import ApplicationError

    @workflow.defn
    class Fails:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(1)
            raise ApplicationError("no")

    history = env.run(Fails).history
    assert isinstance(history[-1], ev.WorkflowExecutionFailed)
    Replayer(workflows=[Fails]).replay(history)


def test_changed_result_is_a_warning(recorded: History) -> None:
    @workflow.defn(name="Checkout")
    class Rounds:
        @workflow.run
        async def run(self, amount: int) -> list[str]:
            first = await workflow.execute_activity(reserve, "book", start_to_close_timeout=TIMEOUT)
            await workflow.sleep(timedelta(hours=1))
            second = await workflow.execute_activity(charge, amount, start_to_close_timeout=TIMEOUT)
            return [first, second.upper()]

    completed = recorded[-1]
    with pytest.warns(ReplayDivergenceWarning, match="the workflow returns"):
        result = Replayer(workflows=[Rounds]).replay(recorded)
    assert [d.event_id for d in result.divergences] == [completed.event_id]
    assert "'CHARGED 10'" in result.divergences[0].message
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[Rounds], strict=True).replay(recorded)
    assert info.value.event_id == completed.event_id


def test_changed_continue_as_new_input_is_a_warning(env: DurableEnvironment) -> None:
    @workflow.defn(name="Loop")
    class Loop:
        @workflow.run
        async def run(self, n: int) -> None:
            await workflow.sleep(1)
            if n < 1:
                workflow.continue_as_new(n + 1)

    @workflow.defn(name="Loop")
    class LoopFaster:
        @workflow.run
        async def run(self, n: int) -> None:
            await workflow.sleep(1)
            if n < 1:
                workflow.continue_as_new(n + 2)

    first_run = env.run(Loop, 0).histories[0]
    with pytest.warns(ReplayDivergenceWarning, match="continue-as-new passes other input"):
        result = Replayer(workflows=[LoopFaster]).replay(first_run)
    continued = first_run.of_kind(ev.WorkflowExecutionContinuedAsNew)
    assert [d.event_id for d in result.divergences] == [continued[0].event_id]
    assert Replayer(workflows=[Loop], strict=True).replay(first_run).divergences == ()


# --- every kind of mismatch Temporal would catch ----------------------------------------------


@workflow.defn(name="Family")
class Family:
    @workflow.run
    async def run(self) -> str:
        workflow.patched("v1")
        kid: str = await workflow.execute_child_workflow(Kid.run, id="kid")
        return kid


@workflow.defn
class Kid:
    @workflow.run
    async def run(self) -> str:
        return "kid"


@workflow.defn
class OtherKid:
    @workflow.run
    async def run(self) -> str:
        return "other"


def test_changed_child_type(env: DurableEnvironment) -> None:
    history = env.run(Family).history

    @workflow.defn(name="Family")
    class Adopts:
        @workflow.run
        async def run(self) -> str:
            workflow.patched("v1")
            kid: str = await workflow.execute_child_workflow(OtherKid.run, id="kid")
            return kid

    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[Adopts]).replay(history)
    initiated = history.of_kind(ev.StartChildWorkflowExecutionInitiated)[0]
    assert info.value.event_id == initiated.event_id
    assert "child workflow type 'OtherKid' does not match the recorded 'Kid'" in str(info.value)
    assert info.value.actual == "StartChildWorkflow(workflow_type='OtherKid')"


def test_changed_patch_id(env: DurableEnvironment) -> None:
    history = env.run(Family).history

    @workflow.defn(name="Family")
    class Renamed:
        @workflow.run
        async def run(self) -> str:
            workflow.patched("v1-renamed")
            kid: str = await workflow.execute_child_workflow(Kid.run, id="kid")
            return kid

    # The recorded marker is not this patch, so the code takes the old branch and issues no
    # marker: the recorded one is left unmatched.
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[Renamed]).replay(history)
    marker = history.of_kind(ev.MarkerRecorded)[0]
    assert info.value.event_id == marker.event_id
    assert info.value.expected == "MarkerRecorded('patch', {'patch_id': 'v1'})"


def test_changed_continue_as_new_target(env: DurableEnvironment) -> None:
    @workflow.defn(name="Relay")
    class Relay:
        @workflow.run
        async def run(self) -> None:
            workflow.continue_as_new(workflow=Kid)

    @workflow.defn(name="Relay")
    class RelayElsewhere:
        @workflow.run
        async def run(self) -> None:
            workflow.continue_as_new(workflow=OtherKid)

    first = env.run(Relay).histories[0]
    with pytest.raises(NondeterminismError, match="continue-as-new targets another workflow"):
        Replayer(workflows=[RelayElsewhere]).replay(first)


def test_cancelling_something_else(env: DurableEnvironment) -> None:
    @workflow.defn(name="Cancels")
    class CancelsFirst:
        @workflow.run
        async def run(self) -> None:
            first = asyncio.ensure_future(workflow.sleep(timedelta(hours=1)))
            second = asyncio.ensure_future(workflow.sleep(timedelta(hours=2)))
            await workflow.sleep(timedelta(minutes=1))
            first.cancel()
            await second

    @workflow.defn(name="Cancels")
    class CancelsSecond:
        @workflow.run
        async def run(self) -> None:
            first = asyncio.ensure_future(workflow.sleep(timedelta(hours=1)))
            second = asyncio.ensure_future(workflow.sleep(timedelta(hours=2)))
            await workflow.sleep(timedelta(minutes=1))
            second.cancel()
            await first

    history = env.run(CancelsFirst).history
    hour, two_hours = (
        e.event_id
        for e in history.of_kind(ev.TimerStarted)
        if isinstance(e, ev.TimerStarted) and e.duration_ns > 60 * 10**9
    )
    canceled = history.of_kind(ev.TimerCanceled)[0]
    assert isinstance(canceled, ev.TimerCanceled) and canceled.started_event_id == hour
    with pytest.raises(NondeterminismError) as info:
        Replayer(workflows=[CancelsSecond]).replay(history)
    assert info.value.event_id == canceled.event_id
    assert f"the code cancels what event {two_hours} started, history cancels event {hour}" in str(
        info.value
    )


def test_history_with_a_command_event_out_of_place(env: DurableEnvironment) -> None:
    history = env.run(Kid).history
    events = list(history)
    # Drop the WorkflowTaskCompleted that the closing command follows.
    broken = History([*events[:1], *[_renumbered(e, 2) for e in events[2:]]])
    with pytest.raises(HistoryFormatError, match="does not follow a WorkflowTaskCompleted"):
        Replayer(workflows=[Kid]).replay(broken)


def _renumbered(event: ev.Event, event_id: int) -> ev.Event:
    import dataclasses

    return dataclasses.replace(event, event_id=event_id)
