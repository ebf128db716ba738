"""The hot path in CPU time and Python calls, comparing checkouts under the same load.

    python benchmarks/hotpath.py /path/to/checkout-a /path/to/checkout-b   # CPU, best of N
    python benchmarks/hotpath.py --calls /path/to/checkout                  # calls per unit
    python benchmarks/hotpath.py --only environment --only close A B          # some paths only

Wall-clock figures on a shared machine mostly measure the other processes. This script times
each path with ``time.process_time`` (best of ``--repeat``) in a fresh process per checkout and
round, alternating the checkouts for ``--rounds`` rounds so that every checkout sees the same
conditions, and reports the best of all. ``--calls`` counts the Python-level and builtin calls
cProfile sees per activity (per timer, per environment): deterministic, so a change of a few
percent shows even on a loaded machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PATHS = ("mocked", "replay", "timers", "environment", "close", "small test")
UNITS = {
    "mocked": "ms",
    "replay": "events/s",
    "timers": "ms",
    "environment": "us",
    "close": "us",
    "small test": "us",
}


def _measure(repeat: int, calls: bool, only: list[str]) -> dict[str, float]:
    """In the child: each path's best CPU time (or calls per unit) for the checkout imported."""
    from _workflows import SequentialActivities, SequentialTimers, step

    from pytest_durable import DurableEnvironment, Replayer

    def mocked_env() -> DurableEnvironment:
        env = DurableEnvironment()
        env.mock_activity(step, returns=1)
        return env

    recorder = mocked_env()
    history = recorder.run(SequentialActivities.run, 1000).history
    recorder.close()
    replayer = Replayer(workflows=[SequentialActivities])
    envs: list[DurableEnvironment] = []

    def make_envs(_: Any) -> None:
        envs[:] = [DurableEnvironment() for _ in range(200)]

    def close_envs(_: Any) -> None:
        for env in envs:
            env.close()

    def small_tests(_: Any) -> None:
        # A typical test's whole cost: create, mock, run a one-activity workflow, close.
        for _ in range(50):
            with DurableEnvironment() as env:
                env.mock_activity(step, returns=1)
                env.run(SequentialActivities.run, 1).result()

    cases: dict[str, tuple[Callable[[Any], Any], Callable[[], Any], Callable[[Any], Any], int]] = {
        "mocked": (
            lambda env: env.run(SequentialActivities.run, 1000).result(),
            mocked_env,
            DurableEnvironment.close,
            1000,
        ),
        "replay": (lambda _: replayer.replay(history), lambda: None, lambda _: None, 1000),
        "timers": (
            lambda env: env.run(SequentialTimers.run, 1000, 1.0).result(),
            DurableEnvironment,
            DurableEnvironment.close,
            1000,
        ),
        "environment": (make_envs, lambda: None, close_envs, 200),
        "close": (close_envs, lambda: make_envs(None), lambda _: None, 200),
        "small test": (small_tests, lambda: None, lambda _: None, 50),
    }
    results = {}
    for name, (body, setup, teardown, units) in cases.items():
        if only and name not in only:
            continue
        best = float("inf")
        for _ in range(1 if calls else repeat):
            state = setup()
            body(state)  # warm: the first run of a path imports and primes caches
            teardown(state)
            state = setup()
            gc.collect()
            if calls:
                profile = cProfile.Profile()
                profile.enable()
                body(state)
                profile.disable()
                stats: Any = pstats.Stats(profile)
                best = sum(row[1] for row in stats.stats.values()) / units
            else:
                start = time.process_time()
                body(state)
                best = min(best, time.process_time() - start)
            teardown(state)
        if calls:
            results[name] = best
        elif name == "replay":
            results[name] = len(history) / best
        else:
            results[name] = best * (1e3 if UNITS[name] == "ms" else 1e6 / units)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--calls", action="store_true", help="count calls instead of timing")
    parser.add_argument(
        "--only", action="append", choices=PATHS, default=[], help="measure only these paths"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.repeat, args.calls, args.only)))
        return
    here = Path(__file__).resolve().parent
    best: dict[Path, dict[str, float]] = {}
    for _ in range(1 if args.calls else args.rounds):
        for checkout in args.checkouts:
            root = checkout.resolve()
            env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{root / 'benchmarks'}")
            command = [sys.executable, str(here / "hotpath.py"), "--child", str(root)]
            command += ["--repeat", str(args.repeat)] + (["--calls"] if args.calls else [])
            command += [f"--only={name}" for name in args.only]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout)
            seen = best.setdefault(checkout, {})
            for name, value in figures.items():
                higher = name == "replay" and not args.calls
                old = seen.get(name)
                seen[name] = value if old is None else (max if higher else min)(old, value)
    unit = "calls per unit" if args.calls else "CPU, best"
    print(f"| path ({unit}) | " + " | ".join(str(c) for c in args.checkouts) + " |")
    print("|---|" + "---:|" * len(args.checkouts))
    for name in args.only or PATHS:
        label = name if args.calls else f"{name} ({UNITS[name]})"
        cells = [f"{best[c][name]:,.1f}" for c in args.checkouts]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
