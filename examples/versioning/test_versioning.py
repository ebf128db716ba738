"""Tests for versioning with ``patched()``: the v1 golden history against v1, v2 and a bad v3.

``histories/order_v1.json`` is committed and only read here; ``golden.py`` documents how it was
written. The last test regenerates it in memory so that the file cannot silently rot.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pytest_durable import (
    DurableEnvironment,
    History,
    NondeterminismError,
    ReplayDivergenceWarning,
    Replayer,
    workflow,
)
from pytest_durable.engine import events

from .golden import GOLDEN_V1, REQUEST, record_order_v1
from .workflows import (
    FRAUD_CHECK,
    STEP_TIMEOUT,
    OrderOutcome,
    OrderRequest,
    OrderV1,
    OrderV2,
    charge,
    check_fraud,
    ship,
)

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@workflow.defn(name="Order")
class OrderV2WithoutGuard:
    """A tempting clean-up: the check is 'always on' now, so drop the ``patched()`` call."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderOutcome:
        if await workflow.execute_activity(
            check_fraud,
            request.order_id,
            request.customer_id,
            request.amount_cents,
            start_to_close_timeout=STEP_TIMEOUT,
        ):
            return OrderOutcome(request.order_id, "rejected")
        charge_id = await workflow.execute_activity(
            charge,
            request.order_id,
            request.customer_id,
            request.amount_cents,
            start_to_close_timeout=STEP_TIMEOUT,
        )
        tracking = await workflow.execute_activity(
            ship, request.order_id, start_to_close_timeout=STEP_TIMEOUT
        )
        return OrderOutcome(request.order_id, "shipped", charge_id, tracking)


@pytest.fixture
def golden() -> History:
    return History.load(GOLDEN_V1)


@pytest.fixture
def env() -> Iterator[DurableEnvironment]:
    with DurableEnvironment(start_time=T0) as env:
        yield env


def kinds(history: History) -> list[str]:
    return [type(event).__name__ for event in history]


def activity_types(history: History) -> list[str]:
    return [event.activity_type for event in history.of_kind("ActivityTaskScheduled")]


def test_the_golden_file_is_a_v1_run(golden: History) -> None:
    assert golden.workflow_type == "Order"
    assert activity_types(golden) == ["charge", "ship"]
    assert "MarkerRecorded" not in kinds(golden)
    assert isinstance(golden[-1], events.WorkflowExecutionCompleted)


def test_the_v1_history_replays_cleanly_against_v2(golden: History) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplayDivergenceWarning)
        result = Replayer(workflows=[OrderV2], strict=True).replay(GOLDEN_V1)

    # Strict replay matched every recorded command, one for one: no marker, no fraud check,
    # so v2 took the old branch all the way to the same result.
    assert result.divergences == ()
    assert result.history == golden


def test_a_new_v2_run_takes_the_new_branch_and_records_the_marker(
    env: DurableEnvironment,
) -> None:
    fraud = env.mock_activity(check_fraud, returns=False)
    env.mock_activity(charge, returns="ch_1")
    env.mock_activity(ship, returns="TRK-1")

    handle = env.run(OrderV2.run, REQUEST)

    assert handle.result() == OrderOutcome("o-2001", "shipped", "ch_1", "TRK-1")
    fraud.assert_called_once_with("o-2001", "cust-17", 12_500)
    history = handle.history
    (marker,) = history.of_kind("MarkerRecorded")
    assert (marker.marker_name, marker.details) == ("patch", {"patch_id": FRAUD_CHECK})
    assert activity_types(history) == ["check_fraud", "charge", "ship"]
    assert kinds(history).index("MarkerRecorded") < kinds(history).index("ActivityTaskScheduled")
    assert Replayer(workflows=[OrderV2], strict=True).replay(history).divergences == ()


def test_the_new_branch_rejects_a_fraudulent_order_before_charging(
    env: DurableEnvironment,
) -> None:
    env.mock_activity(check_fraud, returns=True)
    charge_mock = env.mock_activity(charge)

    assert env.run(OrderV2.run, REQUEST).result() == OrderOutcome("o-2001", "rejected")
    charge_mock.assert_not_called()


def test_v1_code_cannot_replay_a_v2_history(env: DurableEnvironment) -> None:
    # A rollback to v1 while v2 runs are open would break them: the marker is in the way.
    env.mock_activity(check_fraud, returns=False)
    history = env.run(OrderV2.run, REQUEST).history

    with pytest.raises(NondeterminismError, match="history has the patch marker 'fraud-check'"):
        Replayer(workflows=[OrderV1]).replay(history)


def test_dropping_the_patched_guard_breaks_the_v1_history(golden: History) -> None:
    with pytest.raises(NondeterminismError) as caught:
        Replayer(workflows=[OrderV2WithoutGuard]).replay(GOLDEN_V1)

    err = caught.value
    assert err.event_id is not None
    recorded = golden[err.event_id - 1]
    assert isinstance(recorded, events.ActivityTaskScheduled)
    assert recorded.activity_type == "charge"
    message = str(err)
    assert f"nondeterminism at event {err.event_id}" in message
    assert "ActivityTaskScheduled(activity_type='charge')" in message
    assert "check_fraud" in message
    # ... and it points at the line of the unguarded call.
    lines, first = inspect.getsourcelines(OrderV2WithoutGuard.run)
    offset = next(i for i, line in enumerate(lines) if "await workflow.execute_activity(" in line)
    location = f"{inspect.getsourcefile(OrderV2WithoutGuard)}:{first + offset}"
    assert err.location == location
    assert location in message


def test_the_golden_file_is_what_v1_records_today(golden: History) -> None:
    regenerated = record_order_v1()

    assert regenerated == golden, (
        "v1 no longer records the golden history; if that is intended, review the diff of "
        "`python -m examples.versioning.golden` before committing it"
    )
    assert regenerated.to_json() == golden.to_json()
