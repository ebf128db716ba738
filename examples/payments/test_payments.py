"""Payments: the at-least-once bug that exploration and the ledger catch, and its fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_durable import CrashPointError, DurableEnvironment, FaultPlan, WorkflowHandle
from pytest_durable.faults import CrashWorker, LoseCompletion
from pytest_durable.testing import EffectLedger, assert_attempts

from .workflows import PROVIDER, Checkout, Payment, charge_card, charge_card_idempotent

PAYMENT = Payment(order_id="o-77", amount_cents=2500)


@pytest.fixture
def ledger(durable_ledger: EffectLedger) -> Iterator[EffectLedger]:
    """The provider's ledger: fakeredis by default, a real server with --durable-redis-url."""
    PROVIDER.ledger = durable_ledger
    yield durable_ledger
    PROVIDER.ledger = None


def charged_once(run: WorkflowHandle) -> None:
    assert PROVIDER.ledger is not None
    PROVIDER.ledger.assert_applied_once("charge")


def fresh_ledger(ledger: EffectLedger) -> Callable[[Any], None]:
    """Exploration's setup: every explored run starts with no charges."""

    def setup(_env: Any) -> None:
        ledger.clear()

    return setup


def test_happy_path_charges_once(durable_env: DurableEnvironment, ledger: EffectLedger) -> None:
    durable_env.register_activity(charge_card)
    assert durable_env.run(Checkout.run, PAYMENT).result() == "ch_o-77"
    ledger.assert_applied_once("charge")


def test_a_lost_completion_charges_twice_without_a_key(
    durable_env: DurableEnvironment, ledger: EffectLedger
) -> None:
    durable_env.register_activity(charge_card)
    plan = FaultPlan((LoseCompletion(activity="charge_card"),))
    handle = durable_env.run(Checkout.run, PAYMENT, faults=plan)

    # The workflow is happy: the retry succeeded...
    assert handle.result() == "ch_o-77"
    assert_attempts(
        handle, "charge_card", ["1 timed_out[START_TO_CLOSE] at +30s", "2 completed at +31s"]
    )
    # ...but the customer paid twice.
    with pytest.raises(AssertionError, match="effect 'charge' applied 2 times under key 'o-77'"):
        ledger.assert_applied_once("charge")


def test_exploration_finds_the_crash_point_that_charges_twice(
    durable_env: DurableEnvironment, ledger: EffectLedger
) -> None:
    durable_env.register_activity(charge_card)
    with pytest.raises(CrashPointError) as caught:
        durable_env.explore_crashes(
            Checkout.run, PAYMENT, id="o-77", check=charged_once, setup=fresh_ledger(ledger)
        )
    # The worker died after the charge and before reporting it: the retry charged again.
    assert caught.value.point.after_event == 3
    assert caught.value.point.kind == "ActivityTaskScheduled"
    assert caught.value.plan == FaultPlan((CrashWorker(after_event=3),))
    assert "effect 'charge' applied 2 times under key 'o-77'" in str(caught.value)


def test_an_idempotency_key_survives_every_crash_point_and_lost_completion(
    durable_env: DurableEnvironment, ledger: EffectLedger
) -> None:
    durable_env.register_activity(charge_card_idempotent)
    result = durable_env.explore_crashes(
        Checkout.run, PAYMENT, id="o-77", check=charged_once, setup=fresh_ledger(ledger)
    )
    assert result.status == "completed" and len(result.points) == 7

    ledger.clear()
    plan = FaultPlan((LoseCompletion(activity="charge_card"),))
    assert durable_env.run(Checkout.run, PAYMENT, faults=plan).result() == "ch_o-77"
    ledger.assert_applied_once("charge")
