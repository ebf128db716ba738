"""Each fault kind through env.run(..., faults=plan): what it does, and that it shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    FaultPlan,
    InvalidArgumentError,
    RetryPolicy,
    UnreachedFaultError,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.engine import events
from pytest_durable.faults import (
    CrashWorker,
    DuplicateDelivery,
    FailAttempt,
    HangAttempt,
    LoseCompletion,
    RequestCancel,
    RunQuery,
    SendSignal,
    SlowAttempt,
)

from .workflows import Approval, Checkout, charge, refund, ship

MakeEnv = Callable[..., DurableEnvironment]


def outcomes(env: DurableEnvironment, activity: str) -> list[tuple[int, str, float]]:
    """(attempt, outcome, seconds after the start) of every attempt of one activity type."""
    return [
        (
            a.attempt,
            a.outcome + (f":{a.timeout_type.name}" if a.timeout_type else ""),
            (a.ended_ns - START_NS) / 1e9,
        )
        for a in env.attempts
        if a.activity_type == activity
    ]


START_NS = 1_893_456_000_000_000_000


def test_fail_attempt_fails_that_attempt_and_the_retry_succeeds(env: DurableEnvironment) -> None:
    charge_mock = env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((FailAttempt(activity=charge),)))
    assert handle.result() == "ch-1/trk-1"
    assert outcomes(env, "charge") == [(1, "failed", 0.0), (2, "completed", 1.0)]
    # The failed attempt never ran the code: only attempt 2 reached the mock.
    assert [call.attempt for call in charge_mock.calls] == [2]
    error = env.attempts[0].error
    assert isinstance(error, ApplicationError) and error.type == "InjectedFault"


def test_a_non_retryable_injected_failure_fails_the_workflow(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    plan = FaultPlan(
        (
            FailAttempt(
                activity=charge, message="declined", error_type="CardDeclined", non_retryable=True
            ),
        )
    )
    handle = env.run(Checkout.run, "o-1", faults=plan)
    with pytest.raises(WorkflowFailureError, match=r"CardDeclined.*declined|declined"):
        handle.result()
    assert isinstance(handle.history[-1], events.WorkflowExecutionFailed)


def test_hang_attempt_times_out_start_to_close(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    ship_mock = env.mock_activity(ship, returns="trk-1")
    env.run(Checkout.run, "o-1", faults=FaultPlan((HangAttempt(activity=ship),)))
    assert outcomes(env, "ship") == [
        (1, "timed_out:START_TO_CLOSE", 10.0),
        (2, "completed", 11.0),
    ]
    assert [call.attempt for call in ship_mock.calls] == [2]


def test_slow_attempt_starts_late_and_can_time_out(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    ship_mock = env.mock_activity(ship, returns="trk-1")
    plan = FaultPlan((SlowAttempt(activity=ship, delay=4), SlowAttempt(activity=charge, delay=60)))
    env.run(Checkout.run, "o-1", faults=plan)
    assert outcomes(env, "charge") == [
        (1, "timed_out:START_TO_CLOSE", 10.0),
        (2, "completed", 11.0),
    ]
    assert outcomes(env, "ship") == [(1, "completed", 15.0)]
    assert ship_mock.calls[0].time_ns - START_NS == 15 * 10**9


def test_lost_completion_runs_the_code_then_times_out_and_retries(
    env: DurableEnvironment,
) -> None:
    charge_mock = env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((LoseCompletion(activity=charge),)))
    assert handle.result() == "ch-1/trk-1"
    # The side effect happened twice: the at-least-once case.
    assert [call.attempt for call in charge_mock.calls] == [1, 2]
    assert outcomes(env, "charge") == [
        (1, "timed_out:START_TO_CLOSE", 10.0),
        (2, "completed", 11.0),
    ]
    started = [e for e in handle.history if isinstance(e, events.ActivityTaskStarted)]
    assert started[0].attempt == 2


def test_lost_completion_of_a_real_function_runs_its_body(make_env: MakeEnv) -> None:
    charged: list[str] = []

    @activity.defn(name="charge")
    async def charging(order_id: str) -> str:
        charged.append(order_id)
        return f"ch-{order_id}"

    env = make_env(activities=[charging])
    env.mock_activity(ship, returns="trk")
    env.run(Checkout.run, "o-9", faults=FaultPlan((LoseCompletion(activity="charge"),)))
    assert charged == ["o-9", "o-9"]


def test_duplicate_delivery_runs_the_code_twice_and_one_completion_counts(
    env: DurableEnvironment,
) -> None:
    charge_mock = env.mock_activity(charge, outcomes=["ch-first", "ch-second"])
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((DuplicateDelivery(activity=charge),)))
    assert [call.attempt for call in charge_mock.calls] == [1, 1]
    assert outcomes(env, "charge") == [(1, "completed", 0.0)]
    completed = [e for e in handle.history if isinstance(e, events.ActivityTaskCompleted)]
    assert len(completed) == 2  # one for charge, one for ship: the duplicate recorded nothing
    assert handle.result() in ("ch-first/trk-1", "ch-second/trk-1")


def test_crash_worker_loses_attempts_in_flight(env: DurableEnvironment) -> None:
    charge_mock = env.mock_activity(charge, returns="ch-1", delay=2)
    env.mock_activity(ship, returns="trk-1")
    # Event 3 schedules charge: the worker dies while the attempt runs.
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((CrashWorker(after_event=3),)))
    assert handle.result() == "ch-1/trk-1"
    assert [call.attempt for call in charge_mock.calls] == [1, 2]
    assert outcomes(env, "charge") == [
        (1, "timed_out:START_TO_CLOSE", 10.0),
        (2, "completed", 13.0),
    ]
    (entry,) = handle.faults
    assert entry.after_event == 3 and entry.detail == "1 attempt(s) in flight lost"


def test_crash_worker_between_tasks_rebuilds_by_replay(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    clean = env.run(Checkout.run, "o-1")
    crashed = env.run(Checkout.run, "o-2", faults=FaultPlan((CrashWorker(after_event=5),)))
    assert crashed.result() == "ch-1/trk-1"
    assert [e.kind for e in crashed.history] == [e.kind for e in clean.history]
    assert crashed.faults[0].detail == ""


def test_a_crash_at_a_virtual_time(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1", delay=5)
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((CrashWorker(at=timedelta(seconds=2)),)))
    assert handle.result() == "ch-1/trk-1"
    assert outcomes(env, "charge")[0] == (1, "timed_out:START_TO_CLOSE", 10.0)


def test_signal_at_a_virtual_time(env: DurableEnvironment) -> None:
    handle = env.run(
        Approval.run, faults=FaultPlan((SendSignal(signal="approve", args=("dana",), at=3600),))
    )
    assert handle.result() == "approved by dana"
    signaled = [e for e in handle.history if isinstance(e, events.WorkflowExecutionSignaled)]
    assert [(e.signal_name, e.time_ns - START_NS) for e in signaled] == [("approve", 3600 * 10**9)]


def test_cancel_after_an_event_runs_the_compensation(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1", delay=5)
    refund_mock = env.mock_activity(refund, returns=None)
    # Event 7 schedules ship.
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((RequestCancel(after_event=7),)))
    assert handle.status == "cancelled"
    assert refund_mock.call_args_list == [("ch-1",)]
    requested = [
        e for e in handle.history if isinstance(e, events.WorkflowExecutionCancelRequested)
    ]
    assert requested[0].event_id == 8 and requested[0].reason == "injected cancellation"


def test_query_after_an_event_keeps_its_answer(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(
        Checkout.run,
        "o-1",
        faults=FaultPlan((RunQuery(query="status", after_event=7), RunQuery(query="nope", at=0))),
    )
    details = [entry.detail for entry in handle.faults]
    assert "answered 'shipping'" in details
    assert any(d.startswith("raised UnknownQueryError") for d in details)


def test_faults_show_in_the_failure_timeline(env: DurableEnvironment) -> None:
    from pytest_durable.fixtures._report import render_timelines

    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(Checkout.run, "o-1", faults=FaultPlan((LoseCompletion(activity=charge),)))
    text = render_timelines(handle.histories, faults=env.fault_log)
    assert "injected faults:\n" in text
    assert (
        "after event 3 (2030-01-01T00:00:00Z): lost completion on attempt 1 of activity 'charge'"
        in text
    )


def test_an_unreached_attempt_is_an_error_naming_what_ran(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    with pytest.raises(UnreachedFaultError) as caught:
        env.run(Checkout.run, "o-1", faults=FaultPlan((HangAttempt(activity=charge, attempt=3),)))
    message = str(caught.value)
    assert (
        "HangAttempt(activity='charge', attempt=3): activity 'charge' ran 1 attempt(s)" in message
    )
    assert "allow_unreached=True" in message


def test_an_unreached_activity_type_lists_the_activities_that_ran(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    with pytest.raises(
        UnreachedFaultError,
        match=r"never ran activity 'refund'; it ran "
        r"charge \(1 attempt\(s\)\), ship \(1 attempt\(s\)\)",
    ):
        env.run(Checkout.run, "o-1", faults=FaultPlan((FailAttempt(activity=refund),)))


def test_an_unreached_event_and_time_name_the_end(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    with pytest.raises(UnreachedFaultError) as caught:
        env.run(
            Checkout.run,
            "o-1",
            id="o-1",
            faults=FaultPlan((CrashWorker(after_event=99), CrashWorker(at=3600))),
        )
    assert "CrashWorker(after_event=99): workflow 'o-1' closed with 11 events" in str(caught.value)
    assert "CrashWorker(at=timedelta(seconds=3600.0)): workflow 'o-1' closed at +0s" in str(
        caught.value
    )


def test_unreached_faults_can_be_allowed(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    plan = FaultPlan((HangAttempt(activity=charge, attempt=5),), allow_unreached=True)
    assert env.run(Checkout.run, "o-1", faults=plan).result() == "ch-1/trk-1"


def test_faults_must_be_a_plan(env: DurableEnvironment) -> None:
    with pytest.raises(InvalidArgumentError, match="faults must be a FaultPlan"):
        env.run(Checkout.run, "o-1", faults=[FailAttempt(activity=charge)])  # type: ignore[arg-type]


def test_an_environment_without_faults_installs_no_hook(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    env.run(Checkout.run, "o-1")
    assert env.engine.attempt_hook is None and env.fault_log == []


def test_a_plan_aims_at_its_own_workflow_only(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    faulty = env.start(
        Checkout.run, "o-1", id="o-1", faults=FaultPlan((HangAttempt(activity=ship),))
    )
    clean = env.start(Checkout.run, "o-2", id="o-2")
    assert clean.result() == "ch-1/trk-1" and faulty.result() == "ch-1/trk-1"
    assert [a.workflow_id for a in env.attempts if a.outcome == "timed_out"] == ["o-1"]


@workflow.defn
class Beating:
    """One activity with a heartbeat timeout shorter than its start-to-close."""

    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(
                "beat",
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
            )
        )


@pytest.mark.parametrize("fault", [HangAttempt, LoseCompletion])
def test_with_a_heartbeat_timeout_the_heartbeat_timeout_decides(
    make_env: MakeEnv, fault: type[HangAttempt] | type[LoseCompletion]
) -> None:
    @activity.defn(name="beat")
    async def beat() -> str:
        activity.heartbeat("working")
        return "done"

    env = make_env(activities=[beat])
    handle = env.run(Beating.run, faults=FaultPlan((fault(activity="beat"),)))
    assert handle.result() == "done"
    assert outcomes(env, "beat") == [(1, "timed_out:HEARTBEAT", 5.0), (2, "completed", 6.0)]
