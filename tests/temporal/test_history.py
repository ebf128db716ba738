"""Histories in Temporal's format: temporalio's Replayer replays ours, ours replays Temporal's."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer as SdkReplayer
from temporalio.worker import UnsandboxedWorkflowRunner

from pytest_durable import DurableEnvironment, HistoryFormatError, NondeterminismError
from pytest_durable.temporal import (
    Replayer,
    from_temporal_json,
    to_temporal_json,
    to_workflow_history,
)

from .workflows import (
    CancelsActivity,
    ChargeOnce,
    Checkout,
    CheckoutReordered,
    Child,
    Counter,
    Deprecated,
    Order,
    Parent,
    Patched,
    PatchedRemoved,
    Sleeper,
    TerminatesChild,
    UpsertsAndCancelsChild,
    Waits,
    charge,
    double,
    waits_for_cancel,
)


def _runs(env: DurableEnvironment) -> list[tuple[type, list]]:  # type: ignore[type-arg]
    env.register_activity(charge)
    env.register_activity(double)
    env.register_activity(waits_for_cancel)
    env.register_workflow(Child)
    out = []
    handle = env.start(Checkout.run, Order("o-1", 2))
    env.sleep(timedelta(seconds=5))
    handle.signal(Checkout.approve, "dana")
    handle.result()
    out.append((Checkout, handle.histories))
    for workflow, args in [
        (Parent, ([1, 2],)),
        (Patched, ()),
        (Waits, ()),
        (CancelsActivity, ()),
        (ChargeOnce, (Order("o-2", -1),)),
        (Counter, (0, 2)),
    ]:
        handle = env.start(workflow.run, *args)
        with pytest.raises(WorkflowFailureError) if workflow is ChargeOnce else _nothing():
            handle.result()
        out.append((workflow, handle.histories))
    handle = env.start(Sleeper.run)
    handle.cancel()
    with pytest.raises(WorkflowFailureError):
        handle.result()
    out.append((Sleeper, handle.histories))
    terminated = env.start(Sleeper.run, id="terminated")
    terminated.terminate(reason="ops")
    out.append((Sleeper, terminated.histories))
    env.register_workflow(Sleeper)
    parent = env.start(TerminatesChild.run)
    env.get_handle("sleepy-child").terminate()
    parent.result()
    out.append((TerminatesChild, parent.histories))
    for workflow in (UpsertsAndCancelsChild, Deprecated):
        handle = env.start(workflow.run)
        handle.result()
        out.append((workflow, handle.histories))
    return out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.asyncio
async def test_temporalios_replayer_replays_our_exported_histories(env: DurableEnvironment) -> None:
    replayed = []
    for workflow, histories in _runs(env):
        for history in histories:
            exported = WorkflowHistory.from_json(history.workflow_id, to_temporal_json(history))
            replayer = SdkReplayer(
                workflows=list({workflow, Child, Sleeper}),
                workflow_runner=UnsandboxedWorkflowRunner(),
            )
            result = await replayer.replay_workflow(exported, raise_on_replay_failure=False)
            assert result.replay_failure is None, (workflow.__name__, result.replay_failure)
            replayed.append(workflow.__name__)
    assert len(replayed) == 13  # Counter continued as new once: two runs


def test_export_then_import_keeps_every_event(env: DurableEnvironment) -> None:
    for _workflow, histories in _runs(env):
        for history in histories:
            back = from_temporal_json(to_temporal_json(history), workflow_id=history.workflow_id)
            assert [e.kind for e in back.events] == [e.kind for e in history.events]
            assert [getattr(e, "input", None) for e in back.events] == [
                getattr(e, "input", None) for e in history.events
            ]


def test_upserts_and_a_child_cancel_export_in_temporals_shape(env: DurableEnvironment) -> None:
    env.register_workflow(Sleeper)
    env.register_activity(double)
    handle = env.run(UpsertsAndCancelsChild.run)
    assert handle.result() == "done"
    ours = handle.history.events
    upsert = next(e for e in ours if e.kind == "UpsertWorkflowSearchAttributes")
    memo = [e.upserted_memo for e in ours if e.kind == "WorkflowPropertiesModified"]
    assert memo == [{"stage": "started"}, {"stage": "CancelledError"}]
    doc = json.loads(to_temporal_json(handle.history))
    types = [e["eventType"].removeprefix("EVENT_TYPE_") for e in doc["events"]]
    assert types.count("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES") == 1
    assert types.count("WORKFLOW_PROPERTIES_MODIFIED") == 2
    initiated = types.index("REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED")
    delivered = types.index("EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
    assert delivered > initiated
    key = "requestCancelExternalWorkflowExecutionInitiatedEventAttributes"
    attrs = doc["events"][initiated][key]
    assert attrs["childWorkflowOnly"] is True
    assert attrs["workflowExecution"]["workflowId"] == "upserts-child"
    back_ref = doc["events"][delivered]["externalWorkflowExecutionCancelRequestedEventAttributes"]
    assert int(back_ref["initiatedEventId"]) == initiated + 1
    sa = doc["events"][types.index("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")]
    fields = sa["upsertWorkflowSearchAttributesEventAttributes"]["searchAttributes"]
    assert list(fields["indexedFields"]) == ["CustomerId"]
    back = from_temporal_json(to_temporal_json(handle.history), workflow_id=handle.id)
    assert [e.kind for e in back.events] == [e.kind for e in ours]
    again = next(e for e in back.events if e.kind == "UpsertWorkflowSearchAttributes")
    assert again.search_attributes == upsert.search_attributes  # type: ignore[attr-defined]
    assert Replayer(workflows=[UpsertsAndCancelsChild]).replay(back).divergences == ()


def test_cancelling_a_workflow_that_is_not_a_child_is_refused_on_import(
    env: DurableEnvironment,
) -> None:
    env.register_workflow(Sleeper)
    env.register_activity(double)
    handle = env.run(UpsertsAndCancelsChild.run)
    handle.result()
    text = to_temporal_json(handle.history).replace('"childWorkflowOnly": true', '"x": 1')
    assert text != to_temporal_json(handle.history)
    with pytest.raises(HistoryFormatError, match="not a child this run started"):
        from_temporal_json(text, workflow_id=handle.id)


def test_the_export_is_temporals_json(env: DurableEnvironment) -> None:
    env.register_activity(double)
    handle = env.run(Patched.run)
    doc = json.loads(to_temporal_json(handle.history))
    types = [e["eventType"] for e in doc["events"]]
    assert types[:4] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
    ]
    marker = doc["events"][4]["markerRecordedEventAttributes"]
    assert marker["markerName"] == "core_patch"
    assert to_workflow_history(handle.history).workflow_id == handle.id


def test_a_temporal_history_replays_here_and_a_breaking_change_names_the_event(
    env: DurableEnvironment, tmp_path: Path
) -> None:
    env.mock_activity(charge, returns="tx")
    env.mock_activity(double, returns=0)
    handle = env.start(Checkout.run, Order("o-3", 1))
    handle.signal(Checkout.approve, "eve")
    handle.result()
    path = tmp_path / "checkout.json"
    path.write_text(to_temporal_json(handle.history))
    assert Replayer(workflows=[Checkout]).replay(path).divergences == ()
    with pytest.raises(NondeterminismError) as caught:
        Replayer(workflows=[CheckoutReordered]).replay(path.read_text(), workflow_id="o-3")
    assert caught.value.event_id == 3
    patched = env.run(Patched.run).history
    assert Replayer(workflows=[Patched]).replay(to_workflow_history(patched)).divergences == ()
    with pytest.raises(NondeterminismError):
        Replayer(workflows=[PatchedRemoved]).replay(patched)


def test_an_event_kind_the_engine_lacks_is_refused_by_name() -> None:
    doc = {
        "events": [
            {
                "eventId": "1",
                "eventTime": "2030-01-01T00:00:00Z",
                "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
                "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "W"}},
            },
            {
                "eventId": "2",
                "eventTime": "2030-01-01T00:00:00Z",
                "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT",
                "workflowExecutionTimedOutEventAttributes": {},
            },
        ]
    }
    with pytest.raises(HistoryFormatError, match="EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT"):
        from_temporal_json(doc, workflow_id="w")
