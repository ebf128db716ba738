"""Crash exploration of a Temporal SDK workflow replays it in temporalio's own runtime."""

from __future__ import annotations

from pytest_durable import DurableEnvironment

from .workflows import ChargeOnce, Order, charge


def test_explore_crashes_replays_a_temporal_workflow_in_its_own_runtime(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(charge, returns="tx-1")
    result = env.explore_crashes(ChargeOnce.run, Order("o-1", 5), id="o-1")
    assert (result.status, result.outcome) == ("completed", '"tx-1"')
    assert [(p.after_event, p.kind) for p in result.points] == [
        (1, "WorkflowExecutionStarted"),
        (3, "ActivityTaskScheduled"),
        (5, "ActivityTaskCompleted"),
    ]
