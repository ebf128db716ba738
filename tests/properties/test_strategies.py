"""The strategies: what they draw, their bounds, how they shrink, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_durable import RetryPolicy, activity
from pytest_durable.errors import FaultPlanError
from pytest_durable.faults import (
    CrashWorker,
    DuplicateDelivery,
    FailAttempt,
    FaultPlan,
    LoseCompletion,
    RequestCancel,
    SendSignal,
    SlowAttempt,
)
from pytest_durable.strategies import (
    activity_outcomes,
    cancel_schedules,
    fault_plans,
    retry_policies,
    signal_schedules,
)

T = TypeVar("T")

# The shrink tests pin what a search shrinks to. Without a database of their own, a folder's
# `.hypothesis` examples saved under an older version of a strategy would be replayed first and
# could end the search elsewhere: these searches start from nothing on every run.
_SHRINK_SETTINGS = settings(max_examples=2000, database=None)


def _shrunk(strategy: st.SearchStrategy[T], condition: Callable[[T], object]) -> T:
    """The simplest example of ``strategy`` that meets ``condition`` (``hypothesis.find``)."""
    return hypothesis.find(strategy, condition, settings=_SHRINK_SETTINGS)


@activity.defn
async def charge(order_id: str) -> str:
    return f"ch-{order_id}"


@activity.defn(name="ship-it")
async def ship(order_id: str) -> str:
    return f"sh-{order_id}"


PLANS = fault_plans(
    activities=[charge, ship],
    max_faults=4,
    max_attempt=2,
    crash_points=9,
    signals=["approve"],
    cancel=True,
    max_delay=60,
)


@given(plan=PLANS)
@settings(max_examples=60)
def test_plans_stay_within_their_bounds_and_round_trip(plan: FaultPlan) -> None:
    assert plan.allow_unreached
    activity_faults = [f for f in plan.faults if hasattr(f, "attempt")]
    assert len(activity_faults) <= 4
    for fault in activity_faults:
        assert fault.activity in {"charge", "ship-it"}  # type: ignore[attr-defined]
        assert 1 <= fault.attempt <= 2  # type: ignore[attr-defined]
        if isinstance(fault, SlowAttempt):
            assert timedelta(0) <= fault.delay <= timedelta(seconds=60)
    crashes = [f for f in plan.faults if isinstance(f, CrashWorker)]
    assert len(crashes) <= 1 and all(1 <= (c.after_event or 0) <= 9 for c in crashes)
    assert len([f for f in plan.faults if isinstance(f, RequestCancel)]) <= 1
    aims = [(f.kind, f.activity, f.attempt) for f in activity_faults]  # type: ignore[attr-defined]
    assert len(aims) == len(set(aims)), "one kind twice at one attempt of one activity"
    assert FaultPlan.from_json(plan.to_json()) == plan


def test_plans_shrink_toward_one_early_failed_attempt() -> None:
    plan = _shrunk(PLANS, lambda p: any(hasattr(f, "attempt") for f in p.faults))
    assert plan == FaultPlan((FailAttempt(activity="charge", attempt=1),), allow_unreached=True)


def test_each_part_of_a_fault_shrinks_on_its_own() -> None:
    # The activity and the attempt a failure needs stay; everything else goes to its simplest.
    on_ship = _shrunk(
        PLANS, lambda p: any(getattr(f, "activity", "") == "ship-it" for f in p.faults)
    )
    assert on_ship.faults == (FailAttempt(activity="ship-it", attempt=1),)
    second = _shrunk(PLANS, lambda p: any(getattr(f, "attempt", 1) == 2 for f in p.faults))
    assert second.faults == (FailAttempt(activity="charge", attempt=2),)
    half_a_minute = timedelta(seconds=30)
    slow_ship = _shrunk(
        PLANS,
        lambda p: any(
            isinstance(f, SlowAttempt) and f.activity == "ship-it" and f.delay >= half_a_minute
            for f in p.faults
        ),
    )
    assert slow_ship.faults == (
        SlowAttempt(activity="ship-it", attempt=1, delay=timedelta(seconds=30)),
    )


@given(
    plan=fault_plans(activities=["only"], kinds=[SlowAttempt], max_attempt=1, max_delay=0)
    | fault_plans(activities=["only"], max_faults=0, crash_points=2)
)
def test_bounds_that_leave_one_choice_draw_it(plan: FaultPlan) -> None:
    # One kind, activity, attempt and delay: at most one fault (a repeat is dropped).
    assert plan.faults in {
        (),
        (SlowAttempt(activity="only", attempt=1, delay=timedelta(0)),),
        (CrashWorker(after_event=1),),
        (CrashWorker(after_event=2),),
    }


def test_crash_points_shrink_toward_the_earliest_event() -> None:
    plan = _shrunk(PLANS, lambda p: any(isinstance(f, CrashWorker) for f in p.faults))
    assert plan.faults == (CrashWorker(after_event=1),)


def test_a_plan_with_each_kind_is_drawn() -> None:
    for kind in (LoseCompletion, DuplicateDelivery, SlowAttempt, SendSignal, RequestCancel):
        plan = _shrunk(PLANS, lambda p, kind=kind: any(isinstance(f, kind) for f in p.faults))
        assert len(plan.faults) == 1 and isinstance(plan.faults[0], kind)


def test_delays_shrink_toward_zero() -> None:
    plan = _shrunk(PLANS, lambda p: any(isinstance(f, SlowAttempt) for f in p.faults))
    assert plan.faults == (SlowAttempt(activity="charge", attempt=1, delay=timedelta(0)),)


@given(
    schedule=signal_schedules(
        [("approve", st.tuples(st.sampled_from(["ana", "bo"])))],
        max_signals=3,
        max_at=timedelta(minutes=10),
    )
)
def test_signal_schedules_are_in_time_order_with_drawn_args(
    schedule: tuple[SendSignal, ...],
) -> None:
    assert len(schedule) <= 3
    times = [s.at for s in schedule]
    assert times == sorted(times)  # type: ignore[type-var]
    for signal in schedule:
        assert signal.signal == "approve" and signal.args in {("ana",), ("bo",)}
        assert signal.at is not None and signal.at <= timedelta(minutes=10)


def test_cancel_schedules_shrink_to_none_then_to_the_start() -> None:
    assert _shrunk(cancel_schedules(), lambda s: True) == ()
    assert _shrunk(cancel_schedules(), lambda s: len(s) == 1) == (
        RequestCancel(reason="generated cancellation", at=timedelta(0)),
    )


@given(policy=retry_policies(max_attempts=4, max_initial_interval=10, max_backoff=3.0))
def test_retry_policies_are_bounded(policy: RetryPolicy) -> None:
    assert 1 <= policy.maximum_attempts <= 4
    assert timedelta(0) <= policy.initial_interval <= timedelta(seconds=10)
    assert 1.0 <= policy.backoff_coefficient <= 3.0
    assert policy.maximum_interval is None or policy.maximum_interval >= policy.initial_interval


def test_retry_policies_shrink_toward_one_attempt() -> None:
    policy = _shrunk(retry_policies(), lambda p: True)
    assert policy.maximum_attempts == 1 and policy.initial_interval == timedelta(0)
    assert policy.backoff_coefficient == 1.0


def test_activity_outcomes_end_with_a_result_and_shrink_to_it() -> None:
    outcomes = activity_outcomes(st.integers(0, 9), max_failures=2, hangs=True, max_delay=5)
    assert _shrunk(outcomes, lambda s: True) == [0]
    script = _shrunk(outcomes, lambda s: len(s) == 3)
    assert len(script) == 3 and isinstance(script[0], RuntimeError) and script[-1] == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fault_plans(activities=[]), "activities must be a non-empty list"),
        (lambda: fault_plans(activities=[len]), r"activities\[0\] must be an activity name"),
        (lambda: fault_plans(activities=["a"], max_faults=-1), "max_faults must be an int"),
        (lambda: fault_plans(activities=["a"], kinds=[CrashWorker]), "kinds must be activity"),
        (lambda: fault_plans(activities=["a"], max_delay="1s"), "max_delay must be a timedelta"),
        (lambda: fault_plans(activities=["a"], max_delay=-1), "max_delay must not be negative"),
        (lambda: signal_schedules([]), "signals must be a non-empty list"),
        (lambda: signal_schedules([("a", 1)]), r"signals\[0\] must be a signal name"),
        (lambda: retry_policies(max_backoff=0.5), "max_backoff must be a number"),
        (lambda: activity_outcomes(st.none(), errors=()), "give errors= or hangs=True"),
    ],
)
def test_bad_bounds_are_clear_errors(call: object, message: str) -> None:
    with pytest.raises(FaultPlanError, match=message):
        call()  # type: ignore[operator]


def test_only_the_strategies_module_imports_hypothesis() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pytest_durable, pytest_durable.plugin, pytest_durable.testing, "
        "pytest_durable.faults; assert 'hypothesis' not in sys.modules, 'hypothesis imported'; "
        "import pytest_durable.strategies; assert 'hypothesis' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_drawn_plan_prints_as_the_python_that_rebuilds_it() -> None:
    # Hypothesis's falsifying example uses its pretty printer, which lists dataclass fields.
    from hypothesis.vendor.pretty import pretty

    plan = _shrunk(PLANS, lambda p: any(isinstance(f, SlowAttempt) for f in p.faults))
    assert pretty(plan) == repr(plan) == (
        "FaultPlan(faults=(SlowAttempt(activity='charge', delay=timedelta(seconds=0.0)),), "
        "allow_unreached=True)"
    )
    assert pretty(plan.faults[0]) == repr(plan.faults[0])
