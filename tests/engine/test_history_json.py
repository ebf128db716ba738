"""History JSON: lossless round trips, the canonical document, and errors that say where."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_durable import (
    ApplicationError,
    DurableEnvironment,
    History,
    HistoryFormatError,
    RetryPolicy,
    activity,
    workflow,
)
from pytest_durable.engine import (
    events as ev,
)
from pytest_durable.engine import (
    format_duration,
    format_time,
    parse_duration,
    parse_time,
)


@activity.defn
async def flaky(n: int) -> dict[str, Any]:
    if activity.info().attempt < 2:
        raise ValueError("first attempt fails")
    return {"n": n, "unicode": "naïve ✓", "nested": [1, 2.5, None, True]}


@workflow.defn
class Kid:
    @workflow.run
    async def run(self) -> str:
        return "kid"


@workflow.defn
class Everything:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, label: str) -> list[Any]:
        out: list[Any] = [label, workflow.patched("v2")]
        out.append(
            await workflow.execute_activity(
                flaky,
                7,
                start_to_close_timeout=timedelta(seconds=1, microseconds=5),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=250)),
            )
        )
        try:
            await asyncio.wait_for(workflow.sleep(timedelta(days=2)), timeout=0.5)
        except TimeoutError:
            out.append("timer cancelled")
        out.append(await workflow.execute_child_workflow(Kid.run))
        await workflow.wait_condition(lambda: self.go)
        try:
            await workflow.execute_activity(
                "missing",
                start_to_close_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except Exception as err:
            out.append(type(err).__name__)
        return out

    @workflow.signal
    def proceed(self, note: str) -> None:
        self.go = True


def everything(env: DurableEnvironment) -> History:
    handle = env.start(Everything, "ünïcode label", id="every-1")
    env.sleep(timedelta(hours=1))
    handle.signal(Everything.proceed, "now")
    handle.result()
    return handle.history


def test_round_trip_is_lossless(env: DurableEnvironment) -> None:
    history = everything(env)
    kinds = {e.kind for e in history}
    assert {
        "MarkerRecorded",
        "ActivityTaskFailed",
        "TimerCanceled",
        "TimerFired",
        "ChildWorkflowExecutionCompleted",
        "WorkflowExecutionSignaled",
    } <= kinds
    text = history.to_json()
    again = History.from_json(text)
    assert again == history
    assert list(again) == list(history)  # every field of every event, exactly
    assert History.from_json(text.encode()) == history
    assert History.from_json(json.loads(text)) == history


def test_canonical_document(env: DurableEnvironment) -> None:
    history = everything(env)
    text = history.to_json()
    lines = text.split("\n")
    assert lines[:6] == [
        "{",
        '  "format": "pytest-durable-history",',
        '  "version": 1,',
        '  "workflow_type": "Everything",',
        '  "workflow_id": "every-1",',
        f'  "run_id": "{history.run_id}",',
    ]
    assert lines[6] == '  "events": ['
    assert text.endswith("  ]\n}\n")
    event_lines = lines[7:-3]
    assert len(event_lines) == len(history)  # one event per line
    for event, line in zip(history, event_lines, strict=True):
        data = json.loads(line.strip().rstrip(","))
        assert list(data)[:3] == ["id", "time", "type"]
        assert data["id"] == event.event_id
    assert "ünïcode label" in text  # readable, not \\u-escaped
    # Re-serialising the parsed document gives the same bytes.
    assert History.from_json(text).to_json() == text


def test_times_and_durations_are_readable(env: DurableEnvironment) -> None:
    history = everything(env)
    doc = json.loads(history.to_json())
    first = doc["events"][0]
    assert first["time"] == "2030-01-01T00:00:00Z"
    scheduled = next(e for e in doc["events"] if e["type"] == "ActivityTaskScheduled")
    assert scheduled["start_to_close_timeout"] == "1.000005s"
    assert "start_to_close_timeout_ns" not in scheduled
    timer = next(e for e in doc["events"] if e["type"] == "TimerStarted")
    assert timer["duration"] in ("172800s", "0.5s")


def test_same_seed_same_document(make_env: Any) -> None:
    first = everything(make_env(seed=7)).to_json()
    second = everything(make_env(seed=7)).to_json()
    third = everything(make_env(seed=8)).to_json()
    assert first == second
    assert first != third


def test_save_and_load(env: DurableEnvironment, tmp_path: Path) -> None:
    history = everything(env)
    path = history.save(tmp_path / "nested" / "dir" / "every.json")
    assert path.read_text(encoding="utf-8") == history.to_json()
    assert History.load(path) == history


def test_history_is_a_read_only_sequence(env: DurableEnvironment) -> None:
    history = everything(env)
    assert history[0] is history.events[0]
    assert isinstance(history[1:3], list)
    assert history.of_kind("TimerStarted") == history.of_kind(ev.TimerStarted)
    assert history.workflow_type == "Everything"
    assert history.workflow_id == "every-1"
    assert "every-1" in repr(history)
    history.events.clear()  # a copy
    assert len(history) > 0
    assert hash(history) == hash(History.from_json(history.to_json()))


def test_timeline_renders_one_line_per_event(env: DurableEnvironment) -> None:
    history = everything(env)
    lines = history.timeline().splitlines()
    assert len(lines) == len(history)
    assert lines[0].split()[:3] == ["1", "2030-01-01T00:00:00Z", "WorkflowExecutionStarted"]
    failed = next(line for line in lines if "ActivityTaskFailed" in line)
    assert "failure=ApplicationError[NotFoundError]" in failed


# --- errors that say where ------------------------------------------------------------------------


def document(env: DurableEnvironment) -> dict[str, Any]:
    history = env.run(Kid).history
    return json.loads(history.to_json())


def error_for(doc: Any, source: str = "goldens/kid.json") -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(HistoryFormatError) as info:
        History.from_json(text, source=source)
    return str(info.value)


def test_not_json(env: DurableEnvironment) -> None:
    text = History.from_json(json.dumps(document(env))).to_json()
    broken = text.replace('"version": 1,', '"version": 1', 1)
    message = error_for(broken)
    assert message.startswith("goldens/kid.json: not valid JSON at line 4 column")


def test_not_a_history(env: DurableEnvironment) -> None:
    assert "not a pytest-durable history" in error_for({"events": []})
    assert "not a pytest-durable history" in error_for([1, 2])


def test_newer_version(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["version"] = 2
    message = error_for(doc)
    assert message.startswith("goldens/kid.json: history format version 2 is newer")
    assert "upgrade pytest-durable" in message


@pytest.mark.parametrize("version", ["1", None, True, 1.0])
def test_version_must_be_an_integer(env: DurableEnvironment, version: Any) -> None:
    doc = document(env)
    doc["version"] = version
    assert '"version" must be an integer' in error_for(doc)


@pytest.mark.parametrize("events", [[], {}, None])
def test_events_must_be_a_non_empty_list(env: DurableEnvironment, events: Any) -> None:
    doc = document(env)
    doc["events"] = events
    assert '"events" must be a non-empty list' in error_for(doc)


def test_event_not_an_object(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["events"][1] = "oops"
    assert error_for(doc) == ("goldens/kid.json: events[1]: expected an event object, got str")


def test_unknown_event_type(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["events"][1]["type"] = "WorkflowTaskExploded"
    message = error_for(doc)
    assert message.startswith(
        "goldens/kid.json: events[1]: unknown event type 'WorkflowTaskExploded'"
    )
    assert "WorkflowTaskCompleted" in message  # lists the known ones


def test_missing_field(env: DurableEnvironment) -> None:
    doc = document(env)
    del doc["events"][0]["workflow_type"]
    message = error_for(doc)
    assert message.startswith("goldens/kid.json: events[0] (WorkflowExecutionStarted):")
    assert "workflow_type" in message


@pytest.mark.parametrize(
    ("index", "key", "value", "words"),
    [
        (0, "randomness_seed", "abc", "'randomness_seed' must be int"),
        (0, "input", {"a": 1}, "'input' must be list"),
        (0, "parent_workflow_id", 5, "'parent_workflow_id' must be str or null"),
        (0, "attempt", True, "'attempt' must be int"),
        (0, "workflow_id", None, "'workflow_id' must be str"),
        (2, "result", object, None),
    ],
)
def test_wrong_field_types_name_the_place(
    env: DurableEnvironment, index: int, key: str, value: Any, words: str | None
) -> None:
    doc = document(env)
    if value is object:
        # Any JSON value is a fine result.
        doc["events"][index][key] = {"any": ["json", 1]}
        History.from_json(json.dumps(doc))
        return
    doc["events"][index][key] = value
    message = error_for(doc)
    assert message.startswith(f"goldens/kid.json: events[{index}] (")
    assert words is not None and words in message


def test_bad_time_and_duration(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["events"][1]["time"] = "yesterday"
    assert error_for(doc).startswith("goldens/kid.json: events[1] (WorkflowTaskCompleted):")
    doc = document(env)
    doc["events"][0]["id"] = "1"
    assert "'id' must be an integer" in error_for(doc)


def test_ids_must_be_consecutive(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["events"][2]["id"] = 7
    assert error_for(doc) == (
        "goldens/kid.json: events[2] has id 7, expected 3 (event ids are consecutive from 1)"
    )


def test_must_start_with_workflow_execution_started(env: DurableEnvironment) -> None:
    doc = document(env)
    doc["events"] = doc["events"][1:]
    for i, event in enumerate(doc["events"], start=1):
        event["id"] = i
    assert "must begin with a WorkflowExecutionStarted" in error_for(doc)


def test_load_names_the_path(env: DurableEnvironment, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(HistoryFormatError) as info:
        History.load(path)
    assert str(info.value).startswith(f"{path}: not valid JSON at line 1 column 3")
    with pytest.raises(HistoryFormatError, match="cannot read history file"):
        History.load(tmp_path / "missing.json")


def test_a_failed_load_changes_nothing(env: DurableEnvironment, tmp_path: Path) -> None:
    handle = env.run(Kid)
    before = handle.history.to_json()
    doc = json.loads(before)
    doc["version"] = 99
    (tmp_path / "h.json").write_text(json.dumps(doc))
    with pytest.raises(HistoryFormatError):
        History.load(tmp_path / "h.json")
    assert handle.history.to_json() == before


# --- the pure codecs --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=253402300799 * 10**9 + 999_999_999))
def test_time_round_trip(ns: int) -> None:
    text = format_time(ns)
    assert text.endswith("Z")
    assert parse_time(text) == ns


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_duration_round_trip(ns: int) -> None:
    text = format_duration(ns)
    assert parse_duration(text) == ns


def test_codec_examples() -> None:
    assert format_time(1) == "1970-01-01T00:00:00.000000001Z"
    assert format_duration(30 * 10**9) == "30s"
    assert format_duration(250_000_000) == "0.25s"
    assert format_duration(10**9 + 1) == "1.000000001s"
    for bad in ("30", "1.0000000001s", "xs", "-s"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_time("2030-01-01T00:00:00")


def test_application_error_details_survive_history(env: DurableEnvironment) -> None:
    @workflow.defn
    class Fails:
        @workflow.run
        async def run(self) -> None:
            raise ApplicationError("nope", {"k": [1, 2]}, "two", type="Custom")

    history = env.run(Fails).history
    again = History.from_json(history.to_json())
    failed = again[-1]
    assert isinstance(failed, ev.WorkflowExecutionFailed)
    assert failed.failure["details"] == [{"k": [1, 2]}, "two"]
    assert failed.failure["type"] == "Custom"


def test_events_expose_their_time_as_a_datetime(env: DurableEnvironment) -> None:
    history = everything(env)
    for event in history:
        assert event.time.tzinfo is not None
        assert event.time.utcoffset() == timedelta(0)
        assert event.time.timestamp() * 1e9 == pytest.approx(event.time_ns, abs=1_000)
    fired = history.of_kind(ev.TimerFired)[0]
    started = history[fired.started_event_id - 1]  # type: ignore[attr-defined]
    assert isinstance(started, ev.TimerStarted)
    assert fired.time - started.time == timedelta(seconds=started.duration_ns / 1e9)


def test_event_time_keeps_microseconds_and_cuts_nanoseconds() -> None:
    exact = parse_time("2030-01-01T00:00:01.000002999Z")
    event = ev.WorkflowTaskCompleted(event_id=2, time_ns=exact)
    assert event.time == datetime(2030, 1, 1, 0, 0, 1, 2, tzinfo=UTC)
    before_epoch = ev.WorkflowTaskCompleted(event_id=2, time_ns=-1)
    assert before_epoch.time == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
