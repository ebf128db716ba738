"""The contract every Store keeps; a new store passes this suite by adding its factory below.

The engine relies on exactly these properties: compare-and-set on the history length, a read
sees every append that returned, events keep their order, runs are separate, and of several
appenders racing on one length exactly one wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from pytest_durable import ConcurrentAppendError, InMemoryStore
from pytest_durable.engine import Store
from pytest_durable.engine import events as ev

STORES: dict[str, Callable[[], Store]] = {"in-memory": InMemoryStore}

KEY = ("w", "r1")


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> Store:
    return STORES[request.param]()


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
    return ev.WorkflowTaskCompleted(event_id=event_id, time_ns=event_id)


def test_an_unknown_run_reads_empty(store: Store) -> None:
    assert store.read(KEY) == []
    assert store.runs() == []


def test_read_after_append_sees_everything_in_order(store: Store) -> None:
    store.append(KEY, [started()], expected_length=0)
    assert store.read(KEY) == [started()]
    store.append(KEY, [task(2), task(3)], expected_length=1)
    store.append(KEY, [task(4)], expected_length=3)
    assert [e.event_id for e in store.read(KEY)] == [1, 2, 3, 4]
    assert store.read(KEY)[1:] == [task(2), task(3), task(4)]


def test_read_returns_a_copy(store: Store) -> None:
    store.append(KEY, [started()], expected_length=0)
    events = store.read(KEY)
    events.append(task(2))
    events.clear()
    assert store.read(KEY) == [started()]


@pytest.mark.parametrize("expected", [0, 2, 5])
def test_compare_and_set_refuses_a_stale_or_future_length(store: Store, expected: int) -> None:
    store.append(KEY, [started()], expected_length=0)
    with pytest.raises(ConcurrentAppendError, match="expected"):
        store.append(KEY, [task(2)], expected_length=expected)
    assert store.read(KEY) == [started()]  # a refused append adds nothing


def test_a_new_run_must_be_appended_at_length_zero(store: Store) -> None:
    with pytest.raises(ConcurrentAppendError):
        store.append(KEY, [started()], expected_length=1)
    assert store.read(KEY) == []


def test_runs_are_separate_and_listed_in_creation_order(store: Store) -> None:
    store.append(("w", "r2"), [started("r2")], expected_length=0)
    store.append(("v", "r1"), [started("r1")], expected_length=0)
    store.append(("w", "r2"), [task(2)], expected_length=1)
    assert store.runs() == [("w", "r2"), ("v", "r1")]
    assert len(store.read(("v", "r1"))) == 1
    assert len(store.read(("w", "r2"))) == 2


def test_of_appenders_racing_on_one_length_exactly_one_wins(store: Store) -> None:
    store.append(KEY, [started()], expected_length=0)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def appender() -> None:
        barrier.wait()
        try:
            store.append(KEY, [task(2)], expected_length=1)
            outcomes.append("appended")
        except ConcurrentAppendError:
            outcomes.append("refused")

    threads = [threading.Thread(target=appender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["appended"] + ["refused"] * 7
    assert len(store.read(KEY)) == 2


def test_concurrent_appenders_that_reread_and_retry_build_one_gapless_history(
    store: Store,
) -> None:
    store.append(KEY, [started()], expected_length=0)
    per_thread = 50

    def appender() -> None:
        done = 0
        while done < per_thread:
            length = len(store.read(KEY))
            try:
                store.append(KEY, [task(length + 1)], expected_length=length)
            except ConcurrentAppendError:
                continue
            done += 1

    threads = [threading.Thread(target=appender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = store.read(KEY)
    assert [e.event_id for e in events] == list(range(1, 4 * per_thread + 2))
