"""The engine's use of its store (the store's own contract is in test_store_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pytest_durable import DurableEnvironment, InMemoryStore, workflow
from pytest_durable.engine import events as ev


def started(run_id: str = "r1") -> ev.WorkflowExecutionStarted:
    return ev.WorkflowExecutionStarted(
        event_id=1,
        time_ns=0,
        workflow_type="W",
        workflow_id="w",
        run_id=run_id,
        input=[],
        randomness_seed=1,
    )


def task(event_id: int) -> ev.WorkflowTaskCompleted:
    return ev.WorkflowTaskCompleted(event_id=event_id, time_ns=0)


def test_the_engine_writes_every_event_through_the_store(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    store = InMemoryStore()
    env = make_env(store=store)

    @workflow.defn
    class Naps:
        @workflow.run
        async def run(self) -> None:
            for _ in range(3):
                await workflow.sleep(timedelta(minutes=1))

    handle = env.run(Naps)
    assert store.runs() == [(handle.id, handle.run_id)]
    assert store.read((handle.id, handle.run_id)) == list(handle.history)


def test_an_event_another_worker_appended_is_kept_not_overwritten(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    store = InMemoryStore()
    env = make_env(store=store)

    @workflow.defn
    class Waits:
        @workflow.run
        async def run(self) -> None:
            await workflow.sleep(timedelta(minutes=1))

    handle = env.start(Waits)
    # Another worker sneaks an (empty) workflow task in: this engine's next append is refused,
    # so it re-reads the history from the store and appends after what it found there.
    key = (handle.id, handle.run_id)
    store.append(key, [task(len(store.read(key)) + 1)], expected_length=len(store.read(key)))
    handle.result()
    kinds = [e.kind for e in store.read(key)]
    assert kinds == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "TimerStarted",
        "WorkflowTaskCompleted",  # the other worker's
        "TimerFired",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]
    assert [e.event_id for e in store.read(key)] == list(range(1, 8))
    assert list(handle.history) == store.read(key)
