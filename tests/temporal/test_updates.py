"""Workflow updates of Temporal SDK workflows: temporalio's handlers and validators, driven by
``DoUpdate`` activations, answered as temporalio's client answers, recorded as Temporal does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import temporalio.worker
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from pytest_durable import DurableEnvironment
from pytest_durable.errors import UnknownUpdateError, WorkflowTaskFailedError
from pytest_durable.temporal import (
    Replayer,
    UnsupportedTemporalFeatureError,
    Worker,
    WorkflowEnvironment,
    from_temporal_json,
    to_temporal_json,
    to_workflow_history,
)

from .update_workflows import Buggy, Cart, Impatient, Item, Receipt, price_of


@pytest.fixture
def env(env: DurableEnvironment) -> DurableEnvironment:
    env.register_activity(price_of)
    return env


def _kinds(handle: object) -> list[str]:
    return [event.kind for event in handle.history.events]  # type: ignore[attr-defined]


def test_an_update_runs_its_handler_and_returns_its_typed_result(env: DurableEnvironment) -> None:
    start = env.now()
    handle = env.start(Cart.run, "ann", id="cart")
    assert handle.execute_update(Cart.add, Item("apple", 2)) == 6
    assert handle.execute_update("add", args=[Item("pear", 1)]) == 11
    assert handle.query(Cart.lines) == ["ann: 2 x apple", "ann: 1 x pear"]
    assert env.now() - start == timedelta(minutes=2)  # each handler slept a minute
    handle.signal(Cart.checkout)
    assert handle.result() == Receipt(["ann: 2 x apple", "ann: 1 x pear"], 11)
    kinds = _kinds(handle)
    assert kinds.count("WorkflowExecutionUpdateAccepted") == 2
    assert kinds.count("WorkflowExecutionUpdateCompleted") == 2


def test_start_update_returns_once_accepted_and_the_workflow_waits_for_its_handler(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Cart.run, "bo", id="cart")
    update = handle.start_update(Cart.add, Item("apple", 1), id="first-apple")
    assert (update.id, update.name, update.accepted, update.done) == (
        "first-apple",
        "add",
        True,
        False,
    )
    handle.signal(Cart.checkout)  # all_handlers_finished() holds the run until add returns
    assert handle.result().total == 3
    assert update.done and update.result() == 3
    # An id the run has seen is the same update (Temporal deduplicates by id).
    assert _kinds(handle).count("WorkflowExecutionUpdateAccepted") == 1


def test_a_validator_rejection_is_temporalios_update_failure_and_leaves_no_trace(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Cart.run, "cy", id="cart")
    before = len(handle.history.events)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        handle.start_update(Cart.add, Item("apple", 0))
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == ("ValueError", "quantity must be positive, got 0")
    assert len(handle.history.events) == before
    assert "WorkflowExecutionUpdateAccepted" not in _kinds(handle)


def test_a_handler_failure_fails_the_update_not_the_workflow(env: DurableEnvironment) -> None:
    handle = env.start(Cart.run, "di", id="cart")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        handle.execute_update(Cart.add, Item("caviar", 1))
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message, cause.details) == (
        "NotSold",
        "caviar is not sold here",
        ("caviar",),
    )
    completed = handle.history.events[-1]
    assert completed.kind == "WorkflowExecutionUpdateCompleted"
    assert completed.failure["type"] == "NotSold"  # type: ignore[attr-defined]
    assert handle.execute_update(Cart.total) == 0  # the run goes on
    handle.signal(Cart.checkout)
    assert handle.result().total == 0


def test_an_update_no_handler_takes_is_rejected_listing_the_known_ones(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Cart.run, "ed", id="cart")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        handle.execute_update("remove", "apple")
    assert "known updates: [add total]" in str(caught.value.cause)
    with pytest.raises(UnknownUpdateError, match="no update named 'lines'"):
        handle.execute_update(Cart.lines)  # a query method is no update


def test_a_workflow_closing_first_fails_its_unfinished_update(env: DurableEnvironment) -> None:
    handle = env.start(Impatient.run, id="impatient")
    update = handle.start_update(Impatient.slow)
    assert handle.result() == "done"
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        update.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "AcceptedUpdateCompletedWorkflow"


def test_a_bug_in_an_update_handler_fails_the_workflow_task(env: DurableEnvironment) -> None:
    handle = env.start(Buggy.run, id="buggy")
    with pytest.raises(WorkflowTaskFailedError, match="KeyError: 'no such thing'"):
        handle.execute_update(Buggy.broken)
    assert handle.status == "running"
    assert "WorkflowExecutionUpdateAccepted" not in _kinds(handle)  # the task recorded nothing
    handle.terminate(reason="stuck")
    with pytest.raises(WorkflowFailureError):
        handle.result()


def test_updates_replay_after_a_crash_and_at_every_task(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    env = make_env(replay_every_task=True)
    env.register_activity(price_of)
    handle = env.start(Cart.run, "fa", id="cart")
    handle.execute_update(Cart.add, Item("apple", 1))
    update = handle.start_update(Cart.add, Item("pear", 2))
    env.crash_worker()  # the handler is mid-sleep: the rebuilt run re-delivers it from history
    assert update.result() == 13
    handle.signal(Cart.checkout)
    assert handle.result().lines == ["fa: 1 x apple", "fa: 2 x pear"]


def test_update_events_export_as_temporals_and_replay_in_temporalios_replayer(
    env: DurableEnvironment,
) -> None:
    handle = env.start(Cart.run, "gus", id="cart")
    handle.execute_update(Cart.add, Item("apple", 2), id="u-apple")
    with pytest.raises(WorkflowUpdateFailedError):
        handle.execute_update(Cart.add, Item("caviar", 1), id="u-caviar")
    handle.signal(Cart.checkout)
    handle.result()
    text = to_temporal_json(handle.history)
    events = json.loads(text)["events"]
    kind = "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_"
    accepted = [e for e in events if e["eventType"] == kind + "ACCEPTED"]
    completed = [e for e in events if e["eventType"] == kind + "COMPLETED"]
    attrs = accepted[0]["workflowExecutionUpdateAcceptedEventAttributes"]
    assert attrs["acceptedRequest"]["meta"]["updateId"] == "u-apple"
    assert attrs["acceptedRequest"]["input"]["name"] == "add"
    started = events[int(attrs["acceptedRequestSequencingEventId"]) - 1]
    assert started["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"
    outcomes = [e["workflowExecutionUpdateCompletedEventAttributes"] for e in completed]
    assert "success" in outcomes[0]["outcome"]
    assert outcomes[1]["outcome"]["failure"]["message"] == "caviar is not sold here"
    assert outcomes[1]["acceptedEventId"] == accepted[1]["eventId"]

    runner = temporalio.worker.UnsandboxedWorkflowRunner()
    replayer = temporalio.worker.Replayer(workflows=[Cart], workflow_runner=runner)
    asyncio.run(replayer.replay_workflow(to_workflow_history(handle.history)))
    imported = from_temporal_json(text, workflow_id="cart")
    assert [e.kind for e in imported.events] == _kinds(handle)
    Replayer(workflows=[Cart]).replay(text, workflow_id="cart")


def test_a_changed_update_handler_is_a_nondeterminism_error_on_replay(
    env: DurableEnvironment,
) -> None:
    from pytest_durable.errors import NondeterminismError

    handle = env.start(Cart.run, "hal", id="cart")
    handle.execute_update(Cart.add, Item("apple", 1))
    handle.signal(Cart.checkout)
    handle.result()
    text = to_temporal_json(handle.history).replace('"name": "add"', '"name": "total"')
    with pytest.raises(NondeterminismError):
        Replayer(workflows=[Cart]).replay(text, workflow_id="cart")


@pytest.mark.asyncio
async def test_the_async_client_sends_updates_as_temporalios_does() -> None:
    async with await WorkflowEnvironment.start_local() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="carts", workflows=[Cart], activities=[price_of]):
            handle = await env.client.start_workflow(Cart.run, "ivy", id="cart", task_queue="carts")
            assert await handle.execute_update(Cart.add, Item("apple", 1)) == 3
            update = await handle.start_update(
                Cart.add, Item("pear", 1), wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="p"
            )
            assert (update.id, update.workflow_id, update.name) == ("p", "cart", "add")
            again = handle.get_update_handle_for(Cart.add, "p")
            assert await again.result() == 8
            assert await update.result() == 8
            rejected = await handle.start_update(
                Cart.add, Item("pear", -1), wait_for_stage=WorkflowUpdateStage.ACCEPTED
            )
            with pytest.raises(WorkflowUpdateFailedError) as caught:
                await rejected.result()  # a rejection raises from result(), as temporalio's
            assert isinstance(caught.value.cause, ApplicationError)
            by_name = await handle.execute_update("total", result_type=int)
            assert by_name == 8
            with pytest.raises(ValueError, match="ADMITTED"):
                await handle.start_update(Cart.total, wait_for_stage=WorkflowUpdateStage.ADMITTED)
            with pytest.raises(RPCError) as missing:
                handle.get_update_handle("nope")
            assert missing.value.status == RPCStatusCode.NOT_FOUND
            await handle.signal(Cart.checkout)
            assert (await handle.result()).total == 8
            with pytest.raises(RPCError) as closed:
                await handle.execute_update(Cart.total)
            assert closed.value.status == RPCStatusCode.NOT_FOUND
            assert not env.supports_time_skipping  # start_local stands for the dev server


@pytest.mark.asyncio
async def test_update_with_start_starts_or_uses_the_open_workflow() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="carts", workflows=[Cart], activities=[price_of]):

            def operation() -> WithStartWorkflowOperation[Cart, Receipt]:
                return WithStartWorkflowOperation(
                    Cart.run,
                    "jo",
                    id="cart",
                    task_queue="carts",
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )

            first = operation()
            total = await env.client.execute_update_with_start_workflow(
                Cart.add, Item("apple", 1), start_workflow_operation=first
            )
            assert total == 3
            handle = await first.workflow_handle()
            # The update went with the workflow's first task.
            assert [e.kind for e in handle._inner.history.events[:4]] == [
                "WorkflowExecutionStarted",
                "WorkflowTaskCompleted",
                "WorkflowExecutionUpdateAccepted",
                "ActivityTaskScheduled",
            ]
            second = operation()
            assert (
                await env.client.execute_update_with_start_workflow(
                    Cart.add, Item("pear", 2), start_workflow_operation=second
                )
                == 13
            )
            assert (await second.workflow_handle()).run_id == handle.run_id
            with pytest.raises(RuntimeError, match="reused"):
                await env.client.execute_update_with_start_workflow(
                    Cart.total, start_workflow_operation=second
                )
            refused = WithStartWorkflowOperation(
                Cart.run,
                "jo",
                id="other",
                task_queue="nobody-polls",
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
            with pytest.raises(Exception, match="no Worker polls"):
                await env.client.start_update_with_start_workflow(
                    Cart.total,
                    start_workflow_operation=refused,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                )
            with pytest.raises(Exception, match="no Worker polls"):
                await refused.workflow_handle()
            delayed = WithStartWorkflowOperation(
                Cart.run,
                "jo",
                id="later",
                task_queue="carts",
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                start_delay=timedelta(hours=1),
            )
            with pytest.raises(UnsupportedTemporalFeatureError, match="start_delay"):
                await env.client.execute_update_with_start_workflow(
                    Cart.total, start_workflow_operation=delayed
                )
