"""1,000 sequential activities of a Temporal SDK workflow (temporalio's own runtime) on the engine.

Times ``env.run(workflow)`` plus ``.result()`` on a fresh environment: a
``@temporalio.workflow.defn`` workflow driven by activations, its activities mocked or real
``@temporalio.activity.defn`` functions. Needs the ``temporal`` extra.
"""

from __future__ import annotations

import time
from datetime import timedelta

from _harness import Row, main, measure, repeats, timing_row
from temporalio import activity, workflow

from pytest_durable import DurableEnvironment

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


def _timed(n: int, *, mocked: bool, repeat: int, runner: str = "unsandboxed"):
    def setup() -> DurableEnvironment:
        env = DurableEnvironment(temporal_runner=runner)
        if mocked:
            env.mock_activity(temporal_step, returns=1)
        else:
            env.register_activity(temporal_step)
        return env

    def body(env: DurableEnvironment) -> None:
        result = env.run(TemporalSequential.run, n).result()
        assert result == (n if mocked else n * (n - 1) // 2), result

    return measure(body, setup=setup, teardown=DurableEnvironment.close, repeat=repeat)


def _cpu(n: int, *, mocked: bool) -> float:
    """CPU seconds of one run: on a shared, loaded machine the wall time is mostly waiting."""
    env = DurableEnvironment()
    if mocked:
        env.mock_activity(temporal_step, returns=1)
    else:
        env.register_activity(temporal_step)
    start = time.process_time()
    env.run(TemporalSequential.run, n).result()
    spent = time.process_time() - start
    env.close()
    return spent


def collect(quick: bool) -> list[Row]:
    rows = []
    for mocked, label in ((True, "mocked"), (False, "real `async def`")):
        timing = _timed(1000, mocked=mocked, repeat=repeats(quick, 9))
        cpu = min(_cpu(1000, mocked=mocked) for _ in range(repeats(quick, 5, 2)))
        rows.append(
            timing_row(
                f"Temporal SDK workflow: 1,000 sequential activities, {label}",
                timing,
                target_s=0.3,
                reference=TEMPORAL,
                detail=f"CPU {cpu:.3f} s (best)",
            )
        )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
