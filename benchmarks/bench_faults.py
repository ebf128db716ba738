"""Fault injection and crash exploration: what they cost.

- ``env.explore_crashes`` of a workflow of 25 sequential mocked activities (102 history events,
  51 crash points, so 52 runs from fresh environments), against the < 1 s target;
- one run of the same workflow, clean and under a fault plan (a lost completion and a crash);
- the ``examples/`` suite with and without ``--durable-explore`` (each in a fresh process), and
  their ratio, against the < 5x target. Only tests that run workflows with
  ``durable_env.run(...)`` are explored; the others cost nothing more.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

from _harness import REPO, Row, Timing, main, measure, repeats, timing_row
from _workflows import SequentialActivities, step

from pytest_durable import DurableEnvironment, FaultPlan
from pytest_durable.faults import CrashWorker, LoseCompletion

ACTIVITIES = 25
_PASSED = re.compile(r"(\d+) passed in ([0-9.]+)s")


def _env() -> DurableEnvironment:
    env = DurableEnvironment()
    env.mock_activity(step, returns=1)
    return env


def _explore(env: DurableEnvironment) -> None:
    result = env.explore_crashes(SequentialActivities.run, ACTIVITIES, id="explored")
    assert len(result.points) == 2 * ACTIVITIES + 1, result


def _run(plan: FaultPlan | None) -> None:
    with _env() as env:
        env.run(SequentialActivities.run, ACTIVITIES, faults=plan).result()


def _examples(extra: list[str]) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider", *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:])
        raise SystemExit(f"the examples suite failed: {' '.join(cmd)}")
    match = _PASSED.search(done.stdout)
    return wall, int(match.group(1)) if match else 0


def collect(quick: bool) -> list[Row]:
    with _env() as env:
        events = len(env.run(SequentialActivities.run, ACTIVITIES).history)
    name = (
        f"crash exploration, {ACTIVITIES} sequential activities ({events} events, "
        f"{2 * ACTIVITIES + 1} crash points)"
    )
    rows = [
        timing_row(
            f"{name}, CPU time",
            measure(
                _explore,
                repeat=repeats(quick, 9),
                setup=_env,
                teardown=lambda e: e.close(),
                clock=time.process_time,
            ),
            target_s=1.0,
            detail=f"{2 * ACTIVITIES + 2} runs, each in a fresh environment; CPU time, which "
            "the other processes on a shared machine disturb less than wall time",
        ),
        timing_row(
            f"{name}, wall time",
            measure(_explore, repeat=repeats(quick, 9), setup=_env, teardown=lambda e: e.close()),
            detail="informational",
        ),
        timing_row(
            f"one run of it ({events} events), no faults",
            measure(lambda _: _run(None), repeat=repeats(quick, 15)),
            unit="ms",
            detail="informational",
        ),
        timing_row(
            "the same under a fault plan (a lost completion, a worker crash)",
            measure(
                lambda _: _run(
                    FaultPlan(
                        (LoseCompletion(activity=step, attempt=1), CrashWorker(after_event=40))
                    )
                ),
                repeat=repeats(quick, 15),
            ),
            unit="ms",
            detail="informational",
        ),
    ]
    plain: list[float] = []
    explored: list[float] = []
    count = 0
    for _ in range(repeats(quick, 3, 1)):
        wall, count = _examples([])
        plain.append(wall)
        wall, _ = _examples(["--durable-explore"])
        explored.append(wall)
    plain_t, explored_t = Timing(plain), Timing(explored)
    rows.append(
        timing_row(
            f"the `examples/` suite ({count} tests), serial",
            plain_t,
            detail="informational; process wall time",
        )
    )
    rows.append(
        timing_row(
            "the same with `--durable-explore`",
            explored_t,
            detail="informational; process wall time",
        )
    )
    ratio = explored_t.median / plain_t.median
    rows.append(
        Row(
            benchmark="`--durable-explore` over `examples/`: time with / without",
            value=ratio,
            unit="x",
            target="< 5 x",
            ok=ratio < 5,
            detail=f"medians of {len(plain)}",
        )
    )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
