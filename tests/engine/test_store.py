"""InMemoryStore: compare-and-set appends keyed by run, and the engine's use of them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from pytest_durable import ConcurrentAppendError, DurableEnvironment, InMemoryStore, workflow
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


def test_append_and_read() -> None:
    store = InMemoryStore()
    assert store.read(("w", "r1")) == []
    store.append(("w", "r1"), [started()], expected_length=0)
    store.append(("w", "r1"), [task(2), task(3)], expected_length=1)
    assert [e.event_id for e in store.read(("w", "r1"))] == [1, 2, 3]
    assert store.runs() == [("w", "r1")]


def test_read_returns_a_copy() -> None:
    store = InMemoryStore()
    store.append(("w", "r1"), [started()], expected_length=0)
    events = store.read(("w", "r1"))
    events.append(task(2))
    assert len(store.read(("w", "r1"))) == 1


@pytest.mark.parametrize("expected", [0, 2, 5])
def test_compare_and_set_refuses_a_stale_length(expected: int) -> None:
    store = InMemoryStore()
    store.append(("w", "r1"), [started()], expected_length=0)
    with pytest.raises(ConcurrentAppendError) as info:
        store.append(("w", "r1"), [task(2)], expected_length=expected)
    assert str(info.value) == (
        f"history of run 'r1' (workflow 'w') has 1 events, expected {expected}: another "
        "worker appended first"
    )
    assert len(store.read(("w", "r1"))) == 1  # nothing was appended


def test_runs_are_separate_and_listed_in_creation_order() -> None:
    store = InMemoryStore()
    store.append(("w", "r2"), [started("r2")], expected_length=0)
    store.append(("v", "r1"), [started("r1")], expected_length=0)
    store.append(("w", "r2"), [task(2)], expected_length=1)
    assert store.runs() == [("w", "r2"), ("v", "r1")]
    assert len(store.read(("v", "r1"))) == 1


def test_only_one_of_two_racing_workers_appends() -> None:
    store = InMemoryStore()
    store.append(("w", "r1"), [started()], expected_length=0)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            store.append(("w", "r1"), [task(2)], expected_length=1)
            outcomes.append("appended")
        except ConcurrentAppendError:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["appended"] + ["refused"] * 7
    assert len(store.read(("w", "r1"))) == 2


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


def test_a_concurrent_append_is_not_swallowed(
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
    # Another worker sneaks an event in: this engine's next append must fail, not overwrite.
    key = (handle.id, handle.run_id)
    store.append(key, [task(len(store.read(key)) + 1)], expected_length=len(store.read(key)))
    with pytest.raises(ConcurrentAppendError):
        handle.result()
