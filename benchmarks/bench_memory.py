"""Memory of 10,000 concurrently sleeping workflows, and the time to start and finish them.

Starts 10,000 workflows that each ``await workflow.sleep(timedelta(days=1))`` in one
environment, reports what they hold (RSS growth, ``ru_maxrss`` growth, and in a second pass
``tracemalloc``'s current and peak), then lets the day pass with one ``env.sleep`` so they all
finish. A 1,000-workflow run of the same shape shows whether start and finish scale linearly.
Run it in a fresh process (``run.py`` does): ``ru_maxrss`` is a high-water mark for the process.
"""

from __future__ import annotations

import gc
import os
import resource
import time
import tracemalloc
from datetime import timedelta

from _harness import Row
from _harness import main as run_main
from _workflows import Sleeper

from pytest_durable import DurableEnvironment

COUNT = 10_000
MiB = 1024 * 1024


def _rss() -> int | None:
    """Current resident set size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _maxrss() -> int:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if os.uname().sysname == "Darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _start(env: DurableEnvironment, count: int) -> list:
    return [env.start(Sleeper.run, id=f"sleeper-{i}") for i in range(count)]


def _finish(env: DurableEnvironment, handles: list) -> None:
    env.sleep(timedelta(days=1))
    assert all(h.status == "completed" for h in handles), "not every sleeper finished"


def timed_pass(count: int) -> dict[str, float]:
    """Start ``count`` sleepers and let them finish; wall times and process memory."""
    env = DurableEnvironment()
    gc.collect()
    rss0, maxrss0 = _rss(), _maxrss()
    t0 = time.perf_counter()
    handles = _start(env, count)
    t1 = time.perf_counter()
    gc.collect()
    rss1, maxrss1 = _rss(), _maxrss()
    t2 = time.perf_counter()
    _finish(env, handles)
    t3 = time.perf_counter()
    env.close()
    return {
        "start_s": t1 - t0,
        "finish_s": t3 - t2,
        "rss_delta": float(rss1 - rss0) if rss0 is not None and rss1 is not None else float("nan"),
        "maxrss_delta": float(maxrss1 - maxrss0),
    }


def traced_pass(count: int) -> tuple[int, int]:
    """Start ``count`` sleepers under tracemalloc: (current, peak) bytes they allocated."""
    env = DurableEnvironment()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    handles = _start(env, count)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del handles
    env.close()
    return current - base, peak - base


def collect(quick: bool) -> list[Row]:
    big = timed_pass(COUNT)
    current, peak = traced_pass(COUNT)
    small = timed_pass(COUNT // 10)
    start_ratio = big["start_s"] / small["start_s"]
    finish_ratio = big["finish_s"] / small["finish_s"]
    return [
        Row(
            benchmark="10,000 sleeping workflows: memory held (tracemalloc, after gc)",
            value=current / MiB,
            unit="MiB",
            detail=f"{current / COUNT / 1024:.1f} KiB per workflow; tracemalloc peak "
            f"{peak / MiB:.1f} MiB",
        ),
        Row(
            benchmark="10,000 sleeping workflows: RSS growth",
            value=big["rss_delta"] / MiB,
            unit="MiB",
            detail=f"ru_maxrss growth {big['maxrss_delta'] / MiB:.1f} MiB",
        ),
        Row(
            benchmark="start 10,000 sleeping workflows (`env.start` each)",
            value=big["start_s"],
            unit="s",
            detail=f"1,000 take {small['start_s']:.3f} s: {start_ratio:.1f}x for 10x (single run)",
        ),
        Row(
            benchmark="finish them (one `env.sleep(1 day)` fires 10,000 timers)",
            value=big["finish_s"],
            unit="s",
            detail=f"1,000 take {small['finish_s']:.3f} s: {finish_ratio:.1f}x for 10x "
            "(single run)",
        ),
    ]


if __name__ == "__main__":
    run_main(__doc__.splitlines()[0], collect)
