"""temporalio's local activities run as the engine's own, recorded as Core's markers."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer as SdkReplayer
from temporalio.worker import UnsandboxedWorkflowRunner

from pytest_durable import DurableEnvironment, HistoryFormatError, NondeterminismError
from pytest_durable.errors import WorkflowTaskFailedError
from pytest_durable.temporal import Replayer, from_temporal_json, to_temporal_json

from .workflows import (
    LocalCall,
    LocalCancelled,
    LocalFails,
    LocalRetries,
    LocalThenBug,
    LocalTimesOut,
    double,
    flaky_local,
    slow_local,
)

_S = 1_000_000_000


@pytest.fixture
def env(env: DurableEnvironment) -> DurableEnvironment:
    for fn in (flaky_local, slow_local, double):
        env.register_activity(fn)
    return env


def _markers(handle: object) -> list[dict]:  # type: ignore[type-arg]
    events = handle.history.events  # type: ignore[attr-defined]
    return [e.details for e in events if e.kind == "MarkerRecorded"]


def test_a_local_activity_is_one_marker_with_no_activity_events(env: DurableEnvironment) -> None:
    handle = env.run(LocalCall.run, 4)
    assert handle.result() == 8
    kinds = [e.kind for e in handle.history.events]
    assert kinds == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "MarkerRecorded",
        "WorkflowExecutionCompleted",
    ]
    [marker] = _markers(handle)
    assert marker["result"] == 8
    assert marker["data"]["activity_type"] == "double"
    assert marker["data"]["seq"] == 1


def test_retries_within_the_threshold_stay_in_the_task(env: DurableEnvironment) -> None:
    handle = env.run(LocalRetries.run, 3, 5)
    result, now = handle.result()
    assert result == "ok at 3 local=True"  # activity.info().is_local
    assert now == "2030-01-01T00:00:06+00:00"  # backoffs of 2 s and 4 s, in the task
    [marker] = _markers(handle)
    assert marker["data"]["attempt"] == 3
    assert "TimerStarted" not in [e.kind for e in handle.history.events]


def test_a_backoff_past_the_threshold_is_a_marker_then_a_workflow_timer(
    env: DurableEnvironment,
) -> None:
    handle = env.run(LocalRetries.run, 3, 1)
    assert handle.result()[0] == "ok at 3 local=True"
    kinds = [e.kind for e in handle.history.events]
    assert kinds.count("TimerStarted") == 2
    first, second, last = _markers(handle)
    assert first["data"]["backoff_ns"] == 2 * _S
    assert second["data"]["backoff_ns"] == 4 * _S
    assert (first["data"]["seq"], second["data"]["seq"], last["data"]["seq"]) == (1, 2, 3)
    assert last["data"]["attempt"] == 3
    # The schedule-to-close origin is the first attempt's, across the timer backoffs.
    origins = {m["data"]["original_schedule_time_ns"] for m in (first, second, last)}
    assert len(origins) == 1


def test_failures_timeouts_and_cancellation_reach_the_workflow_as_activity_errors(
    env: DurableEnvironment,
) -> None:
    assert env.run(LocalFails.run).result() == "MAXIMUM_ATTEMPTS_REACHED: not yet (attempt 2)"
    timed_out = env.run(LocalTimesOut.run)
    assert timed_out.result() == "TimeoutError"
    [marker] = _markers(timed_out)
    assert marker["failure"]["timeout_type"] == "SCHEDULE_TO_CLOSE"
    cancelled = env.run(LocalCancelled.run)
    assert cancelled.result() == "CancelledError"
    quick, slow = _markers(cancelled)
    assert quick["data"]["activity_type"] == "flaky_local"
    assert slow["retry_state"] == "CANCEL_REQUESTED"


def test_mocks_serve_local_activities(env: DurableEnvironment) -> None:
    env.mock_activity(double, returns=41)
    assert env.run(LocalCall.run, 4).result() == 41


_ALL = [
    (LocalCall, (4,)),
    (LocalRetries, (3, 5)),
    (LocalRetries, (3, 1)),
    (LocalFails, ()),
    (LocalTimesOut, ()),
    (LocalCancelled, ()),
]


def test_crashes_and_replay_every_task_resolve_local_activities_from_their_markers(
    make_env: object,
) -> None:
    env = make_env(replay_every_task=True)  # type: ignore[operator]
    for fn in (flaky_local, slow_local, double):
        env.register_activity(fn)
    for workflow, args in _ALL:
        handle = env.start(workflow.run, *args)
        handle.result()
        before = [e.kind for e in handle.history.events]
        env.crash_worker(handle.id)
        assert Replayer(workflows=[workflow]).replay(handle.history).divergences == ()
        assert [e.kind for e in handle.history.events] == before


@pytest.mark.asyncio
async def test_temporalios_replayer_replays_local_activity_markers(
    env: DurableEnvironment,
) -> None:
    for workflow, args in _ALL:
        handle = env.run(workflow.run, *args)
        exported = WorkflowHistory.from_json(handle.id, to_temporal_json(handle.history))
        result = await SdkReplayer(
            workflows=[workflow], workflow_runner=UnsandboxedWorkflowRunner()
        ).replay_workflow(exported, raise_on_replay_failure=False)
        assert result.replay_failure is None, (workflow.__name__, result.replay_failure)


@pytest.mark.asyncio
async def test_the_marker_is_in_cores_shape_and_a_changed_one_fails_temporalios_replay(
    env: DurableEnvironment,
) -> None:
    handle = env.run(LocalRetries.run, 3, 1)
    doc = json.loads(to_temporal_json(handle.history))
    markers = [
        e["markerRecordedEventAttributes"]
        for e in doc["events"]
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
    ]
    assert [m["markerName"] for m in markers] == ["core_local_activity"] * 3
    first = markers[0]
    assert "failure" in first and "result" not in first["details"]
    payload = first["details"]["data"]["payloads"][0]
    data = json.loads(b64decode(payload["data"]))
    assert list(data) == [
        "seq",
        "attempt",
        "activity_id",
        "activity_type",
        "complete_time",
        "backoff",
        "original_schedule_time",
    ]
    assert data["backoff"] == {"seconds": 2, "nanos": 0}
    assert data["complete_time"]["seconds"] >= 1893456000  # 2030-01-01
    assert "result" in markers[2]["details"] and "failure" not in markers[2]
    # Core matches each marker to the code's local activity by sequence number.
    changed = json.loads(to_temporal_json(handle.history))
    for event in changed["events"]:
        attrs = event.get("markerRecordedEventAttributes")
        if attrs:
            raw = attrs["details"]["data"]["payloads"][0]
            body = json.loads(b64decode(raw["data"]))
            body["seq"] = 7
            raw["data"] = b64encode(json.dumps(body).encode()).decode()
            break
    result = await SdkReplayer(
        workflows=[LocalRetries], workflow_runner=UnsandboxedWorkflowRunner()
    ).replay_workflow(WorkflowHistory.from_json(handle.id, changed), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "LocalActivity(7)" in str(result.replay_failure)  # Core: no such local activity


def test_import_keeps_the_markers_and_replays_here(env: DurableEnvironment) -> None:
    for workflow, args in _ALL:
        handle = env.run(workflow.run, *args)
        back = from_temporal_json(to_temporal_json(handle.history), workflow_id=handle.id)
        ours = [e.details for e in handle.history.events if e.kind == "MarkerRecorded"]
        theirs = [e.details for e in back.events if e.kind == "MarkerRecorded"]
        assert [m["data"] for m in theirs] == [m["data"] for m in ours]
        assert [m.get("result") for m in theirs] == [m.get("result") for m in ours]
        assert [m.get("retry_state") for m in theirs] == [m.get("retry_state") for m in ours]
        assert Replayer(workflows=[workflow]).replay(back).divergences == ()


def test_a_changed_local_activity_fails_replay_naming_it(env: DurableEnvironment) -> None:
    handle = env.run(LocalCall.run, 4)
    text = to_temporal_json(handle.history)
    history = from_temporal_json(text, workflow_id=handle.id)
    data = history.events[2].details["data"]  # type: ignore[attr-defined]
    data["activity_type"] = "triple"
    with pytest.raises(NondeterminismError, match="triple"):
        Replayer(workflows=[LocalCall]).replay(history)


def test_a_malformed_local_activity_marker_is_refused_on_import(env: DurableEnvironment) -> None:
    handle = env.run(LocalCall.run, 4)
    doc = json.loads(to_temporal_json(handle.history))
    for event in doc["events"]:
        attrs = event.get("markerRecordedEventAttributes")
        if attrs:
            attrs["details"]["data"]["payloads"][0]["data"] = "bm90IGpzb24="  # "not json"
    with pytest.raises(HistoryFormatError, match="LocalActivityMarkerData"):
        from_temporal_json(doc, workflow_id=handle.id)


def test_time_skips_over_a_local_activitys_timeouts(env: DurableEnvironment) -> None:
    started = env.now()
    assert env.run(LocalTimesOut.run).result() == "TimeoutError"
    assert env.now() - started >= timedelta(seconds=10)


def test_a_bug_after_a_local_activity_discards_the_task_and_its_marker(
    env: DurableEnvironment,
) -> None:
    handle = env.start(LocalThenBug.run)
    with pytest.raises(WorkflowTaskFailedError, match="a bug after the local activity"):
        handle.result()
    # As on Temporal: the failed task records nothing, its marker included; the run stays open.
    assert [e.kind for e in handle.history.events] == ["WorkflowExecutionStarted"]
    assert handle.describe().status == "running"
