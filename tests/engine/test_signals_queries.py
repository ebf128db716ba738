"""Signals and queries: delivery order, typed arguments, early signals, read-only queries."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from datetime import timedelta

import pytest

from pytest_durable import (
    DurableEnvironment,
    QueryError,
    UnknownQueryError,
    UnknownSignalError,
    WorkflowNotRunningError,
    activity,
    workflow,
)
from pytest_durable.engine import events as ev

from ._helpers import at


@dataclass
class Approval:
    by: str
    level: int


@activity.defn
async def notify(who: str) -> str:
    return f"notified {who}"


@workflow.defn
class Inbox:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.approval: Approval | None = None
        self.stage = "new"

    @workflow.run
    async def run(self, wanted: int) -> list[str]:
        self.stage = "waiting"
        await workflow.wait_condition(lambda: len(self.received) >= wanted)
        self.stage = "done"
        return self.received

    @workflow.signal
    def add(self, item: str) -> None:
        self.received.append(item)

    @workflow.signal(name="approve-it")
    def approve(self, approval: Approval) -> None:
        assert isinstance(approval, Approval)  # decoded by the handler's type hint
        self.approval = approval
        self.received.append(f"approved by {approval.by} at level {approval.level}")

    @workflow.signal
    async def add_later(self, item: str, seconds: int) -> None:
        await asyncio.sleep(seconds)
        self.received.append(item)

    @workflow.query
    def status(self) -> str:
        return self.stage

    @workflow.query
    def count_matching(self, prefix: str) -> int:
        return sum(1 for r in self.received if r.startswith(prefix))

    @workflow.query
    def sneaky_activity(self) -> None:
        workflow.start_activity(notify, "x", start_to_close_timeout=timedelta(seconds=5))

    @workflow.query
    def sneaky_task(self) -> None:
        self.task = asyncio.ensure_future(asyncio.sleep(5))

    @workflow.query
    def sneaky_timer(self) -> None:
        asyncio.get_running_loop().call_later(5, print)


def test_signals_are_delivered_in_order(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 3)
    handle.signal(Inbox.add, "a")
    env.sleep(timedelta(minutes=1))
    handle.signal("add", "b")  # by name too
    handle.signal(Inbox.add, "c")
    assert handle.result() == ["a", "b", "c"]
    signaled = handle.history.of_kind(ev.WorkflowExecutionSignaled)
    assert [(e.signal_name, e.input) for e in signaled] == [
        ("add", ["a"]),
        ("add", ["b"]),
        ("add", ["c"]),
    ]
    assert [e.time_ns for e in signaled] == [
        env.now_ns() - 60 * 10**9,
        env.now_ns(),
        env.now_ns(),
    ]


def test_signal_arguments_are_decoded_by_type_hint(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 1)
    handle.signal(Inbox.approve, Approval(by="dana", level=2))
    assert handle.result() == ["approved by dana at level 2"]
    (signaled,) = handle.history.of_kind(ev.WorkflowExecutionSignaled)
    assert signaled.signal_name == "approve-it"
    assert signaled.input == [{"by": "dana", "level": 2}]


def test_async_signal_handler_can_sleep(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 2)
    handle.signal(Inbox.add_later, "slow", 3600)
    handle.signal(Inbox.add, "fast")
    assert handle.result() == ["fast", "slow"]
    assert env.now() == at(hours=1)


def test_signal_before_the_workflow_first_runs(env: DurableEnvironment) -> None:
    # Start without letting the first workflow task run, then signal: the first task then holds
    # both, and the handler runs before the run method's first line observes state.
    definition = env.register_workflow(Inbox)
    env.engine.start_workflow(definition, [1], workflow_id="early")
    env.engine.signal("early", "add", ["first"])
    handle = env.get_handle("early")
    assert handle.result() == ["first"]
    history = handle.history
    assert [e.kind for e in history[:3]] == [
        "WorkflowExecutionStarted",
        "WorkflowExecutionSignaled",
        "WorkflowTaskCompleted",
    ]
    # Only one workflow task was needed: the condition was already true when run() got there.
    assert len(history.of_kind(ev.WorkflowTaskCompleted)) == 1


def test_signal_before_first_run_is_seen_by_the_run_method(env: DurableEnvironment) -> None:
    @workflow.defn
    class Early:
        def __init__(self) -> None:
            self.items: list[str] = []

        @workflow.run
        async def run(self) -> list[str]:
            return list(self.items)  # no waiting at all

        @workflow.signal
        def add(self, item: str) -> None:
            self.items.append(item)

    definition = env.register_workflow(Early)
    env.engine.start_workflow(definition, [], workflow_id="early")
    env.engine.signal("early", "add", ["x"])
    env.engine.signal("early", "add", ["y"])
    assert env.get_handle("early").result() == ["x", "y"]


def test_unknown_signal_names_the_known_ones(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 1)
    with pytest.raises(UnknownSignalError) as info:
        handle.signal("nope", 1)
    message = str(info.value)
    assert "'nope'" in message
    assert "add, add_later, approve-it" in message
    assert not handle.history.of_kind(ev.WorkflowExecutionSignaled)
    handle.signal(Inbox.add, "still fine")
    assert handle.result() == ["still fine"]


def test_signal_to_a_finished_workflow(env: DurableEnvironment) -> None:
    handle = env.run(Inbox, 0)
    before = handle.history
    with pytest.raises(WorkflowNotRunningError, match="already completed"):
        handle.signal(Inbox.add, "late")
    assert handle.history == before


# --- queries -------------------------------------------------------------------------------------


def test_query_reads_state_without_touching_history(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 2)
    length = len(handle.history)
    assert handle.query(Inbox.status) == "waiting"
    handle.signal(Inbox.add, "apple")
    assert handle.query("count_matching", "ap") == 1
    assert handle.query(Inbox.count_matching, "b") == 0
    assert len(handle.history) == length + 2  # the signal and its task, nothing for queries
    handle.signal(Inbox.add, "banana")
    handle.result()
    assert handle.query(Inbox.status) == "done"  # closed workflows answer queries too


def test_query_answers_after_a_crash(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 3)
    handle.signal(Inbox.add, "a1")
    handle.signal(Inbox.add, "a2")
    assert env.crash_worker() >= 1
    assert handle.query(Inbox.count_matching, "a") == 2
    assert handle.query(Inbox.status) == "waiting"


def test_query_without_instance_cache(make_env: object) -> None:
    env: DurableEnvironment = make_env(replay_every_task=True)
    handle = env.start(Inbox, 2)
    handle.signal(Inbox.add, "a")
    assert handle.query(Inbox.count_matching, "a") == 1


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("sneaky_activity", "schedule an activity"),
        ("sneaky_task", "start a task"),
        ("sneaky_timer", "start a timer"),
    ],
)
def test_query_that_tries_to_schedule_fails(env: DurableEnvironment, query: str, what: str) -> None:
    handle = env.start(Inbox, 1)
    before = handle.history
    with pytest.raises(QueryError) as info:
        handle.query(query)
    assert f"query {query!r} tried to {what}" in str(info.value)
    assert "read-only" in str(info.value)
    del info
    gc.collect()  # a refused coroutine must have been closed, not left to warn "never awaited"
    # Nothing leaked into history, and the workflow carries on normally.
    assert handle.history == before
    handle.signal(Inbox.add, "x")
    assert handle.result() == ["x"]
    assert not handle.history.of_kind(ev.ActivityTaskScheduled)
    assert not handle.history.of_kind(ev.TimerStarted)


def test_unknown_query_names_the_known_ones(env: DurableEnvironment) -> None:
    handle = env.start(Inbox, 1)
    with pytest.raises(UnknownQueryError) as info:
        handle.query("nope")
    assert "count_matching, sneaky_activity, sneaky_task, sneaky_timer, status" in str(info.value)


def test_async_query_is_rejected_at_definition() -> None:
    from pytest_durable import InvalidDefinitionError

    with pytest.raises(InvalidDefinitionError, match="must be a plain 'def'"):

        class Bad:
            @workflow.query
            async def status(self) -> str:
                return ""
