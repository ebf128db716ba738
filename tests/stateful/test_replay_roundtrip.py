"""Property: for generated workflows and outcome scripts, replay(run(w)) succeeds and equals run(w).

A small interpreter workflow runs generated programs (activities with scripted outcomes and retry
policies, timers, gathers, child workflows, signals, randomness, patches). For each program:

* every history the run produced replays against the code in strict mode, with no divergence;
* the run is reproduced exactly (same histories, byte for byte) when every workflow task replays
  from history (no instance cache), and when the worker crashes between every step;
* each history survives its JSON document.

A state machine then interleaves time, signals, queries and crashes on one running program and
checks that every intermediate history replays, and that the end equals a crash-free run.
"""

from __future__ import annotations

import asyncio
import warnings
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pytest_durable import (
    HANG,
    ActivityError,
    ChildWorkflowError,
    Delay,
    DurableEnvironment,
    History,
    Replayer,
    RetryPolicy,
    workflow,
)


@workflow.defn
class Program:
    """Interprets a program: a list of steps, each a JSON list starting with its kind."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    @workflow.run
    async def run(self, steps: list[Any]) -> list[Any]:
        return [await self.step(step) for step in steps]

    async def step(self, step: list[Any]) -> Any:
        kind = step[0]
        if kind == "activity":
            _, name, attempts = step
            try:
                return await workflow.execute_activity(
                    name,
                    name,
                    start_to_close_timeout=timedelta(seconds=10),
                    retry_policy=RetryPolicy(maximum_attempts=attempts),
                )
            except ActivityError as err:
                state = err.retry_state.name if err.retry_state else None
                return ["failed", state, type(err.cause).__name__]
        if kind == "sleep":
            await workflow.sleep(timedelta(seconds=step[1]))
            return workflow.now().isoformat()
        if kind == "gather":
            return list(await asyncio.gather(*(self.step(s) for s in step[1])))
        if kind == "race":
            try:
                return await asyncio.wait_for(self.step(step[2]), timeout=step[1])
            except TimeoutError:
                return ["timed out", workflow.now().isoformat()]
        if kind == "signals":
            try:
                await workflow.wait_condition(
                    lambda: len(self.signals) >= step[1], timeout=timedelta(seconds=step[2])
                )
            except TimeoutError:
                return ["waited", list(self.signals)]
            return list(self.signals)
        if kind == "child":
            try:
                return await workflow.execute_child_workflow(Program.run, step[1])
            except ChildWorkflowError as err:
                return ["child failed", type(err.cause).__name__]
        if kind == "random":
            return [workflow.random().randint(0, 10**6), str(workflow.uuid4())]
        if kind == "patched":
            return workflow.patched(step[1])
        raise AssertionError(f"unknown step {step!r}")

    @workflow.signal
    def push(self, value: int) -> None:
        self.signals.append(value)

    @workflow.query
    def received(self) -> list[int]:
        return list(self.signals)


# --- generated programs ------------------------------------------------------------------------

outcomes = st.one_of(
    st.just("ok"),
    st.just(ValueError("boom")),
    st.builds(lambda s: Delay(timedelta(seconds=s), "slow ok"), st.integers(1, 15)),
    st.builds(lambda s: Delay(timedelta(seconds=s), ValueError("late")), st.integers(1, 5)),
    st.just(HANG),
)


@st.composite
def steps(draw: st.DrawFn, depth: int = 0) -> list[Any]:
    simple = st.one_of(
        st.tuples(st.just("activity"), st.none(), st.integers(1, 3)),
        st.tuples(st.just("sleep"), st.integers(0, 3600)),
        st.tuples(st.just("signals"), st.integers(1, 3), st.integers(1, 600)),
        st.tuples(st.just("random")),
        st.tuples(st.just("patched"), st.sampled_from(["p1", "p2"])),
    )
    choices = [simple]
    if depth < 2:
        choices.append(
            st.tuples(st.just("gather"), st.lists(steps(depth + 1), min_size=1, max_size=3))
        )
        choices.append(st.tuples(st.just("race"), st.integers(1, 30), steps(depth + 1)))
        choices.append(
            st.tuples(st.just("child"), st.lists(steps(depth + 1), min_size=0, max_size=3))
        )
    return list(draw(st.one_of(*choices)))


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[Any], dict[str, list[Any]]]:
    """A program, and the outcome script of each of its activities (named uniquely)."""
    program = draw(st.lists(steps(), min_size=1, max_size=4))
    scripts: dict[str, list[Any]] = {}

    def name_activities(step: list[Any]) -> None:
        kind = step[0]
        if kind == "activity":
            name = f"act{len(scripts)}"
            step[1] = name
            scripts[name] = draw(st.lists(outcomes, min_size=1, max_size=3))
        elif kind == "gather":
            for sub in step[1]:
                name_activities(sub)
        elif kind == "race":
            name_activities(step[2])
        elif kind == "child":
            for sub in step[1]:
                name_activities(sub)

    for step in program:
        name_activities(step)
    return program, scripts


signal_plans = st.lists(
    st.tuples(st.integers(0, 900), st.integers(0, 99)), max_size=4
)  # (seconds to wait, value to send)


def execute(
    program: list[Any],
    scripts: dict[str, list[Any]],
    plan: list[tuple[int, int]],
    *,
    crash: bool = False,
    cache: bool = True,
) -> tuple[str, Any, list[str]]:
    """Run the program, sending the planned signals; its status, result and histories."""
    with DurableEnvironment(seed=11, replay_every_task=not cache) as env:
        for name, script in scripts.items():
            env.mock_activity(name, outcomes=list(script))
        handle = env.start(Program, program, id="program")
        for wait, value in plan:
            if crash:
                env.crash_worker()
            env.sleep(timedelta(seconds=wait))
            if crash:
                env.crash_worker()
            if not handle.done:
                handle.signal(Program.push, value)
        try:
            result: Any = handle.result()
        except Exception as exc:  # a failed run is a fine outcome too
            result = repr(exc)
        histories = [h.to_json() for h in env.histories()]
        check_replays(env.histories())
        return handle.status, result, histories


def check_replays(histories: list[History]) -> None:
    replayer = Replayer(workflows=[Program], strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a divergence warning
        for history in histories:
            assert replayer.replay(history).divergences == ()
            assert History.from_json(history.to_json()) == history


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=programs(), plan=signal_plans)
def test_replay_of_a_run_succeeds_and_equals_it(
    generated: tuple[list[Any], dict[str, list[Any]]], plan: list[tuple[int, int]]
) -> None:
    program, scripts = generated
    baseline = execute(program, scripts, plan)
    assert baseline[0] in ("completed", "failed")
    assert execute(program, scripts, plan, cache=False) == baseline
    assert execute(program, scripts, plan, crash=True) == baseline


# --- a state machine over one running program -------------------------------------------------

LONG_PROGRAM: list[Any] = [
    ["activity", "a0", 3],
    ["signals", 2, 3600],
    ["gather", [["sleep", 600], ["activity", "a1", 2], ["child", [["sleep", 60]]]]],
    ["race", 30, ["activity", "a2", 1]],
    ["signals", 4, 7200],
    ["random"],
    ["sleep", 1800],
]
SCRIPTS: dict[str, list[Any]] = {
    "a0": [ValueError("x"), Delay(timedelta(seconds=20), "a0 ok")],
    "a1": [HANG, "a1 ok"],
    "a2": [Delay(timedelta(seconds=60), "too slow")],
}


def new_env(cache: bool = True) -> tuple[DurableEnvironment, Any]:
    env = DurableEnvironment(seed=5, replay_every_task=not cache)
    for name, script in SCRIPTS.items():
        env.mock_activity(name, outcomes=list(script))
    return env, env.start(Program, LONG_PROGRAM, id="long")


class RunningProgram(RuleBasedStateMachine):
    """Drive one program with time, signals, queries and crashes; it must not notice crashes."""

    def __init__(self) -> None:
        super().__init__()
        self.env, self.handle = new_env()
        self.actions: list[tuple[str, int]] = []
        self.sent: list[int] = []

    @rule(seconds=st.integers(1, 2000))
    def let_time_pass(self, seconds: int) -> None:
        self.env.sleep(timedelta(seconds=seconds))
        self.actions.append(("sleep", seconds))

    @precondition(lambda self: not self.handle.done)
    @rule(value=st.integers(0, 9))
    def signal(self, value: int) -> None:
        self.handle.signal(Program.push, value)
        self.actions.append(("signal", value))
        self.sent.append(value)

    @rule()
    def crash(self) -> None:
        self.env.crash_worker()

    @rule()
    def query(self) -> None:
        assert self.handle.query(Program.received) == self.sent

    @invariant()
    def history_so_far_replays(self) -> None:
        check_replays(self.env.histories())

    def teardown(self) -> None:
        try:
            mine = [h.to_json() for h in self.env.histories()]
            # The same actions, without crashes and replaying every task, give the same runs.
            env, handle = new_env(cache=False)
            try:
                for action, value in self.actions:
                    if action == "sleep":
                        env.sleep(timedelta(seconds=value))
                    else:
                        handle.signal(Program.push, value)
                assert [h.to_json() for h in env.histories()] == mine
            finally:
                env.close()
        finally:
            self.env.close()


RunningProgram.TestCase.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
test_running_program = RunningProgram.TestCase
