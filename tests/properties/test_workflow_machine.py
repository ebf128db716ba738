"""WorkflowMachine: a Hypothesis state machine over one running workflow."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from pytest_durable import DurableEnvironment, InvalidArgumentError, activity, workflow
from pytest_durable.stateful import WorkflowMachine

QUICK = settings(max_examples=10, stateful_step_count=6, deadline=None, database=None)


@activity.defn
async def tick(n: int) -> int:
    return n + 1


@workflow.defn
class Counter:
    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self, rounds: int) -> int:
        for _ in range(rounds):
            await workflow.wait_condition(lambda: self.count > 0, timeout=timedelta(hours=1))
            self.count = await workflow.execute_activity(
                tick, self.count, start_to_close_timeout=timedelta(seconds=5)
            )
        return self.count

    @workflow.signal
    def bump(self) -> None:
        self.count += 1

    @workflow.query
    def value(self) -> int:
        return self.count


class CounterMachine(WorkflowMachine):
    workflow = Counter.run
    args = (3,)
    max_advance = timedelta(minutes=90)

    def setup(self, env: DurableEnvironment) -> None:
        self.bumps = 0

    @rule()
    def bump(self) -> None:
        if not self.handle.done:
            self.handle.signal(Counter.bump)
            self.bumps += 1

    @invariant()
    def never_counts_down(self) -> None:
        assert self.handle.query(Counter.value) >= 0


def test_a_machine_drives_the_workflow_with_time_signals_crashes_and_restarts() -> None:
    run_state_machine_as_test(CounterMachine, settings=QUICK)


def test_a_broken_invariant_fails_with_the_steps_that_broke_it() -> None:
    class Broken(CounterMachine):
        @invariant()
        def never_counts(self) -> None:
            assert self.handle.query(Counter.value) == 0, "counted"

    with pytest.raises(AssertionError, match="counted"):
        run_state_machine_as_test(Broken, settings=QUICK)


_runs = itertools.count()


@workflow.defn
class ChangesItsMind:
    """Takes another path each time its code runs from the start: only replay notices."""

    @workflow.run
    async def run(self) -> str:
        if next(_runs) % 2 == 0:
            await workflow.sleep(timedelta(hours=1))
        else:
            await workflow.execute_activity(tick, 1, start_to_close_timeout=timedelta(seconds=5))
        return "done"


def test_a_history_that_no_longer_replays_fails_the_machine() -> None:
    class Fickle(WorkflowMachine):
        workflow = ChangesItsMind.run
        crashes = False

    with pytest.raises(AssertionError, match="does not replay"):
        run_state_machine_as_test(Fickle, settings=QUICK)


def test_a_machine_without_a_workflow_says_what_to_set() -> None:
    with pytest.raises(InvalidArgumentError, match="set the class attribute workflow"):
        WorkflowMachine()


def test_the_environment_is_closed_when_setup_fails() -> None:
    made: list[DurableEnvironment] = []

    class Failing(CounterMachine):
        def make_environment(self) -> DurableEnvironment:
            made.append(DurableEnvironment())
            return made[-1]

        def setup(self, env: DurableEnvironment) -> None:
            raise ValueError("no mocks today")

    with pytest.raises(ValueError, match="no mocks today"):
        Failing()
    assert made[0]._closed
