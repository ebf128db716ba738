"""The order saga under faults: every crash point explored, compensations and attempts asserted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_durable import ApplicationError, DurableEnvironment, FaultPlan, WorkflowHandle
from pytest_durable.faults import CrashWorker, LoseCompletion
from pytest_durable.testing import assert_attempts, assert_compensations

from .test_order_saga import ORDER, T0, mock_services
from .workflows import (
    OrderConfirmation,
    OrderSaga,
    charge_payment,
    refund_payment,
    release_inventory,
    reserve_inventory,
)

UNDO = {charge_payment: refund_payment, reserve_inventory: release_inventory}


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


def compensated_correctly(run: WorkflowHandle) -> None:
    assert_compensations(run, UNDO)


def test_the_happy_saga_survives_a_crash_at_every_point(env: DurableEnvironment) -> None:
    mock_services(env)
    result = env.explore_crashes(OrderSaga.run, ORDER, id="order-o-1001")
    assert result.status == "completed"
    assert [point.kind for point in result.points] == [
        "WorkflowExecutionStarted",
        "ActivityTaskScheduled",  # charge
        "ActivityTaskCompleted",
        "ActivityTaskScheduled",  # reserve
        "ActivityTaskCompleted",
        "ActivityTaskScheduled",  # ship
        "ActivityTaskCompleted",
    ]


def test_a_failed_saga_compensates_correctly_after_a_crash_at_every_point(
    env: DurableEnvironment,
) -> None:
    undeliverable = ApplicationError("no such street", type="AddressUndeliverable")
    mock_services(env, ship_order={"raises": undeliverable})
    result = env.explore_crashes(
        OrderSaga.run, ORDER, id="order-o-1001", check=compensated_correctly
    )
    assert result.status == "failed"
    assert len(result.points) == 11  # the compensations' boundaries are crash points too


def test_a_crash_while_charging_retries_the_charge(env: DurableEnvironment) -> None:
    mocks = mock_services(env)
    # Event 3 schedules the charge: the worker dies with the attempt in flight.
    handle = env.run(OrderSaga.run, ORDER, faults=FaultPlan((CrashWorker(after_event=3),)))
    assert handle.result() == OrderConfirmation("o-1001", "ch_1", "res_1", "TRK-1")
    assert_attempts(
        handle,
        charge_payment,
        [
            "1 timed_out[START_TO_CLOSE] at +30s",  # lost with the worker: the server timed it out
            "2 completed at +33s",  # 2 s backoff, then one second of latency
        ],
    )
    mocks["charge_payment"].assert_attempts(2)


def test_a_lost_charge_completion_charges_twice(env: DurableEnvironment) -> None:
    mocks = mock_services(env)
    handle = env.run(
        OrderSaga.run, ORDER, faults=FaultPlan((LoseCompletion(activity=charge_payment),))
    )
    assert handle.status == "completed"
    # The provider was called twice for one order: without an idempotency key (see
    # examples/payments), the customer is charged twice.
    assert [call.attempt for call in mocks["charge_payment"].calls] == [1, 2]
    (fault,) = handle.faults
    assert fault.describe() == (
        "after event 3 (2030-03-14T09:00:00Z): lost completion on attempt 1 of activity "
        "'charge_payment'"
    )
