"""What the environment offers works on Temporal SDK workflows: fault plans and properties.

Goldens, the failure timeline and the plugin's options on Temporal runs are tested in
``tests/plugin/test_temporal_runs.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError

from pytest_durable import DurableEnvironment, FaultPlan, FaultPlanError
from pytest_durable.faults import (
    CrashWorker,
    FailAttempt,
    LoseCompletion,
    RunQuery,
    SendSignal,
)
from pytest_durable.strategies import fault_plans
from pytest_durable.temporal import Replayer
from pytest_durable.testing import PropertyFailure, check_workflow

from .workflows import ChargeOnce, Checkout, LocalRetries, Order, charge, double, flaky_local


def test_a_fault_plan_aims_at_temporal_activities_signals_and_queries(
    env: DurableEnvironment,
) -> None:
    env.register_activity(charge)
    env.register_activity(double)
    plan = FaultPlan(
        (
            FailAttempt(activity=charge, attempt=1, message="blip"),  # the function works
            LoseCompletion(activity=charge, attempt=3),
            CrashWorker(after_event=5),
            RunQuery(query="current_status", at=timedelta(hours=1)),
            SendSignal(signal="approve", args=("dana",), at=timedelta(hours=2)),
        )
    )
    handle = env.run(Checkout.run, Order("o-1", 21), faults=plan)
    assert handle.result().startswith("tx-o-1-4 approved by dana")  # attempt 3 lost: 4 won
    details = {type(f.fault).__name__: f.detail for f in handle.faults}
    assert details["RunQuery"] == "answered 'awaiting approval'"
    assert [type(f.fault).__name__ for f in handle.faults] == [
        "FailAttempt",
        "LoseCompletion",
        "CrashWorker",
        "RunQuery",
        "SendSignal",
    ]
    assert Replayer(workflows=[Checkout]).replay(handle.history).divergences == ()


def test_fault_plans_draw_temporal_activities_and_check_workflow_runs_temporal_workflows(
    env: DurableEnvironment,
) -> None:
    env.register_activity(charge)
    outcomes: list[str] = []

    def charged_or_failed_on_the_gateway(handle: object) -> None:
        try:
            outcomes.append(handle.result())  # type: ignore[attr-defined]
        except WorkflowFailureError as failure:
            outcomes.append("failed")
            assert "ActivityError" in type(failure.cause).__name__

    check = check_workflow(
        ChargeOnce.run,
        [Order("o-1", 1)],
        plans=fault_plans(activities=[charge], max_attempt=2),
        invariant=charged_or_failed_on_the_gateway,
        env=env,
        max_examples=5,
    )
    assert check.workflow_type == "ChargeOnce"
    assert check.plans == len(outcomes) >= 1
    # charge fails its first two attempts by itself; ChargeOnce allows two: it always fails.
    assert set(check.statuses) == {"failed"}


def test_check_workflow_reports_a_temporal_workflow_breaking_its_property(
    env: DurableEnvironment,
) -> None:
    env.register_activity(flaky_local)

    def succeeds_at_once(handle: object) -> None:
        assert handle.result()[0] == "ok at 1 local=True"  # type: ignore[attr-defined]

    check = check_workflow(
        LocalRetries.run, [1, 5], plans=[FaultPlan(())], invariant=succeeds_at_once, env=env
    )
    assert check.statuses == ("completed",)
    with pytest.raises(PropertyFailure) as caught:
        check_workflow(
            LocalRetries.run, [2, 5], plans=[FaultPlan(())], invariant=succeeds_at_once, env=env
        )
    assert "LocalRetries" in str(caught.value)
    with pytest.raises(FaultPlanError, match="does not have"):
        check_workflow(
            LocalRetries.run,
            [1, 5],
            plans=[FaultPlan((FailAttempt(activity="refund"),))],
            env=env,
        )
