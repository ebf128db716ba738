"""The whole ``examples/`` suite's wall time: serial, and under pytest-xdist with two workers.

Each repetition runs ``python -m pytest examples -q -p no:cacheprovider`` in a fresh process,
as a developer would, so interpreter start-up, collection and plugin loading are included. A
second figure reports the time pytest itself says the tests took (``N passed in X s``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

from _harness import REPO, Row, Timing, main, repeats, timing_row

_PASSED = re.compile(r"(\d+) passed in ([0-9.]+)s")


def _run(extra: list[str]) -> tuple[float, float, int]:
    cmd = [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider", *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:])
        raise SystemExit(f"the examples suite failed: {' '.join(cmd)}")
    match = _PASSED.search(done.stdout)
    if match is None:
        raise SystemExit(f"no pytest summary line in the output of {' '.join(cmd)}")
    return wall, float(match.group(2)), int(match.group(1))


def collect(quick: bool) -> list[Row]:
    rows: list[Row] = []
    for label, extra in (("serial", []), ("`-n 2` (pytest-xdist)", ["-n", "2"])):
        walls: list[float] = []
        inner: list[float] = []
        count = 0
        for _ in range(repeats(quick, 5, 2)):
            wall, tests, count = _run(extra)
            walls.append(wall)
            inner.append(tests)
        rows.append(
            timing_row(
                f"the `examples/` suite, {label}: process wall time",
                Timing(walls),
                detail=f"informational; {count} tests; median of {len(walls)}",
            )
        )
        rows.append(
            timing_row(
                f"the `examples/` suite, {label}: pytest's own 'passed in'",
                Timing(inner),
                detail="informational; collection and test run, without interpreter start-up",
            )
        )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
