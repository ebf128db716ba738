"""The append seam: every event goes through one compare-and-set append, then the cache.

A refused workflow-task append drops the instance, re-reads history and re-drives the task; a
refused input append re-reads and appends again. Observers hear of exactly what the store holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest

from pytest_durable import (
    ConcurrentAppendError,
    DurableEnvironment,
    InMemoryStore,
    RetryPolicy,
    activity,
    workflow,
)
from pytest_durable.engine import (
    AttemptFinished,
    AttemptOutcome,
    AttemptStarted,
    EventsAppended,
    Notice,
    RunClosed,
    RunKey,
)
from pytest_durable.engine._engine import MAX_APPEND_CONFLICTS
from pytest_durable.engine._events import Event

from ._helpers import at


class RefusingStore(InMemoryStore):
    """Refuses chosen appends (by their number per run, from 1) as a second worker would."""

    def __init__(self, refuse: Sequence[int] = (), *, always_after: int | None = None) -> None:
        super().__init__()
        self.refuse = set(refuse)
        self.always_after = always_after
        self.attempts: dict[RunKey, int] = {}
        self.refused = 0

    def append(self, key: RunKey, events: Sequence[Event], *, expected_length: int) -> None:
        n = self.attempts[key] = self.attempts.get(key, 0) + 1
        if n in self.refuse or (self.always_after is not None and n > self.always_after):
            self.refused += 1
            raise ConcurrentAppendError(f"append {n} of {key[1]!r} refused")
        super().append(key, events, expected_length=expected_length)


@workflow.defn
class TwoTimers:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(minutes=1))
        await workflow.sleep(timedelta(minutes=2))
        return "woke twice"


def kinds(events: Sequence[Event]) -> list[str]:
    return [e.kind for e in events]


def test_a_refused_workflow_task_is_redriven_not_wedged(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    # Append 2 of the run is its first workflow task (the timer). Before the seam, the instance
    # had run a task history never recorded: the run stayed "running" with no timer armed.
    store = RefusingStore(refuse=[2])
    env = make_env(store=store)
    handle = env.start(TwoTimers.run, id="w")
    env.sleep(timedelta(minutes=5))
    assert store.refused == 1
    assert handle.history.status == "completed"
    assert handle.result() == "woke twice"
    history = handle.history
    assert kinds(history) == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "TimerStarted",
        "TimerFired",
        "WorkflowTaskCompleted",
        "TimerStarted",
        "TimerFired",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]
    assert history[-1].time == at(minutes=3)


def test_a_refused_input_append_is_appended_again(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    store = RefusingStore(refuse=[3])  # append 3: the first TimerFired
    env = make_env(store=store)
    handle = env.run(TwoTimers.run, id="w")
    assert store.refused == 1
    assert handle.result() == "woke twice"
    assert [e.event_id for e in handle.history] == list(range(1, 10))
    assert handle.history[3].time == at(minutes=1)


def test_a_store_that_refuses_everything_fails_the_drive(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    store = RefusingStore(always_after=1)
    env = make_env(store=store)
    with pytest.raises(ConcurrentAppendError, match=r"append 12 of .* refused"):
        env.start(TwoTimers.run, id="w")  # starting runs the first workflow task
    assert store.refused == MAX_APPEND_CONFLICTS + 1


def test_histories_read_what_the_store_holds(make_env: Callable[..., DurableEnvironment]) -> None:
    store = InMemoryStore()
    env = make_env(store=store)
    handle = env.run(TwoTimers.run, id="w")
    key = (handle.id, handle.run_id)
    assert list(handle.history) == store.read(key)
    assert [list(h) for h in env.histories()] == [store.read(key)]


@activity.defn
async def flaky(n: int) -> int:
    if activity.info().attempt < 3:
        raise ValueError(f"attempt {activity.info().attempt} fails")
    return n * 2


@workflow.defn
class Flaky:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            flaky,
            21,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
        )


def test_observers_hear_appends_attempts_and_closes_in_order(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    store = InMemoryStore()
    env = make_env(store=store, activities=[flaky])
    notices: list[Notice] = []

    def observe(notice: Notice) -> None:
        if isinstance(notice, EventsAppended):
            # Told only once the store holds the events.
            assert store.read(notice.run)[-len(notice.events) :] == list(notice.events)
        notices.append(notice)

    env.engine.observe(observe)
    handle = env.run(Flaky.run, id="f")
    assert handle.result() == 42
    key = (handle.id, handle.run_id)
    appended = [e for n in notices if isinstance(n, EventsAppended) for e in n.events]
    assert appended == store.read(key)
    attempts = [
        (type(n).__name__, n.attempt, getattr(n, "outcome", None), n.started_ns)
        if isinstance(n, AttemptStarted)
        else (type(n).__name__, n.attempt, n.outcome, n.ended_ns)
        for n in notices
        if isinstance(n, AttemptStarted | AttemptFinished)
    ]
    s = 1_000_000_000
    start = store.read(key)[0].time_ns
    assert attempts == [
        ("AttemptStarted", 1, None, start),
        ("AttemptFinished", 1, AttemptOutcome.FAILED, start),
        ("AttemptStarted", 2, None, start + 1 * s),
        ("AttemptFinished", 2, AttemptOutcome.FAILED, start + 1 * s),
        ("AttemptStarted", 3, None, start + 3 * s),
        ("AttemptFinished", 3, AttemptOutcome.COMPLETED, start + 3 * s),
    ]
    finished = [n for n in notices if isinstance(n, AttemptFinished)]
    assert [str(n.error) for n in finished] == ["attempt 1 fails", "attempt 2 fails", "None"]
    assert [n.will_retry for n in finished] == [True, True, False]
    assert {(n.workflow_id, n.run_id, n.activity_id) for n in finished} == {(*key, "1")}
    assert notices[-1] == RunClosed(run=key, status="completed")
    # The attempt's notices come before the events that record its outcome.
    kinds_told = [
        type(n).__name__ if not isinstance(n, EventsAppended) else n.events[-1].kind
        for n in notices
    ]
    assert kinds_told.index("AttemptFinished") < kinds_told.index("ActivityTaskCompleted")


@activity.defn
async def slow() -> None:
    import asyncio

    await asyncio.sleep(3600)


@workflow.defn
class CancelsSlow:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(slow, start_to_close_timeout=timedelta(hours=2))
        await workflow.sleep(timedelta(seconds=5))
        handle.cancel()
        await workflow.sleep(timedelta(seconds=1))
        return "cancelled it"


@workflow.defn
class TimesOut:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                slow,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except Exception:
            return "timed out"
        return "finished"


@pytest.mark.parametrize(
    ("wf", "outcome"),
    [(CancelsSlow, AttemptOutcome.CANCELLED), (TimesOut, AttemptOutcome.TIMED_OUT)],
)
def test_attempts_the_server_stops_are_reported(
    make_env: Callable[..., DurableEnvironment], wf: type, outcome: AttemptOutcome
) -> None:
    env = make_env(activities=[slow])
    finished: list[AttemptFinished] = []
    env.engine.observe(finished.append, AttemptFinished)  # type: ignore[arg-type]
    env.run(wf.run).result()  # type: ignore[attr-defined]
    assert [n.outcome for n in finished] == [outcome]
    assert env.attempts == finished


def test_env_attempts_keeps_every_attempt_whoever_observes(
    make_env: Callable[..., DurableEnvironment],
) -> None:
    # env.attempts builds its notices when read; attempts that ended while an observer was
    # subscribed (their notice already built) and while none was keep their order.
    env = make_env(activities=[flaky])
    assert env.run(Flaky.run, id="a").result() == 42
    seen = env.attempts
    assert [(a.workflow_id, a.attempt, a.outcome) for a in seen] == [
        ("a", 1, AttemptOutcome.FAILED),
        ("a", 2, AttemptOutcome.FAILED),
        ("a", 3, AttemptOutcome.COMPLETED),
    ]
    observed: list[AttemptFinished] = []
    unsubscribe = env.engine.observe(observed.append, AttemptFinished)  # type: ignore[arg-type]
    assert env.run(Flaky.run, id="b").result() == 42
    unsubscribe()
    assert env.run(Flaky.run, id="c").result() == 42
    assert env.attempts is seen  # one list, grown as attempts end
    assert [(a.workflow_id, a.attempt) for a in env.attempts] == [
        (w, n) for w in "abc" for n in (1, 2, 3)
    ]
    assert env.attempts[3:6] == observed
    assert env.attempts[5].result == 42 and isinstance(env.attempts[4].error, ValueError)


def test_observing_chosen_kinds_only(make_env: Callable[..., DurableEnvironment]) -> None:
    env = make_env()
    closed: list[Notice] = []
    env.engine.observe(closed.append, RunClosed)
    env.run(TwoTimers.run, id="w")
    assert [type(n) for n in closed] == [RunClosed]
    with pytest.raises(TypeError, match="not a notice kind"):
        env.engine.observe(closed.append, int)  # type: ignore[arg-type]


def test_unsubscribing_stops_notices(make_env: Callable[..., DurableEnvironment]) -> None:
    env = make_env()
    notices: list[Notice] = []
    unsubscribe = env.engine.observe(notices.append)
    handle = env.start(TwoTimers.run, id="w")
    env.settle()
    told = len(notices)
    assert told == 2  # the start, then the first task with its timer
    unsubscribe()
    unsubscribe()  # twice is harmless
    handle.result()
    assert len(notices) == told
