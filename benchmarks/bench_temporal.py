"""The suite with Temporal test-server references, on Temporal SDK workflows (temporalio's runtime).

The six benchmarks for which we were given figures of Temporal's time-skipping test server,
each run on a ``@temporalio.workflow.defn`` workflow with ``@temporalio.activity.defn``
activities through the front-end: 1,000 sequential activities (mocked, then real ``async
def``), 1,000 sequential timers, replay of 1,000- and 10,000-activity histories
(``pytest_durable.temporal.Replayer``), and SEMANTICS.md's seven reference scenarios. Each row
reports the wall time (median and best of the repetitions) and the best CPU time
(``time.process_time``), which is the figure to read on a shared, loaded machine. Needs the
``temporal`` extra.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _harness import Row, main, measure, repeats, timing_row
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from pytest_durable import DurableEnvironment, History
from pytest_durable.temporal import Replayer

TEMPORAL = "5.56 s"


@activity.defn
async def temporal_step(i: int) -> int:
    return i


@workflow.defn(sandboxed=False)
class TemporalSequential:
    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += await workflow.execute_activity(
                temporal_step, i, start_to_close_timeout=timedelta(seconds=10)
            )
        return total


@workflow.defn(sandboxed=False)
class TemporalTimers:
    @workflow.run
    async def run(self, n: int) -> int:
        for _ in range(n):
            await workflow.sleep(1)
        return n


# --- SEMANTICS.md's seven reference scenarios, as Temporal users write them ------------------


@activity.defn
async def fails_three_times() -> str:
    if activity.info().attempt < 4:
        raise ValueError("not yet")
    return "ok"


@activity.defn
async def always_fails() -> str:
    raise ValueError("bad value")


@activity.defn
async def sleeps_three_seconds() -> str:
    await asyncio.sleep(3)
    return "late"


@activity.defn
async def heartbeats_then_stalls() -> str:
    activity.heartbeat("step-1")
    await asyncio.sleep(10)
    return "never"


_FIVE = timedelta(seconds=5)
# name -> (activity, options, Temporal's wall time on its time-skipping test server)
SCENARIOS: dict[str, tuple[Callable[..., Any], dict[str, Any], str]] = {
    "fails 3x, 4th attempt succeeds, initial 10 min": (
        fails_three_times,
        {
            "start_to_close_timeout": _FIVE,
            "retry_policy": RetryPolicy(initial_interval=timedelta(minutes=10)),
        },
        "0.05 s",
    ),
    "`ValueError` listed as non-retryable": (
        always_fails,
        {
            "start_to_close_timeout": _FIVE,
            "retry_policy": RetryPolicy(non_retryable_error_types=["ValueError"]),
        },
        "0.02 s",
    ),
    "always fails, `maximum_attempts=3`": (
        always_fails,
        {"start_to_close_timeout": _FIVE, "retry_policy": RetryPolicy(maximum_attempts=3)},
        "0.03 s",
    ),
    "always fails, schedule-to-close 2 h, initial 30 min": (
        always_fails,
        {
            "schedule_to_close_timeout": timedelta(hours=2),
            "retry_policy": RetryPolicy(initial_interval=timedelta(minutes=30)),
        },
        "0.02 s",
    ),
    "sleeps 3 s, start-to-close 1 s, 2 attempts": (
        sleeps_three_seconds,
        {
            "start_to_close_timeout": timedelta(seconds=1),
            "retry_policy": RetryPolicy(maximum_attempts=2),
        },
        "2.03 s real",
    ),
    "sleeps 3 s, schedule-to-close 1 s": (
        sleeps_three_seconds,
        {"schedule_to_close_timeout": timedelta(seconds=1)},
        "1.05 s real",
    ),
    "one heartbeat then stalls, heartbeat timeout 1 s, 1 attempt": (
        heartbeats_then_stalls,
        {
            "start_to_close_timeout": timedelta(minutes=1),
            "heartbeat_timeout": timedelta(seconds=1),
            "retry_policy": RetryPolicy(maximum_attempts=1),
        },
        "1.04 s real",
    ),
}


@workflow.defn(sandboxed=False)
class TemporalScenario:
    @workflow.run
    async def run(self, name: str) -> str:
        fn, options, _ = SCENARIOS[name]
        return str(await workflow.execute_activity(fn, **options))


def _outcome(env: DurableEnvironment, name: str) -> str:
    handle = env.run(TemporalScenario.run, name)
    try:
        return f"success {handle.result()!r}"
    except WorkflowFailureError as failure:
        error = failure.cause
        assert isinstance(error, ActivityError) and error.retry_state is not None
        chain = []
        cause = error.cause
        while cause is not None:
            if isinstance(cause, TimeoutError):
                chain.append(f"TimeoutError({cause.type.name if cause.type else None})")
            else:
                chain.append(f"{type(cause).__name__}(type={getattr(cause, 'type', None)!r})")
            assert cause is not None
            cause = cause.cause if isinstance(cause, ApplicationError | TimeoutError) else None
        return f"{error.retry_state.name}, {' > '.join(chain)}"


# --- timing ----------------------------------------------------------------------------------


def _env(mocked: bool = False) -> DurableEnvironment:
    env = DurableEnvironment(max_history_events=None)
    if mocked:
        env.mock_activity(temporal_step, returns=1)
    else:
        for fn in (temporal_step, fails_three_times, always_fails, sleeps_three_seconds):
            env.register_activity(fn)
        env.register_activity(heartbeats_then_stalls)
    return env


def _both(body: Callable[[DurableEnvironment], Any], *, repeat: int, mocked: bool = False):
    """(wall Timing, best CPU seconds) of ``body`` on a fresh environment each time."""
    wall = measure(
        body, setup=lambda: _env(mocked), teardown=DurableEnvironment.close, repeat=repeat
    )
    cpu = measure(
        body,
        setup=lambda: _env(mocked),
        teardown=DurableEnvironment.close,
        repeat=repeat,
        clock=time.process_time,
    )
    return wall, cpu.best


def _record(n: int) -> History:
    env = _env(mocked=True)
    try:
        return env.run(TemporalSequential.run, n).history
    finally:
        env.close()


def collect(quick: bool) -> list[Row]:
    rows = []
    for mocked, label in ((True, "mocked"), (False, "real `async def`")):
        expected = 1000 if mocked else 1000 * 999 // 2

        def sequential(env: DurableEnvironment, expected: int = expected) -> None:
            assert env.run(TemporalSequential.run, 1000).result() == expected

        wall, cpu = _both(sequential, repeat=repeats(quick, 9, 2), mocked=mocked)
        rows.append(
            timing_row(
                f"Temporal SDK workflow: 1,000 sequential activities, {label}",
                wall,
                target_s=0.3,
                reference=TEMPORAL,
                detail=f"CPU {cpu:.3f} s (best); wall median of {len(wall.runs)}",
            )
        )

    def timers(env: DurableEnvironment) -> None:
        assert env.run(TemporalTimers.run, 1000).result() == 1000

    wall, cpu = _both(timers, repeat=repeats(quick, 9, 2))
    rows.append(
        timing_row(
            "Temporal SDK workflow: 1,000 sequential timers (`workflow.sleep(1)`)",
            wall,
            reference="2.8 s",
            detail=f"CPU {cpu:.3f} s (best); wall median of {len(wall.runs)}",
        )
    )

    replayer = Replayer(workflows=[TemporalSequential])
    for n, repeat in ((1000, repeats(quick, 9, 2)), (10_000, repeats(quick, 3, 1))):
        history = _record(n)

        def replay(_: object, history: History = history) -> None:
            assert not replayer.replay(history).divergences

        wall_replay = measure(replay, repeat=repeat)
        cpu_replay = measure(replay, repeat=repeat, clock=time.process_time)
        rows.append(
            Row(
                benchmark=f"Temporal SDK workflow: replay, {n:,} activities "
                f"({len(history):,} events)",
                value=len(history) / wall_replay.median,
                unit="events/s",
                best=len(history) / wall_replay.best,
                reference="2,700-5,600 events/s",
                detail=f"CPU {len(history) / cpu_replay.best:,.0f} events/s (best), "
                f"{cpu_replay.best / len(history) * 1e6:.1f} us/event",
            )
        )

    for name, (_, _, reference) in SCENARIOS.items():
        seen = ""

        def scenario(env: DurableEnvironment, name: str = name) -> None:
            nonlocal seen
            seen = _outcome(env, name)

        wall, cpu = _both(scenario, repeat=repeats(quick, 21, 5))
        rows.append(
            timing_row(
                f"Temporal SDK workflow, SEMANTICS.md: {name}",
                wall,
                unit="ms",
                reference=reference,
                detail=f"{seen}; CPU {cpu * 1e3:.2f} ms (best); wall median",
            )
        )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
