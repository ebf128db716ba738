"""check_workflow: plans one by one, replay, invariants, reproducers, and bad input."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from pytest_durable import (
    DurableEnvironment,
    FaultPlanError,
    InvalidArgumentError,
    activity,
    workflow,
)
from pytest_durable.faults import FailAttempt, FaultPlan, HangAttempt, SendSignal
from pytest_durable.strategies import fault_plans
from pytest_durable.testing import InvariantError, PropertyFailure, check_workflow


@activity.defn
async def step(n: int) -> int:
    return n + 1


@workflow.defn
class Steps:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(step, n, start_to_close_timeout=timedelta(seconds=5))


@workflow.defn
class WaitsForever:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> str:
        while True:  # a timer loop that never ends unless released
            await workflow.sleep(timedelta(hours=1))
            if self.go:
                return "released"


@workflow.defn
class ReadsTheHostRandom:
    @workflow.run
    async def run(self) -> int:
        if random.random() < 2:  # different on every run, so replay takes another path
            await workflow.sleep(timedelta(seconds=random.randint(1, 10**9)))
        return 1


def test_each_plan_runs_in_a_fresh_environment_and_the_report_counts_them() -> None:
    plans = [FaultPlan(), FaultPlan((FailAttempt(activity=step, attempt=1),))]
    report = check_workflow(Steps.run, [1], plans=plans, invariant=lambda h: None)
    assert (report.plans, report.statuses) == (2, ("completed", "completed"))
    assert "2 plans" in repr(report)


def test_a_template_environment_is_copied_with_its_mocks() -> None:
    with DurableEnvironment(seed=7) as env:
        env.mock_activity(step, returns=41)
        seen: list[int] = []
        check_workflow(
            Steps, [1], plans=FaultPlan(), env=env, invariant=lambda h: seen.append(h.result())
        )
    assert seen == [41]


def test_a_broken_invariant_is_a_property_failure_with_the_reproducer() -> None:
    plan = FaultPlan((FailAttempt(activity="step", attempt=1, non_retryable=True),))

    def completes(handle: Any) -> None:
        assert handle.status == "completed", "the order did not complete"

    with pytest.raises(PropertyFailure) as failure:
        check_workflow(Steps.run, [1], plans=plan, invariant=completes)
    message = str(failure.value)
    assert failure.value.plan == plan
    assert "invariant" in message and "the order did not complete" in message
    assert "environment seed 0" in message
    assert f"plan = {plan!r}" in message
    assert FaultPlan.from_json(message.split("FaultPlan.from_json):\n", 1)[1]) == plan


def test_an_invariant_raising_something_else_is_reported_as_such() -> None:
    def buggy(handle: Any) -> None:
        raise KeyError("total")

    with pytest.raises(InvariantError, match=r"raised KeyError: 'total' under FaultPlan\(\)"):
        check_workflow(Steps.run, [1], plans=[FaultPlan()], invariant=buggy)


def test_a_workflow_that_never_ends_under_a_plan_is_named_not_a_hang() -> None:
    with DurableEnvironment(max_drive_time=timedelta(days=2)) as env:
        plan = FaultPlan((SendSignal(signal="release", at=timedelta(days=30)),))
        with pytest.raises(PropertyFailure, match="never ends under this plan") as failure:
            check_workflow(WaitsForever.run, plans=plan, env=env)
    assert "RunawayWorkflowError" in str(failure.value) and "release" in str(failure.value)


def test_a_history_that_does_not_replay_is_a_property_failure() -> None:
    # Replay's own check: the determinism guard, which refuses random.random() at the call, is
    # off in the template environment (and so in each fresh copy).
    with (
        DurableEnvironment(determinism_guard=False) as env,
        pytest.raises(PropertyFailure, match="does not replay: NondeterminismError"),
    ):
        check_workflow(ReadsTheHostRandom.run, plans=[FaultPlan()], env=env)


def test_a_call_the_determinism_guard_refuses_is_a_property_failure() -> None:
    # A failed run can be a plan's legitimate outcome; a refused call never is.
    with pytest.raises(PropertyFailure, match="its code is not deterministic") as failure:
        check_workflow(ReadsTheHostRandom.run, plans=[FaultPlan()])
    assert "called random.random() at tests/properties/test_check_workflow.py:" in str(
        failure.value
    )


def test_an_activity_type_the_workflow_does_not_have_is_a_clear_error() -> None:
    with pytest.raises(FaultPlanError, match="activity type 'stpe', which workflow Steps does"):
        check_workflow(
            Steps.run, [1], plans=fault_plans(activities=["stpe"], max_faults=1), max_examples=5
        )


def test_a_failure_other_than_the_invariant_is_reported_with_the_plan() -> None:
    with pytest.raises(PropertyFailure, match="running it raised"):
        check_workflow(Steps.run, ["not", "one"], plans=[FaultPlan()])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plans": 3}, "plans must be a FaultPlan, an iterable"),
        ({"plans": [3]}, "plans must hold FaultPlan values"),
        ({"plans": FaultPlan(), "env": 3}, "env must be a DurableEnvironment"),
        ({"plans": FaultPlan(), "env": lambda: 3}, r"env\(\) must return a DurableEnvironment"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        check_workflow(Steps.run, [1], **kwargs)


def test_something_that_is_not_a_workflow_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="is not a workflow"):
        check_workflow(step, [1], plans=FaultPlan())


def test_a_hung_attempt_is_retried_and_the_run_completes() -> None:
    report = check_workflow(
        Steps.run,
        [1],
        plans=[FaultPlan((HangAttempt(activity=step, attempt=1),))],
        invariant=lambda h: None,
    )
    assert report.statuses == ("completed",)


def test_a_failure_is_saved_and_tried_first_by_the_next_check_of_the_same_workflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hypothesis.core
    from hypothesis import settings
    from hypothesis.database import InMemoryExampleDatabase

    # A --hypothesis-seed given to an earlier in-process pytest run (the plugin tests' pytester)
    # stays forced for the rest of the process, and Hypothesis uses no example database under a
    # forced seed: this test needs the state of a fresh run.
    monkeypatch.setattr(hypothesis.core, "global_force_seed", None)

    def reaches_at_most_attempt_2(handle: Any) -> None:
        started = [e for e in handle.history.events if e.kind == "ActivityTaskStarted"]
        assert started[-1].attempt <= 2, f"step ran on attempt {started[-1].attempt}"

    def check(tried: list[FaultPlan], workflow_id: str) -> FaultPlan:
        plans = fault_plans(activities=[step], kinds=[FailAttempt], max_attempt=3).map(
            lambda plan: tried.append(plan) or plan
        )
        with pytest.raises(PropertyFailure) as failure:
            check_workflow(
                Steps.run, [1], plans=plans, invariant=reaches_at_most_attempt_2, id=workflow_id
            )
        return failure.value.plan  # type: ignore[no-any-return]

    database = InMemoryExampleDatabase()
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "saved-failures", settings.get_profile(previous), database=database, derandomize=False
    )
    settings.load_profile("saved-failures")
    try:
        minimal = FaultPlan(
            (FailAttempt(activity="step", attempt=1), FailAttempt(activity="step", attempt=2)),
            allow_unreached=True,
        )
        first: list[FaultPlan] = []
        assert check(first, "o-1") == minimal and first[0] != minimal
        again: list[FaultPlan] = []
        assert check(again, "o-1") == minimal
        assert again[0] == minimal and len(again) < len(first)
        # The failure is kept per workflow type and id: another id searches afresh.
        other: list[FaultPlan] = []
        assert check(other, "o-2") == minimal and other[0] != minimal
    finally:
        settings.load_profile(previous)
