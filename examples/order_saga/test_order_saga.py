"""Tests for the order saga: happy path, failures at each step, and compensations in reverse."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pytest_durable import (
    HANG,
    ActivityError,
    ApplicationError,
    DurableEnvironment,
    History,
    MockActivity,
    NondeterminismError,
    Replayer,
    RetryState,
    WorkflowFailureError,
    workflow,
)
from pytest_durable.engine import events

from .workflows import (
    Compensation,
    Order,
    OrderConfirmation,
    OrderSaga,
    SagaProgress,
    charge_payment,
    refund_payment,
    release_inventory,
    reserve_inventory,
    ship_order,
)

T0 = datetime(2030, 3, 14, 9, 0, tzinfo=UTC)
LATENCY = timedelta(seconds=1)
"""Every mocked service call takes one virtual second, so call times show the order of calls."""

ORDER = Order(
    order_id="o-1001",
    customer_id="cus-42",
    sku="KB-MX-BROWN",
    quantity=2,
    amount_cents=4999,
    shipping_address="1 Harbour St, Leith",
)


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


def mock_services(env: DurableEnvironment, **overrides: dict[str, Any]) -> dict[str, MockActivity]:
    """Mock all five services with happy answers; ``overrides`` replace one mock's behaviour."""
    happy: dict[str, dict[str, Any]] = {
        "charge_payment": {"returns": "ch_1"},
        "reserve_inventory": {"returns": "res_1"},
        "ship_order": {"returns": "TRK-1"},
        "refund_payment": {"returns": None},
        "release_inventory": {"returns": None},
    }
    functions = {
        fn.__name__: fn
        for fn in (charge_payment, reserve_inventory, ship_order, refund_payment, release_inventory)
    }
    happy.update(overrides)
    return {
        name: env.mock_activity(functions[name], delay=LATENCY, **behaviour)
        for name, behaviour in happy.items()
    }


def scheduled_activities(history: History) -> list[str]:
    return [e.activity_type for e in history if isinstance(e, events.ActivityTaskScheduled)]


def test_happy_path_charges_reserves_and_ships(env: DurableEnvironment) -> None:
    mocks = mock_services(env)

    handle = env.run(OrderSaga.run, ORDER, id="order-o-1001")

    assert handle.result() == OrderConfirmation("o-1001", "ch_1", "res_1", "TRK-1")
    assert handle.status == "completed"
    mocks["charge_payment"].assert_called_once_with("o-1001", "cus-42", 4999)
    mocks["reserve_inventory"].assert_called_once_with("o-1001", "KB-MX-BROWN", 2)
    mocks["ship_order"].assert_called_once_with("o-1001", "res_1", "1 Harbour St, Leith")
    mocks["refund_payment"].assert_not_called()
    mocks["release_inventory"].assert_not_called()
    # Three sequential calls of one virtual second each.
    assert [
        mocks[n].calls[0].time for n in ("charge_payment", "reserve_inventory", "ship_order")
    ] == [T0, T0 + LATENCY, T0 + 2 * LATENCY]
    assert env.now() == T0 + 3 * LATENCY
    assert handle.query(OrderSaga.progress) == SagaProgress("shipped", [])


def test_out_of_stock_refunds_the_charge_and_fails_with_the_cause(
    env: DurableEnvironment,
) -> None:
    out_of_stock = ApplicationError("only 1 left", "KB-MX-BROWN", 1, type="OutOfStock")
    mocks = mock_services(env, reserve_inventory={"raises": out_of_stock})

    handle = env.run(OrderSaga.run, ORDER, id="order-o-1001")

    with pytest.raises(WorkflowFailureError) as failure:
        handle.result()
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.activity_type == "reserve_inventory"
    # OutOfStock is listed in non_retryable_error_types: one attempt, no retries.
    assert activity_error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message, list(cause.details)) == (
        "OutOfStock",
        "only 1 left",
        ["KB-MX-BROWN", 1],
    )

    assert handle.status == "failed"
    mocks["reserve_inventory"].assert_attempts(1)
    mocks["refund_payment"].assert_called_once_with("ch_1", 4999)
    assert mocks["refund_payment"].calls[0].time == T0 + 2 * LATENCY
    mocks["release_inventory"].assert_not_called()  # nothing was reserved, nothing to release
    mocks["ship_order"].assert_not_called()
    assert handle.query(OrderSaga.progress) == SagaProgress("compensated", ["refund_payment"])


