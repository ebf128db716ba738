"""The property runner finds the flawed checkout's unrefunded timeout, shrunk to its minimum."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from pytest_durable import DurableEnvironment
from pytest_durable.faults import FailAttempt, FaultPlan, HangAttempt
from pytest_durable.strategies import fault_plans
from pytest_durable.testing import PropertyFailure, check_workflow

from .workflows import LEDGER, Checkout, FlawedCheckout, charge, refund, ship

# Failures and hangs only: a lost completion on the charge (money taken, the workflow never
# told) is another bug class, which an idempotency key fixes (examples/payments).
PLANS = fault_plans(
    activities=[charge, ship, refund], kinds=[FailAttempt, HangAttempt], max_faults=4, max_attempt=2
)


def reset_ledger(env: DurableEnvironment) -> None:
    LEDGER.clear()


def money_is_never_kept_without_a_shipment(handle: Any) -> None:
    effects = {effect for effect, _ in LEDGER}
    if "charged" in effects:
        assert "shipped" in effects or "refunded" in effects, (
            f"charged, neither shipped nor refunded: {LEDGER}"
        )


def test_the_flaw_is_found_and_shrunk_to_a_last_shipment_timing_out() -> None:
    with pytest.raises(PropertyFailure) as failure:
        check_workflow(
            FlawedCheckout.run,
            ["o-1"],
            plans=PLANS,
            invariant=money_is_never_kept_without_a_shipment,
            setup=reset_ledger,
            max_examples=200,
        )
    # Shrunk to the minimum: shipping fails once, then its last attempt hangs and times out.
    assert failure.value.plan == FaultPlan(
        (FailAttempt(activity="ship", attempt=1), HangAttempt(activity="ship", attempt=2)),
        allow_unreached=True,
    )
    message = str(failure.value)
    assert "charged, neither shipped nor refunded" in message
    assert "FaultPlanFromJson" not in message and '"kind": "hang_attempt"' in message


def test_the_fixed_workflow_holds_under_every_drawn_plan() -> None:
    report = check_workflow(
        Checkout.run,
        ["o-1"],
        plans=PLANS,
        invariant=money_is_never_kept_without_a_shipment,
        setup=reset_ledger,
        max_examples=100,
    )
    assert report.plans == 100
    assert {"completed", "failed"} <= set(report.statuses)


@settings(max_examples=50)
@given(plan=PLANS)
def test_the_same_property_written_as_a_given_test(
    plan: FaultPlan, durable_env_factory: Any
) -> None:
    check_workflow(
        Checkout.run,
        ["o-1"],
        plans=plan,
        env=durable_env_factory,
        invariant=money_is_never_kept_without_a_shipment,
        setup=reset_ledger,
    )
