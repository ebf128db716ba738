"""Creating a ``DurableEnvironment()``, closing it, and a whole one-activity test.

Each repetition times a batch of creations and reports the mean per environment, so that timer
resolution does not matter; the environments are closed after the batch, untimed (an open
environment holds a selector and a socket pair). The last row is what a small test costs end to
end: create an environment, mock an activity, run a one-activity workflow, close.
"""

from __future__ import annotations

import time

from _harness import Row, Timing, main, measure, repeats, timing_row
from _workflows import SequentialActivities, step

from pytest_durable import DurableEnvironment

BATCH = 200


def _per_env(repeat: int) -> tuple[Timing, Timing]:
    create: list[float] = []
    close: list[float] = []
    for i in range(repeat + 1):  # the first batch warms up
        t0 = time.perf_counter()
        envs = [DurableEnvironment() for _ in range(BATCH)]
        t1 = time.perf_counter()
        for env in envs:
            env.close()
        t2 = time.perf_counter()
        if i:
            create.append((t1 - t0) / BATCH)
            close.append((t2 - t1) / BATCH)
    return Timing(create), Timing(close)


def _small_test(_: object) -> None:
    with DurableEnvironment() as env:
        env.mock_activity(step, returns=1)
        assert env.run(SequentialActivities.run, 1).result() == 1


def collect(quick: bool) -> list[Row]:
    create, close = _per_env(repeats(quick, 15))
    small = measure(_small_test, repeat=repeats(quick, 301, 51), warmup=20)
    detail = f"mean of {BATCH} per batch; median of {len(create.runs)} batches"
    return [
        timing_row(
            "create a `DurableEnvironment()`", create, unit="us", target_s=1e-3, detail=detail
        ),
        timing_row("close it (`env.close()`)", close, unit="us", detail="informational; " + detail),
        timing_row(
            "a whole small test: create, mock, run a 1-activity workflow, close",
            small,
            unit="us",
            detail=f"informational; median of {len(small.runs)}",
        ),
    ]


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
