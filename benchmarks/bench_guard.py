"""The determinism guard's cost on 1,000 sequential mocked activities: never installed, off, on.

CPU time (``time.process_time``) of ``env.run(...).result()``, best of many. Three modes, each
in fresh processes that alternate (never, off, on, never, off, on...) so that the machine's
drifting load falls on all three alike:

- *never installed*: no guarded environment was ever made in the process: nothing is patched;
- *installed, off*: the guard's patches are in place (a guarded environment was made before),
  the measured environment has ``determinism_guard=False``: what the patches cost everyone;
- *on*: ``determinism_guard=True`` (the default): the patches plus the checks of the
  workflow's own calls.

The issue's target: *on* costs less than 15% more than *never installed*.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _harness import Row, Timing, main, repeats, timing_row

ACTIVITIES = 1000
MODES = ("never", "off", "on")
_MODE_VARIABLE = "BENCH_GUARD_MODE"


def _rounds(mode: str, rounds: int) -> list[float]:
    """CPU seconds of ``rounds`` runs in this process, after one untimed warm-up run."""
    from _workflows import SequentialActivities, step

    from pytest_durable import DurableEnvironment

    if mode != "never":
        DurableEnvironment().close()  # installs the guard's patches in the process
    times = []
    for i in range(rounds + 1):
        env = DurableEnvironment(determinism_guard=mode == "on")
        env.mock_activity(step, returns=1)
        gc.collect()
        start = time.process_time()
        result = env.run(SequentialActivities.run, ACTIVITIES).result()
        elapsed = time.process_time() - start
        env.close()
        assert result == ACTIVITIES, result
        if i:
            times.append(elapsed)
    return times


def _in_fresh_process(mode: str, rounds: int) -> list[float]:
    environment = {**os.environ, _MODE_VARIABLE: f"{mode}:{rounds}"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    times: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return times


def collect(quick: bool) -> list[Row]:
    processes = repeats(quick, 6, 2)
    rounds = repeats(quick, 8, 4)
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(processes):
        for mode in MODES:
            times[mode].extend(_in_fresh_process(mode, rounds))
    never, off, on = (Timing(times[mode]) for mode in MODES)
    cost = on.best / never.best - 1
    runs = processes * rounds
    return [
        timing_row(
            "1,000 mocked activities, guard never installed (CPU)",
            never,
            unit="ms",
            detail=f"informational; median of {runs} in {processes} processes",
        ),
        timing_row(
            "1,000 mocked activities, guard installed but off (CPU)",
            off,
            unit="ms",
            detail=f"informational; best {off.best / never.best - 1:+.1%} vs never installed",
        ),
        timing_row(
            "1,000 mocked activities, guard on (CPU)",
            on,
            unit="ms",
            detail=f"informational; best {on.best / off.best - 1:+.1%} vs off",
        ),
        Row(
            benchmark=f"determinism guard: cost on 1,000 mocked activities (CPU, best of {runs})",
            value=cost * 100,
            unit="%",
            target="< 15 %",
            ok=cost < 0.15,
            detail=f"on {on.best * 1e3:.1f} ms vs never installed {never.best * 1e3:.1f} ms",
        ),
    ]


if __name__ == "__main__":
    if _MODE_VARIABLE in os.environ:
        mode, count = os.environ[_MODE_VARIABLE].split(":")
        print(json.dumps(_rounds(mode, int(count))))
    else:
        main(__doc__.splitlines()[0], collect)
