"""SEMANTICS.md's reference scenarios on pytest-durable: outcome, virtual time and wall time.

Each scenario runs a real ``async def`` activity in a fresh ``DurableEnvironment``, as an
activity or (rows starting "local activity") as a local activity. The row's value is the wall
time of ``env.run(...)`` (median of the repetitions); the notes give what the test sees (retry
state and the cause chain under the ``ActivityError``, or the result), the attempts made and
the virtual time that passed. Temporal's time-skipping test server takes the real time listed in
the reference column for the timeout scenarios, because it enforces activity timeouts in real
time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _harness import Row, Timing, main, repeats, timing_row

from pytest_durable import (
    ActivityError,
    ApplicationError,
    DurableEnvironment,
    RetryPolicy,
    TimeoutError,
    WorkflowFailureError,
    activity,
    workflow,
)
from pytest_durable.fixtures import DEFAULT_START_TIME

ATTEMPTS: list[int] = []


@activity.defn
async def fails_three_times() -> str:
    ATTEMPTS.append(activity.info().attempt)
    if activity.info().attempt < 4:
        raise ValueError("not yet")
    return "ok"


@activity.defn
async def always_fails() -> str:
    ATTEMPTS.append(activity.info().attempt)
    raise ValueError("bad value")


@activity.defn
async def sleeps_three_seconds() -> str:
    ATTEMPTS.append(activity.info().attempt)
    await asyncio.sleep(3)
    return "late"


@activity.defn
async def heartbeats_then_stalls() -> str:
    ATTEMPTS.append(activity.info().attempt)
    activity.heartbeat("step-1")
    await asyncio.sleep(10)
    return "never"


@activity.defn
async def declines() -> str:
    ATTEMPTS.append(activity.info().attempt)
    raise ApplicationError("declined")  # no type


@activity.defn
async def fails_twice() -> str:
    ATTEMPTS.append(activity.info().attempt)
    if activity.info().attempt < 3:
        raise ValueError("not yet")
    return "ok"


NOT_MEASURED = "(not timed)"
"""Temporal's outcome for these rows comes from the parity comparison; its wall time was not
recorded."""

# name -> (activity or name, options, Temporal's wall time on its test server)
SCENARIOS: dict[str, tuple[Callable[..., Any] | str, dict[str, Any], str]] = {
    "fails 3x, 4th attempt succeeds, initial 10 min": (
        fails_three_times,
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "retry_policy": RetryPolicy(initial_interval=timedelta(minutes=10)),
        },
        "0.05 s",
    ),
    "`ValueError` listed as non-retryable": (
        always_fails,
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "retry_policy": RetryPolicy(non_retryable_error_types=["ValueError"]),
        },
        "0.02 s",
    ),
    "always fails, `maximum_attempts=3`": (
        always_fails,
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "retry_policy": RetryPolicy(maximum_attempts=3),
        },
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
    "untyped `ApplicationError`, its class name listed as non-retryable, 3 attempts": (
        declines,
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "retry_policy": RetryPolicy(
                maximum_attempts=3, non_retryable_error_types=["ApplicationError"]
            ),
        },
        NOT_MEASURED,
    ),
    "unknown activity name, `maximum_attempts=3`": (
        "not_registered",
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "retry_policy": RetryPolicy(maximum_attempts=3),
        },
        NOT_MEASURED,
    ),
    "sleeps 3 s, start-to-close 1 s, schedule-to-close 1.5 s": (
        sleeps_three_seconds,
        {
            "start_to_close_timeout": timedelta(seconds=1),
            "schedule_to_close_timeout": timedelta(milliseconds=1500),
        },
        NOT_MEASURED,
    ),
    "local activity fails 2x, 3rd attempt succeeds": (
        fails_twice,
        {"start_to_close_timeout": timedelta(seconds=5)},
        NOT_MEASURED,
    ),
    "local activity fails 2x, `local_retry_threshold` 1 s (retry on a timer)": (
        fails_twice,
        {
            "start_to_close_timeout": timedelta(seconds=5),
            "local_retry_threshold": timedelta(seconds=1),
        },
        NOT_MEASURED,
    ),
    "local activity sleeps 3 s, start-to-close 1 s, 2 attempts": (
        sleeps_three_seconds,
        {
            "start_to_close_timeout": timedelta(seconds=1),
            "retry_policy": RetryPolicy(maximum_attempts=2),
        },
        NOT_MEASURED,
    ),
}


@workflow.defn
class Scenario:
    @workflow.run
    async def run(self, name: str) -> str:
        fn, options, _ = SCENARIOS[name]
        if name.startswith("local activity"):
            return str(await workflow.execute_local_activity(fn, **options))
        return str(await workflow.execute_activity(fn, **options))


def _outcome(name: str) -> tuple[float, str]:
    ATTEMPTS.clear()
    with DurableEnvironment() as env:
        started = time.perf_counter()
        handle = env.run(Scenario.run, name)
        wall = time.perf_counter() - started
        try:
            seen = f"success {handle.result()!r}"
        except WorkflowFailureError as failure:
            error = failure.cause
            assert isinstance(error, ActivityError) and error.retry_state is not None
            seen = f"{error.retry_state.name}, {_chain(error.cause)}"
        virtual = env.now() - DEFAULT_START_TIME
    return wall, f"{seen}; attempts {ATTEMPTS}; virtual {virtual}"


def _chain(error: BaseException | None) -> str:
    """``TimeoutError(START_TO_CLOSE) > ApplicationError(type='ValueError')``: causes in order."""
    parts = []
    while error is not None:
        if isinstance(error, TimeoutError):
            assert error.type is not None
            parts.append(f"TimeoutError({error.type.name})")
        else:
            parts.append(f"{type(error).__name__}(type={getattr(error, 'type', None)!r})")
        error = error.__cause__
    return " > ".join(parts)


def collect(quick: bool) -> list[Row]:
    rows = []
    for name, (_, _, reference) in SCENARIOS.items():
        walls = []
        notes = ""
        for _ in range(repeats(quick, 21, 5)):
            wall, notes = _outcome(name)
            walls.append(wall)
        rows.append(
            timing_row(
                name, Timing(walls), unit="ms", reference=reference, detail=f"{notes}; median"
            )
        )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