def test_shipping_failure_compensates_in_reverse_order(env: DurableEnvironment) -> None:
    undeliverable = ApplicationError("no such street", type="AddressUndeliverable")
    mocks = mock_services(env, ship_order={"raises": undeliverable})

    handle = env.run(OrderSaga.run, ORDER)

    with pytest.raises(WorkflowFailureError) as failure:
        handle.result()
    assert isinstance(failure.value.cause, ActivityError)
    assert failure.value.cause.activity_type == "ship_order"
    # Newest first: the reservation is released before the charge is refunded.
    release, refund = mocks["release_inventory"].calls, mocks["refund_payment"].calls
    assert [call.args for call in release] == [("res_1",)]
    assert [call.args for call in refund] == [("ch_1", 4999)]
    assert release[0].time == T0 + 3 * LATENCY
    assert refund[0].time == T0 + 4 * LATENCY
    assert scheduled_activities(handle.history) == [
        "charge_payment",
        "reserve_inventory",
        "ship_order",
        "release_inventory",
        "refund_payment",
    ]


def test_a_transient_failure_is_retried_after_the_backoff(env: DurableEnvironment) -> None:
    blip = ApplicationError("inventory database timed out", type="Unavailable")
    mocks = mock_services(env, reserve_inventory={"outcomes": [blip, blip, "res_9"]})

    handle = env.run(OrderSaga.run, ORDER)

    assert handle.result().reservation_id == "res_9"
    reserve = mocks["reserve_inventory"].calls
    assert [call.attempt for call in reserve] == [1, 2, 3]
    # Each attempt takes 1 s; the backoffs are 2 s then 4 s (initial 2 s, coefficient 2).
    assert [call.time - T0 for call in reserve] == [
        timedelta(seconds=1),
        timedelta(seconds=1 + 1 + 2),
        timedelta(seconds=4 + 1 + 4),
    ]
    mocks["refund_payment"].assert_not_called()


def test_retries_give_up_after_maximum_attempts(env: DurableEnvironment) -> None:
    blip = ApplicationError("carrier API unavailable", type="Unavailable")
    mocks = mock_services(env, ship_order={"raises": blip})

    handle = env.run(OrderSaga.run, ORDER)

    with pytest.raises(WorkflowFailureError) as failure:
        handle.result()
    assert isinstance(failure.value.cause, ActivityError)
    assert failure.value.cause.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    mocks["ship_order"].assert_attempts(3)
    mocks["release_inventory"].assert_called_once_with("res_1")
    mocks["refund_payment"].assert_called_once_with("ch_1", 4999)


def test_a_failing_compensation_keeps_retrying_until_it_succeeds(
    env: DurableEnvironment,
) -> None:
    gateway_down = ApplicationError("payment gateway 503", type="Unavailable")
    mocks = mock_services(
        env,
        ship_order={"raises": ApplicationError("no such street", type="AddressUndeliverable")},
        refund_payment={"outcomes": [gateway_down] * 4 + [None]},
    )

    handle = env.run(OrderSaga.run, ORDER)

    with pytest.raises(WorkflowFailureError):
        handle.result()
    refund = mocks["refund_payment"].calls
    assert [call.attempt for call in refund] == [1, 2, 3, 4, 5]
    # Compensation backoff: 10 s, 20 s, 40 s, 80 s between attempts (plus 1 s per attempt).
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(refund)]
    assert gaps == [timedelta(seconds=s + 1) for s in (10, 20, 40, 80)]
    assert handle.query(OrderSaga.progress).compensated == [
        "release_inventory",
        "refund_payment",
    ]


