"""The workflows and activities the benchmarks run: the smallest code of each shape."""

from __future__ import annotations

from datetime import timedelta

import _harness  # noqa: F401  (puts the checkout on sys.path)

from pytest_durable import activity, workflow

TIMEOUT = timedelta(seconds=30)


@activity.defn
async def step(i: int) -> int:
    """A real ``async def`` activity that does no work."""
    return i


@activity.defn
def sync_step(i: int) -> int:
    """A real ``def`` activity (runs on a thread) that does no work."""
    return i


@workflow.defn
class SequentialActivities:
    """Await ``n`` activities one after another."""

    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += await workflow.execute_activity(step, i, start_to_close_timeout=TIMEOUT)
        return total


@workflow.defn
class SequentialSyncActivities:
    """Await ``n`` thread-run activities one after another."""

    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += await workflow.execute_activity(sync_step, i, start_to_close_timeout=TIMEOUT)
        return total


@workflow.defn
class SequentialTimers:
    """Sleep ``n`` times for ``seconds`` each."""

    @workflow.run
    async def run(self, n: int, seconds: float) -> int:
        for _ in range(n):
            await workflow.sleep(timedelta(seconds=seconds))
        return n


@workflow.defn
class Sleeper:
    """Sleep one day, then finish: the shape of a workflow parked on a long timer."""

    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=1))
        return "woke"
