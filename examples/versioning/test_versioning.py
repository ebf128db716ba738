"""Versioning with ``patched()``, on golden histories: record v1, change to v2, keep v1 replaying.

The loop, as a team lives it (docs/testing.md, "The versioning loop"):

1. ``test_v1_order`` is the test as it was when v1 shipped. Its golden,
   ``__goldens__/test_versioning/test_v1_order.json``, was written by
   ``pytest examples/versioning --durable-update-goldens``, reviewed and committed: the history
   a v1 worker recorded, which v2 workers must still be able to replay.
2. v2 adds a fraud check. Without a guard, replaying that golden fails with a
   ``NondeterminismError`` naming the event and the unguarded line
   (``test_dropping_the_patched_guard_breaks_the_v1_golden``); ``golden_history.check`` raises the
   same error when a test's own golden stops replaying.
3. Guarded by ``workflow.patched("fraud-check")``, the v1 golden replays strictly against v2
   (``test_v2_replays_the_v1_golden``), and a new v2 run takes the new branch and records the
   ``patch`` marker: its own golden, ``test_v2_order.json``, was written the same way.
4. Both goldens are also replayed against today's code as tests of their own:
   ``pyproject.toml`` lists ``examples/versioning/__goldens__`` in ``durable_history_paths`` with
   ``OrderV2`` in ``durable_workflow_modules``.
"""

from __future__ import annotations

import inspect
import warnings
from datetime import UTC, datetime
from pathlib import Path

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
from pytest_durable.fixtures import GoldenHistory

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

START = datetime(2030, 2, 1, 12, 0, tzinfo=UTC)
REQUEST = OrderRequest("o-2001", "cust-17", 12_500)
GOLDENS = Path(__file__).parent / "__goldens__" / "test_versioning"
V1_GOLDEN = GOLDENS / "test_v1_order.json"
"""The v1 history, as ``test_v1_order`` recorded it when v1 was the code."""

pytestmark = pytest.mark.durable(start_time=START, seed=0)


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


def activity_types(history: History) -> list[str]:
    return [event.activity_type for event in history.of_kind("ActivityTaskScheduled")]


# --- 1. v1 and its golden ------------------------------------------------------------------------


def test_v1_order(durable_env: DurableEnvironment, golden_history: GoldenHistory) -> None:
    run = durable_env.run(OrderV1.run, REQUEST, id="order-o-2001")

    assert run.result() == OrderOutcome("o-2001", "shipped", "ch_o-2001", "TRK-o-2001")
    golden_history.check(run)


def test_the_v1_golden_is_a_v1_run() -> None:
    golden = History.load(V1_GOLDEN)

    assert golden.workflow_type == "Order"
    assert activity_types(golden) == ["charge", "ship"]
    assert not golden.of_kind("MarkerRecorded")
    assert isinstance(golden[-1], events.WorkflowExecutionCompleted)


# --- 2. an unguarded change breaks it -------------------------------------------------------------


def test_dropping_the_patched_guard_breaks_the_v1_golden() -> None:
    with pytest.raises(NondeterminismError) as caught:
        Replayer(workflows=[OrderV2WithoutGuard]).replay(V1_GOLDEN)

    err = caught.value
    assert err.event_id is not None
    recorded = History.load(V1_GOLDEN)[err.event_id - 1]
    assert isinstance(recorded, events.ActivityTaskScheduled)
    assert recorded.activity_type == "charge"
    assert "check_fraud" in str(err)
    # ... and it points at the line of the unguarded call.
    lines, first = inspect.getsourcelines(OrderV2WithoutGuard.run)
    offset = next(i for i, line in enumerate(lines) if "await workflow.execute_activity(" in line)
    assert err.location == f"{inspect.getsourcefile(OrderV2WithoutGuard)}:{first + offset}"


# --- 3. guarded, v1 replays and new runs take the new branch --------------------------------------


def test_v2_replays_the_v1_golden() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplayDivergenceWarning)
        result = Replayer(workflows=[OrderV2], strict=True).replay(V1_GOLDEN)

    # Strict replay matched every recorded command one for one: no marker, no fraud check.
    assert result.divergences == ()


def test_v2_order(durable_env: DurableEnvironment, golden_history: GoldenHistory) -> None:
    fraud = durable_env.mock_activity(check_fraud, returns=False)
    durable_env.mock_activity(charge, returns="ch_1")
    durable_env.mock_activity(ship, returns="TRK-1")

    run = durable_env.run(OrderV2.run, REQUEST, id="order-o-2001")

    assert run.result() == OrderOutcome("o-2001", "shipped", "ch_1", "TRK-1")
    fraud.assert_called_once_with("o-2001", "cust-17", 12_500)
    (marker,) = run.history.of_kind("MarkerRecorded")
    assert (marker.marker_name, marker.details) == ("patch", {"patch_id": FRAUD_CHECK})
    assert activity_types(run.history) == ["check_fraud", "charge", "ship"]
    golden_history.check(run)


def test_the_new_branch_rejects_a_fraudulent_order_before_charging(
    durable_env: DurableEnvironment,
) -> None:
    durable_env.mock_activity(check_fraud, returns=True)
    charge_mock = durable_env.mock_activity(charge)

    assert durable_env.run(OrderV2.run, REQUEST).result() == OrderOutcome("o-2001", "rejected")
    charge_mock.assert_not_called()


def test_v1_code_cannot_replay_a_v2_history() -> None:
    # A rollback to v1 while v2 runs are open would break them: the marker is in the way.
    with pytest.raises(NondeterminismError, match=r"history has the patch marker .fraud-check."):
        Replayer(workflows=[OrderV1]).replay(GOLDENS / "test_v2_order.json")