def test_a_declined_card_needs_no_compensation(env: DurableEnvironment) -> None:
    declined = ApplicationError("insufficient funds", type="CardDeclined")
    mocks = mock_services(env, charge_payment={"raises": declined})

    handle = env.run(OrderSaga.run, ORDER)

    with pytest.raises(WorkflowFailureError) as failure:
        handle.result()
    assert isinstance(failure.value.cause, ActivityError)
    assert isinstance(failure.value.cause.cause, ApplicationError)
    assert failure.value.cause.cause.type == "CardDeclined"
    mocks["charge_payment"].assert_attempts(1)
    for name in ("reserve_inventory", "ship_order", "refund_payment", "release_inventory"):
        mocks[name].assert_not_called()


def test_cancelling_the_order_while_shipping_compensates(env: DurableEnvironment) -> None:
    # The carrier never answers: only the customer's cancellation ends the shipping step.
    mocks = mock_services(env, ship_order={"outcomes": [HANG]})
    handle = env.start(OrderSaga.run, ORDER, id="order-o-1001")
    env.sleep(timedelta(seconds=10))
    assert handle.query(OrderSaga.progress) == SagaProgress("shipping", [])

    handle.cancel("customer changed their mind")

    with pytest.raises(WorkflowFailureError):
        handle.result()
    assert handle.status == "cancelled"
    mocks["release_inventory"].assert_called_once_with("res_1")
    mocks["refund_payment"].assert_called_once_with("ch_1", 4999)
    assert mocks["release_inventory"].calls[0].time == T0 + timedelta(seconds=10)
    assert mocks["refund_payment"].calls[0].time == T0 + timedelta(seconds=11)


def test_the_compensation_history_replays_against_the_code(env: DurableEnvironment) -> None:
    mocks_args = {"ship_order": {"raises": ApplicationError("lost", type="AddressUndeliverable")}}
    mock_services(env, **mocks_args)
    handle = env.run(OrderSaga.run, ORDER, id="order-o-1001")

    # What a golden file would hold: the JSON document, read back and replayed.
    recorded = History.from_json(handle.history.to_json())
    result = Replayer(workflows=[OrderSaga]).replay(recorded)

    assert result.divergences == ()
    assert recorded.workflow_id == "order-o-1001"
    assert type(recorded[-1]).__name__ == "WorkflowExecutionFailed"


def test_the_real_activities_run_when_nothing_is_mocked(env: DurableEnvironment) -> None:
    handle = env.run(OrderSaga.run, ORDER)

    assert handle.result() == OrderConfirmation(
        "o-1001", "ch_o-1001", "res_o-1001_KB-MX-BROWN", "TRK-o-1001"
    )


@workflow.defn(name="OrderSaga")
class OrderSagaRefundFirst(OrderSaga):
    """A tempting 'refactor': refund first. Histories recorded by OrderSaga must catch it."""

    # Temporal requires the run method on the workflow class itself, so override it.
    @workflow.run
    async def run(self, order: Order) -> OrderConfirmation:
        return await super().run(order)

    async def _compensate(self, compensations: list[Compensation]) -> None:
        await super()._compensate(list(reversed(compensations)))


def test_reordering_the_compensations_is_caught_by_replay(env: DurableEnvironment) -> None:
    mock_services(env, ship_order={"raises": ApplicationError("lost", type="AddressUndeliverable")})
    recorded = env.run(OrderSaga.run, ORDER).history

    with pytest.raises(NondeterminismError) as divergence:
        Replayer(workflows=[OrderSagaRefundFirst]).replay(recorded)

    assert divergence.value.event_id is not None
    scheduled = recorded[divergence.value.event_id - 1]
    assert isinstance(scheduled, events.ActivityTaskScheduled)
    assert scheduled.activity_type == "release_inventory"
    assert "refund_payment" in str(divergence.value)
