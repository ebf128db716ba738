"""assert_compensations and assert_attempts: they pass on the right thing and say what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    FaultPlan,
    InvalidArgumentError,
    WorkflowHandle,
)
from pytest_durable.faults import FailAttempt, HangAttempt, LoseCompletion
from pytest_durable.testing import assert_attempts, assert_compensations, attempts_of

from .workflows import Checkout, Saga, charge, refund, release, reserve, ship

PAIRS = {charge: refund, reserve: release}


def run_saga(env: DurableEnvironment, mode: str, *, fail: str = "ship") -> WorkflowHandle:
    for activity in (charge, reserve, ship):
        env.mock_activity(activity, returns="ok", delay=1)
    for compensation in (refund, release):  # declared '-> None': a mock returns None too
        env.mock_activity(compensation, returns=None, delay=1)
    env.mock_activity(fail, raises=ApplicationError("down", type="Down"), delay=1)
    return env.run(Saga.run, "o-1", mode, id="o-1")


def test_a_right_saga_passes(env: DurableEnvironment) -> None:
    handle = run_saga(env, "right")
    assert handle.status == "failed"
    assert_compensations(handle, PAIRS)
    assert_compensations(handle.history, {"charge": "refund", "reserve": "release"})


def test_a_saga_that_failed_early_compensates_only_what_completed(
    env: DurableEnvironment,
) -> None:
    assert_compensations(run_saga(env, "right", fail="reserve"), PAIRS)


def test_compensations_in_forward_order_fail_with_both_sequences(
    env: DurableEnvironment,
) -> None:
    handle = run_saga(env, "forward-order")
    with pytest.raises(AssertionError) as caught:
        assert_compensations(handle, PAIRS)
    assert str(caught.value) == (
        "compensations of workflow 'o-1' (Saga) are wrong\n"
        "  completed steps:        charge (event 5), reserve (event 9)\n"
        "  expected compensations: release, refund\n"
        "  compensations that ran: refund (event 17), release (event 21)\n"
        "  - compensations ran out of order: they must run in reverse order of the steps "
        "(newest first)"
    )


def test_a_compensation_for_a_step_that_never_completed(env: DurableEnvironment) -> None:
    handle = run_saga(env, "undo-unfinished", fail="reserve")
    with pytest.raises(
        AssertionError,
        match=r"- release ran 1 time\(s\), but reserve never "
        r"completed: nothing to compensate",
    ):
        assert_compensations(handle, PAIRS)


def test_a_compensation_that_ran_twice(env: DurableEnvironment) -> None:
    with pytest.raises(
        AssertionError,
        match=r"- refund ran 2 times for 1 completed charge: a "
        r"compensation must run exactly once",
    ):
        assert_compensations(run_saga(env, "refund-twice"), PAIRS)


def test_a_missing_compensation(env: DurableEnvironment) -> None:
    with pytest.raises(
        AssertionError,
        match=r"- reserve completed 1 time\(s\) but release ran "
        r"0 time\(s\): a completed step was not compensated",
    ):
        assert_compensations(run_saga(env, "forget-release"), PAIRS)


def test_a_compensation_that_failed_is_named(env: DurableEnvironment) -> None:
    for activity in (charge, reserve):
        env.mock_activity(activity, returns="ok")
    env.mock_activity(release, returns=None)
    env.mock_activity(ship, raises=ApplicationError("down", type="Down"))
    env.mock_activity(refund, raises=ApplicationError("no", non_retryable=True))
    handle = env.run(Saga.run, "o-1", "right", id="o-1")
    with pytest.raises(
        AssertionError, match=r"- refund \(scheduled at event \d+\) failed at event"
    ):
        assert_compensations(handle, PAIRS)


def test_compensation_pairs_must_be_given(env: DurableEnvironment) -> None:
    handle = run_saga(env, "right")
    with pytest.raises(InvalidArgumentError, match="pairs must map each step"):
        assert_compensations(handle, {})
    with pytest.raises(InvalidArgumentError, match="a compensation must be an activity name"):
        assert_compensations(handle, {charge: print})
    with pytest.raises(InvalidArgumentError, match="expected a workflow handle"):
        assert_compensations("o-1", PAIRS)  # type: ignore[arg-type]


def test_attempts_read_as_one_assertion(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    plan = FaultPlan(
        (
            FailAttempt(activity=charge, error_type="GatewayDown"),
            LoseCompletion(activity=charge, attempt=2),
            HangAttempt(activity=ship),
        )
    )
    handle = env.run(Checkout.run, "o-1", faults=plan)
    assert_attempts(
        handle,
        charge,
        [
            "1 failed[GatewayDown] at +0s",
            "2 timed_out[START_TO_CLOSE] at +11s",
            "3 completed  at +13s",  # spacing is not significant
        ],
    )
    assert_attempts(env, "ship", ["1 timed_out[START_TO_CLOSE] at +23s", "2 completed at +24s"])
    assert [a.attempt for a in attempts_of(handle, charge)] == [1, 2, 3]


def test_attempts_that_differ_are_lined_up(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")
    handle = env.run(
        Checkout.run, "o-1", id="o-1", faults=FaultPlan((FailAttempt(activity=charge),))
    )
    with pytest.raises(AssertionError) as caught:
        assert_attempts(handle, charge, ["1 completed at +0s"])
    assert str(caught.value) == (
        "attempts of activity 'charge' of workflow 'o-1' differ (expected 1, got 2):\n"
        "    expected            | actual\n"
        "  > 1 completed at +0s  | 1 failed[InjectedFault] at +0s   "
        "(ApplicationError: InjectedFault: injected failure)\n"
        "  > -                   | 2 completed at +1s\n"
        "(times are virtual, after the workflow started; copy the actual column if it is right)"
    )


def test_attempts_need_a_list(env: DurableEnvironment) -> None:
    with pytest.raises(InvalidArgumentError, match="expected must be a list of lines"):
        assert_attempts(env, charge, "1 completed at +0s")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="expected a workflow handle or a "):
        assert_attempts(object(), charge, [])  # type: ignore[arg-type]


def test_cancelled_attempts_are_listed(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1", delay=timedelta(seconds=5))
    env.mock_activity(refund, returns=None)
    handle = env.start(Checkout.run, "o-1")
    env.sleep(timedelta(seconds=2))
    handle.cancel()
    assert handle.status == "cancelled"
    assert_attempts(handle, ship, ["1 cancelled at +2s"])
