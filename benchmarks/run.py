"""Run every benchmark, each in a fresh process, and print one markdown table.

python benchmarks/run.py            # full repetitions (about a minute)
python benchmarks/run.py --quick    # fewer repetitions
python benchmarks/run.py --only replay --only timers
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _harness import Row, machine, render

HERE = Path(__file__).resolve().parent
SUITES = [
    "environment",
    "activities",
    "guard",
    "timers",
    "replay",
    "replay_every_task",
    "memory",
    "semantics",
    "examples",
    "plugin",
    "faults",
    "properties",
    "recorded",
    "temporal",
]


def run_suite(name: str, quick: bool) -> list[Row]:
    """Run ``bench_<name>.py`` in its own process (memory figures need a fresh one)."""
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), "--json"]
    if quick:
        cmd.append("--quick")
    print(f"running bench_{name}.py ...", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"bench_{name}.py failed with exit code {out.returncode}")
    return [Row(**json.loads(line)) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--only", action="append", choices=SUITES, help="run only these suites (repeatable)"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.only or SUITES:
        rows.extend(run_suite(name, args.quick))
    print(machine())
    print()
    print(render(rows))
    missed = [row.benchmark for row in rows if row.ok is False]
    if missed:
        print(f"\n{len(missed)} target(s) missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
