"""env.explore_crashes: every crash point from a fresh state, compared with the clean run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import fakeredis
import pytest

from pytest_durable import (
    CrashPointError,
    DurableEnvironment,
    ExplorationCheckError,
    RetryPolicy,
    WorkflowHandle,
    activity,
    workflow,
)
from pytest_durable.faults import CrashWorker
from pytest_durable.testing import EffectLedger

from .workflows import Checkout, charge, ship

LEDGER = EffectLedger(fakeredis.FakeRedis(server=fakeredis.FakeServer()), namespace="explore")


@activity.defn(name="pay")
async def pay_without_key(order_id: str, amount: int) -> str:
    LEDGER.record("charge", order_id, amount=amount)
    return f"paid-{order_id}"


@activity.defn(name="pay")
async def pay_with_key(order_id: str, amount: int) -> str:
    LEDGER.apply_once("charge", order_id, amount=amount)  # the provider dedups on the key
    return f"paid-{order_id}"


@workflow.defn
class Pay:
    @workflow.run
    async def run(self, order_id: str) -> str:
        receipt = await workflow.execute_activity(
            "pay",
            order_id,
            100,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        await workflow.sleep(timedelta(hours=1))
        return str(receipt)


@pytest.fixture(autouse=True)
def clean_ledger() -> Iterator[None]:
    LEDGER.clear()
    yield
    LEDGER.clear()


def charged_once(run: WorkflowHandle) -> None:
    LEDGER.assert_applied_once("charge")


def test_a_sound_workflow_survives_every_crash_point(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1", delay=1)
    env.mock_activity(ship, returns="trk-1", delay=1)
    result = env.explore_crashes(Checkout.run, "o-1", id="o-1")
    assert [(p.after_event, p.kind) for p in result.points] == [
        (1, "WorkflowExecutionStarted"),
        (3, "ActivityTaskScheduled"),
        (5, "ActivityTaskCompleted"),
        (7, "ActivityTaskScheduled"),
        (9, "ActivityTaskCompleted"),
    ]
    assert result.points[0].location is None
    assert result.points[1].location is not None
    assert result.points[1].location.startswith("tests/faults/workflows.py:")
    assert result.points[1].location.endswith(" in run")
    assert (result.status, result.outcome, result.runs) == ("completed", '"ch-1/trk-1"', 6)
    assert "5 crash points explored" in repr(result)
    # The environment itself is untouched: every run happened in a fresh copy.
    assert env.histories() == [] and env.mocks["charge"].calls == []


def test_a_payment_without_an_idempotency_key_is_caught(env: DurableEnvironment) -> None:
    env.register_activity(pay_without_key)
    with pytest.raises(CrashPointError) as caught:
        env.explore_crashes(
            Pay.run, "o-1", id="o-1", check=charged_once, setup=lambda _: LEDGER.clear()
        )
    message = str(caught.value)
    assert message.startswith(
        "crash exploration of workflow 'o-1' (Pay): 1 of 5 crash points fail\n\n"
        "crash after event 3 (ActivityTaskScheduled), the workflow waiting at "
        "tests/faults/test_explore.py:"
    )
    assert (
        "  the check failed:\n    AssertionError: effect 'charge' applied 2 times under key "
        "'o-1' (expected once):" in message
    )
    assert message.endswith(
        "  reproduce: env.run('Pay', 'o-1', id='o-1', "
        "faults=FaultPlan(faults=(CrashWorker(after_event=3),)))"
    )
    assert caught.value.point.after_event == 3
    assert caught.value.plan.faults == (CrashWorker(after_event=3),)
    # The printed plan reproduces it.
    LEDGER.clear()
    env.run(Pay.run, "o-1", id="o-1", faults=caught.value.plan)
    assert LEDGER.count("charge", "o-1") == 2


def test_an_idempotency_key_fixes_it(env: DurableEnvironment) -> None:
    env.register_activity(pay_with_key)
    result = env.explore_crashes(
        Pay.run, "o-1", id="o-1", check=charged_once, setup=lambda _: LEDGER.clear()
    )
    assert [p.kind for p in result.points] == [
        "WorkflowExecutionStarted",
        "ActivityTaskScheduled",
        "ActivityTaskCompleted",
        "TimerStarted",
        "TimerFired",
    ]


def test_a_workflow_that_ends_differently_after_a_crash_is_caught(
    env: DurableEnvironment,
) -> None:
    # A quote service that answers differently on each call: the attempt lost in the crash
    # consumed the first answer, so the recovered run ends with another result.
    env.mock_activity(charge, outcomes=["ch-1", "ch-2", "ch-3"], delay=1)
    env.mock_activity(ship, returns="trk-1", delay=1)
    with pytest.raises(CrashPointError) as caught:
        env.explore_crashes(Checkout.run, "o-1", id="o-1")
    message = str(caught.value)
    assert message.startswith(
        "crash exploration of workflow 'o-1' (Checkout): 1 of 5 crash points fail\n\n"
        "crash after event 3 (ActivityTaskScheduled), the workflow waiting at "
    )
    assert (
        "  it ended differently:\n"
        '    clean run:   completed -> "ch-1/trk-1"\n'
        '    crashed run: completed -> "ch-2/trk-1"\n'
    ) in message


_STARTS: list[int] = []


@workflow.defn
class ReadsAGlobal:
    """Branches on process state: replaying it takes the other branch."""

    @workflow.run
    async def run(self) -> str:
        _STARTS.append(1)
        if len(_STARTS) % 2:
            await workflow.sleep(timedelta(seconds=1))
        await workflow.sleep(timedelta(seconds=2))
        return "done"


def test_a_history_that_does_not_replay_is_caught(env: DurableEnvironment) -> None:
    _STARTS.clear()
    with pytest.raises(
        CrashPointError, match="the clean run's history does not replay: NondeterminismError"
    ):
        env.explore_crashes(ReadsAGlobal.run, id="g")


def test_a_check_that_raises_something_else_is_a_bug_in_the_check(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")

    def broken(run: WorkflowHandle) -> None:
        if run.faults:
            raise KeyError("status")

    with pytest.raises(ExplorationCheckError) as caught:
        env.explore_crashes(Checkout.run, "o-1", id="o-1", check=broken)
    assert "raised KeyError: 'status' (at crash point worker crash after event 1)" in str(
        caught.value
    )
    assert "a bug in the check" in str(caught.value)


def test_a_check_failing_on_the_clean_run_says_so(env: DurableEnvironment) -> None:
    env.mock_activity(charge, returns="ch-1")
    env.mock_activity(ship, returns="trk-1")

    def never(run: WorkflowHandle) -> None:
        assert run.result() == "something else"

    with pytest.raises(
        CrashPointError,
        match="the check fails on the clean run, before any crash:\n  AssertionError",
    ):
        env.explore_crashes(Checkout.run, "o-1", check=never)


@workflow.defn
class Forever:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


def test_a_clean_run_that_raises_is_reported(env: DurableEnvironment) -> None:
    with pytest.raises(
        CrashPointError, match="the clean run, before any crash, raised WorkflowBlockedError"
    ):
        env.explore_crashes(Forever.run)
