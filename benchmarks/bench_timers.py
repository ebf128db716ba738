"""Durable timers: 1,000 sequential ``workflow.sleep`` calls, and ten years in one-day sleeps.

Times ``env.run(workflow)`` plus ``.result()`` on a fresh environment (created untimed). Virtual
time skips each wait, so the cost is the engine's per-timer work, not the duration slept.
"""

from __future__ import annotations

from _harness import Row, main, measure, repeats, timing_row
from _workflows import SequentialTimers

from pytest_durable import DurableEnvironment

DAY = 86_400.0
TEN_YEARS = 3650


def _timed(n: int, seconds: float, *, repeat: int):
    def body(env: DurableEnvironment) -> None:
        assert env.run(SequentialTimers.run, n, seconds).result() == n
        elapsed = env.now_ns() - env.clock.origin_ns
        assert elapsed == round(n * seconds * 1e9), elapsed

    return measure(body, setup=DurableEnvironment, teardown=DurableEnvironment.close, repeat=repeat)


def collect(quick: bool) -> list[Row]:
    timers = _timed(1000, 1.0, repeat=repeats(quick, 15))
    decade = _timed(TEN_YEARS, DAY, repeat=repeats(quick, 9))
    return [
        timing_row(
            "1,000 sequential timers (`workflow.sleep(1 s)`)",
            timers,
            target_s=0.1,
            reference="2.8 s",
        ),
        timing_row(
            "ten years in one-day timers (3,650 `workflow.sleep(1 day)`)",
            decade,
            target_s=1.0,
        ),
    ]


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
