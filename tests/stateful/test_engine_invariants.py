"""The engine's invariants on generated programs driven step by step, under faults and restarts.

A state machine draws a program (activities with scripted outcomes, timers, signals, gathers,
races, child workflows) and a fault plan over its activities (failed attempts, lost
completions, duplicate deliveries), starts it, then interleaves time passing, signals, worker
crashes (instances dropped) and engine restarts (everything rebuilt from the store). After every
step each history so far replays in strict mode; at the end, the same time and signals given to
a run that never crashed nor restarted reach the same end: the same histories, event for event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pytest_durable import DurableEnvironment
from pytest_durable.engine._restore import open_work
from pytest_durable.faults import DuplicateDelivery, FailAttempt, FaultPlan, LoseCompletion
from pytest_durable.strategies import fault_plans

from .test_replay_roundtrip import Program, check_replays, programs


def start(
    program: list[Any], scripts: dict[str, list[Any]], plan: FaultPlan
) -> tuple[DurableEnvironment, Any]:
    env = DurableEnvironment(seed=13)
    for name, script in scripts.items():
        env.mock_activity(name, outcomes=list(script))
    return env, env.start(Program, program, id="program", faults=plan)


class GeneratedProgram(RuleBasedStateMachine):
    """One generated program under a generated fault plan, driven a step at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.env: DurableEnvironment | None = None
        self.actions: list[tuple[str, int]] = []

    @initialize(generated=programs(), data=st.data())
    def start_it(self, generated: tuple[list[Any], dict[str, list[Any]]], data: Any) -> None:
        self.program, self.scripts = generated
        plan = FaultPlan(allow_unreached=True)
        if self.scripts:
            plan = data.draw(
                fault_plans(
                    activities=sorted(self.scripts),
                    kinds=[FailAttempt, LoseCompletion, DuplicateDelivery],
                    max_faults=2,
                    max_attempt=2,
                ),
                label="plan",
            )
        self.plan = plan
        self.env, self.handle = start(self.program, self.scripts, plan)

    @rule(seconds=st.integers(1, 1800))
    def let_time_pass(self, seconds: int) -> None:
        assert self.env is not None
        self.env.sleep(timedelta(seconds=seconds))
        self.actions.append(("sleep", seconds))

    @precondition(lambda self: self.env is not None and not self.handle.done)
    @rule(value=st.integers(0, 9))
    def signal(self, value: int) -> None:
        self.handle.signal(Program.push, value)
        self.actions.append(("signal", value))

    @precondition(lambda self: self.env is not None)
    @rule()
    def crash_worker(self) -> None:
        assert self.env is not None
        self.env.crash_worker()

    def _nothing_in_flight(self) -> bool:
        """No activity is open in any run: a restart then loses no attempt (which would run
        again later, and legitimately end elsewhere in time)."""
        assert self.env is not None
        return all(
            not open_work(execution.current.events).activities
            for execution in self.env.engine.executions.values()
            if not execution.current.closed
        )

    @precondition(lambda self: self.env is not None and self._nothing_in_flight())
    @rule()
    def restart_engine(self) -> None:
        assert self.env is not None
        self.env.restart_worker()

    @invariant()
    def history_so_far_replays(self) -> None:
        if self.env is not None:
            check_replays(self.env.histories())

    def teardown(self) -> None:
        if self.env is None:
            return
        try:
            self.env.sleep(timedelta(days=1))  # let the program run out
            mine = [h.to_json() for h in self.env.histories()]
            check_replays(self.env.histories())
            env, handle = start(self.program, self.scripts, self.plan)
            try:
                for action, value in self.actions:
                    if action == "sleep":
                        env.sleep(timedelta(seconds=value))
                    else:
                        handle.signal(Program.push, value)
                env.sleep(timedelta(days=1))
                assert [h.to_json() for h in env.histories()] == mine
            finally:
                env.close()
        finally:
            self.env.close()


GeneratedProgram.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_generated_program = GeneratedProgram.TestCase
