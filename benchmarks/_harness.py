"""Shared helpers for the benchmark scripts: repeat a measurement, summarise it, report it.

Every ``bench_*.py`` script builds a list of :class:`Row` and hands it to :func:`main`, which
prints a markdown table (or JSON lines with ``--json``, which ``run.py`` collects). Timings use
``time.perf_counter``; each measurement is repeated and reported as median and best. The garbage
collector stays on (as in a real test run) but is emptied before every repetition, so one
repetition's garbage is not billed to the next.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # Lowest priority: an installed (editable) checkout or PYTHONPATH wins, so that
    # ``PYTHONPATH=/tmp/other-copy python benchmarks/run.py`` measures another copy.
    sys.path.append(str(REPO))


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    value: float
    """The headline figure: the median for timings."""
    unit: str
    """``s``, ``ms``, ``us``, ``events/s``, ``KiB``, ``MiB``, ``x`` (a ratio)."""
    best: float | None = None
    """The best repetition (the figure least disturbed by the machine), when repeated."""
    target: str = ""
    ok: bool | None = None
    """Whether the target is met; None when the row is informational."""
    reference: str = ""
    """The reference figure we were given for Temporal's own test server, if any."""
    detail: str = ""


@dataclass
class Timing:
    """Wall-clock seconds of each repetition."""

    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


def measure(
    fn: Callable[[Any], Any],
    *,
    repeat: int,
    setup: Callable[[], Any] = lambda: None,
    teardown: Callable[[Any], Any] = lambda _: None,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Time ``fn(setup())`` ``repeat`` times (after ``warmup`` untimed runs).

    ``setup`` and ``teardown`` are not timed. ``clock`` is wall time unless told otherwise
    (``time.process_time`` for CPU time, which other processes' load disturbs less).
    """
    runs: list[float] = []
    for i in range(warmup + repeat):
        state = setup()
        gc.collect()
        start = clock()
        fn(state)
        elapsed = clock() - start
        teardown(state)
        if i >= warmup:
            runs.append(elapsed)
    return Timing(runs)


def timing_row(
    name: str,
    timing: Timing,
    *,
    unit: str = "s",
    target_s: float | None = None,
    reference: str = "",
    detail: str = "",
) -> Row:
    """A row for a timing, in ``unit`` (``s``, ``ms`` or ``us``), checked against ``target_s``."""
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    target = ""
    ok = None
    if target_s is not None:
        target = f"< {_number(target_s * scale)} {unit}"
        ok = timing.median < target_s
    return Row(
        benchmark=name,
        value=timing.median * scale,
        unit=unit,
        best=timing.best * scale,
        target=target,
        ok=ok,
        reference=reference,
        detail=detail or f"median of {len(timing.runs)}",
    )


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    return f"{value:.3g}"


def render(rows: Sequence[Row]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| benchmark | result (median) | best | target | met | Temporal reference | notes |",
        "|---|---:|---:|---|:-:|---|---|",
    ]
    for row in rows:
        met = "" if row.ok is None else ("yes" if row.ok else "**NO**")
        best = "" if row.best is None else f"{_number(row.best)} {row.unit}"
        lines.append(
            f"| {row.benchmark} | {_number(row.value)} {row.unit} | {best} | {row.target} | "
            f"{met} | {row.reference} | {row.detail} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """One line about where the figures were measured."""
    return (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({_cpu_model()}), "
        f"pytest_durable {_revision()}"
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _revision() -> str:
    import pytest_durable

    where = Path(pytest_durable.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return f"from {where}"
    commit = out.stdout.strip() if out.returncode == 0 else ""
    return f"from {where}" + (f" at {commit}" if commit else "")


def parse_args(description: str) -> argparse.Namespace:
    """``--quick`` (fewer repetitions) and ``--json`` (rows as JSON lines, for run.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines")
    return parser.parse_args()


def main(description: str, collect: Callable[[bool], list[Row]]) -> None:
    """Run ``collect(quick)`` and print its rows."""
    args = parse_args(description)
    rows = collect(args.quick)
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row)))
    else:
        print(machine())
        print()
        print(render(rows))


def repeats(quick: bool, full: int, fast: int = 3) -> int:
    """How many repetitions to time."""
    return fast if quick else full
