"""FaultPlan is data: JSON round trip, a repr that rebuilds it, seeds, and clear errors."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

import pytest_durable.faults as faults_module
from pytest_durable import FaultPlan, FaultPlanError
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

from .workflows import charge

EVERY_KIND = FaultPlan(
    (
        FailAttempt(
            activity=charge,
            attempt=2,
            message="card declined",
            error_type="Declined",
            non_retryable=True,
        ),
        HangAttempt(activity="ship"),
        SlowAttempt(activity="ship", attempt=3, delay=timedelta(seconds=1.5)),
        LoseCompletion(activity="charge", workflow_id="order-1"),
        DuplicateDelivery(activity="refund"),
        CrashWorker(after_event=7),
        SendSignal(signal="approve", args=("dana", {"level": 2}), at=timedelta(minutes=5)),
        RequestCancel(after_event=3, reason="customer changed their mind"),
        RunQuery(query="status", at=timedelta(hours=1), workflow_id="child-1"),
    ),
    seed=11,
)


def test_json_round_trip_keeps_every_kind() -> None:
    assert FaultPlan.from_json(EVERY_KIND.to_json()) == EVERY_KIND
    assert FaultPlan.from_json(EVERY_KIND.to_json().encode()) == EVERY_KIND
    assert FaultPlan.from_json(json.loads(EVERY_KIND.to_json())) == EVERY_KIND


def test_json_reads_plainly_and_leaves_defaults_out() -> None:
    document = json.loads(FaultPlan((SlowAttempt(activity="ship", delay=90),)).to_json())
    assert document == {
        "format": "pytest-durable-fault-plan",
        "version": 1,
        "faults": [{"kind": "slow_attempt", "activity": "ship", "delay": "90s"}],
    }


def test_repr_is_python_that_rebuilds_the_plan() -> None:
    text = repr(EVERY_KIND)
    assert text.startswith("FaultPlan(faults=(FailAttempt(activity='charge', attempt=2, ")
    assert "SlowAttempt(activity='ship', attempt=3, delay=timedelta(seconds=1.5))" in text
    assert eval(text, vars(faults_module)) == EVERY_KIND


def test_repr_of_a_single_fault_plan_is_a_tuple() -> None:
    plan = FaultPlan([HangAttempt(activity="ship")], allow_unreached=True)
    assert repr(plan) == "FaultPlan(faults=(HangAttempt(activity='ship'),), allow_unreached=True)"
    assert eval(repr(plan), vars(faults_module)) == plan


def test_an_activity_function_is_aimed_at_by_its_name() -> None:
    assert FailAttempt(activity=charge) == FailAttempt(activity="charge")


def test_seconds_are_accepted_for_durations() -> None:
    assert SendSignal(signal="s", at=30) == SendSignal(signal="s", at=timedelta(seconds=30))


def test_a_seed_builds_the_same_plan_every_time() -> None:
    first = FaultPlan.from_seed(7, activities=[charge, "ship"], max_faults=4)
    assert first == FaultPlan.from_seed(7, activities=["charge", "ship"], max_faults=4)
    assert first.seed == 7 and first.allow_unreached
    assert 1 <= len(first.faults) <= 4
    assert {fault.activity for fault in first.faults} <= {"charge", "ship"}  # type: ignore[attr-defined]
    plans = {FaultPlan.from_seed(seed, activities=["charge", "ship"]) for seed in range(20)}
    assert len(plans) > 5, "different seeds draw different plans"
    assert FaultPlan.from_json(first.to_json()) == first


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: FailAttempt(activity="charge", attempt=0),
            "FailAttempt.attempt must be a positive int, got 0",
        ),
        (lambda: FailAttempt(activity=""), "FailAttempt.activity must be an activity name"),
        (lambda: HangAttempt(activity=print), "HangAttempt.activity must be an activity name"),
        (lambda: SlowAttempt(activity="a", delay=-1), "SlowAttempt.delay must be a non-negative"),
        (lambda: CrashWorker(), "CrashWorker needs exactly one of at="),
        (lambda: CrashWorker(at=1, after_event=2), "CrashWorker needs exactly one of at="),
        (lambda: SendSignal(signal="s", at=1, args=(object(),)), "SendSignal.args must hold JSON"),
        (lambda: RunQuery(query="", at=1), "RunQuery.query must be a query name"),
        (lambda: FaultPlan(("not a fault",)), "FaultPlan.faults[0] must be a fault"),  # type: ignore[arg-type]
        (
            lambda: FaultPlan(allow_unreached="yes"),
            "FaultPlan.allow_unreached must be True or False",
        ),  # type: ignore[arg-type]
        (lambda: FaultPlan.from_seed(1, activities=[]), "from_seed: activities must name"),
    ],
)
def test_malformed_python_names_the_field(build: Any, message: str) -> None:
    with pytest.raises(FaultPlanError) as caught:
        build()
    assert message in str(caught.value)


def _document(*faults: dict[str, Any], **extra: Any) -> str:
    return json.dumps(
        {"format": "pytest-durable-fault-plan", "version": 1, "faults": list(faults), **extra}
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "a fault plan must be JSON"),
        ("[]", "a fault plan is a JSON object, got list"),
        ('{"format": "something-else"}', "format must be 'pytest-durable-fault-plan'"),
        ('{"format": "pytest-durable-fault-plan", "version": 9}', "version must be 1"),
        (_document(extra=1), "unknown field(s) in the fault plan: extra"),
        (_document({"kind": "explode"}), "faults[0].kind must be one of crash_worker, "),
        (
            _document(
                {"kind": "hang_attempt", "activity": "a"},
                {"kind": "fail_attempt", "activity": "b", "attempt": -1},
            ),
            "faults[1]: FailAttempt.attempt must be a positive int, got -1",
        ),
        (
            _document({"kind": "hang_attempt", "activity": "a", "attemtp": 2}),
            "faults[0]: hang_attempt has no field 'attemtp'; its fields are activity, attempt",
        ),
        (_document({"kind": "slow_attempt", "activity": "a"}), "faults[0]: slow_attempt: "),
        (
            _document({"kind": "send_signal", "signal": "s", "at": "soon"}),
            "faults[0].at: expected a duration like '30s', got 'soon'",
        ),
        (_document("fail"), "faults[0] must be an object with a 'kind'"),
        (
            json.dumps({"format": "pytest-durable-fault-plan", "version": 1, "faults": {}}),
            "faults must be a list",
        ),
    ],
)
def test_malformed_json_names_the_field(text: str, message: str) -> None:
    with pytest.raises(FaultPlanError) as caught:
        FaultPlan.from_json(text)
    assert message in str(caught.value)


def test_fault_plan_error_is_an_invalid_argument() -> None:
    assert issubclass(FaultPlanError, ValueError)


def test_descriptions_read_as_sentences() -> None:
    assert FailAttempt(activity="charge", attempt=2).describe() == (
        "injected failure on attempt 2 of activity 'charge'"
    )
    assert SlowAttempt(activity="ship", delay=2).describe() == (
        "injected delay on attempt 1 of activity 'ship' (2s)"
    )
    assert CrashWorker(after_event=4).describe() == "worker crash after event 4"
    assert SendSignal(signal="approve", at=90).describe() == "signal 'approve' at +90s"
    assert RequestCancel(at=1).describe() == "cancellation request at +1s"
    assert RunQuery(query="status", after_event=2).describe() == "query 'status' after event 2"
    assert not FaultPlan() and FaultPlan((CrashWorker(at=1),))
