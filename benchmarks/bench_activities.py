"""1,000 sequential activities in the test environment: mocked, real ``async def``, real ``def``.

Times ``env.run(workflow)`` plus ``.result()`` on a fresh environment (created untimed; see
bench_environment.py for its cost). A 10x longer run checks that the live path stays linear.
"""

from __future__ import annotations

from _harness import Row, main, measure, repeats, timing_row
from _workflows import SequentialActivities, SequentialSyncActivities, step

from pytest_durable import DurableEnvironment

TEMPORAL = "5.6 s"


def _timed(workflow, n: int, *, mocked: bool, repeat: int):
    def setup() -> DurableEnvironment:
        env = DurableEnvironment()
        if mocked:
            env.mock_activity(step, returns=1)
        return env

    def body(env: DurableEnvironment) -> None:
        result = env.run(workflow.run, n).result()
        assert result == (n if mocked else n * (n - 1) // 2), result

    return measure(body, setup=setup, teardown=DurableEnvironment.close, repeat=repeat)


def collect(quick: bool) -> list[Row]:
    rows = []
    mocked = _timed(SequentialActivities, 1000, mocked=True, repeat=repeats(quick, 15))
    rows.append(
        timing_row(
            "1,000 sequential activities, mocked (`env.mock_activity(returns=...)`)",
            mocked,
            target_s=0.1,
            reference=TEMPORAL,
        )
    )
    real = _timed(SequentialActivities, 1000, mocked=False, repeat=repeats(quick, 15))
    rows.append(
        timing_row(
            "1,000 sequential activities, real `async def`",
            real,
            target_s=0.1,
            reference=TEMPORAL,
        )
    )
    sync = _timed(SequentialSyncActivities, 1000, mocked=False, repeat=repeats(quick, 7))
    rows.append(
        timing_row(
            "1,000 sequential activities, real `def` (thread pool)",
            sync,
            detail=f"informational; median of {len(sync.runs)}",
        )
    )
    big = _timed(SequentialActivities, 10_000, mocked=True, repeat=repeats(quick, 5, 2))
    ratio = big.best / mocked.best
    rows.append(
        timing_row(
            "10,000 sequential activities, mocked",
            big,
            detail=f"informational; best {ratio:.1f}x the 1,000 run's best (10x is linear)",
        )
    )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
