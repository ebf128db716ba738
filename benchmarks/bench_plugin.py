"""What the plugin costs a pytest run that does not use it.

Every pytest run of a project that installs pytest-durable imports its plugin, so importing it
and registering its options, marker and fixtures must cost next to nothing (the engine loads
when a fixture or marker is first used). Measured, each repetition a fresh process:

- ``import pytest_durable.plugin`` after ``import pytest`` (CPU time in that process), with its
  bytecode cached (as an installed package has it) and not cached (``PYTHONDONTWRITEBYTECODE=1``
  and no ``__pycache__``: a source checkout under this machine's environment, or CI's clean
  clone, compiles the plugin's modules on every run), against pytest-xdist's plugin;
- a one-test suite that never uses the plugin, ``python -m pytest -q test_one.py``: with the
  plugin, with ``-p no:durable``, and with the plugin's bytecode not cached. The three arms are
  interleaved, their order rotating each round, so the machine's load hits them alike; each
  run's CPU time (user + system of the child, which other processes' load disturbs less than
  wall time) is paired with the other arms' runs of the same round, and the plugin's cost is
  the median of those paired differences, with best minus best beside it;
- the same two arms counted in instructions by valgrind's callgrind, when valgrind is installed
  (one run each, hash seed fixed): deterministic where CPU time on a shared VM is not, since two
  consecutive identical runs differ by more CPU time than the plugin costs. The difference is
  shown as time too: its share of the instructions, applied to the ``-p no:durable`` arm's best
  CPU time.

Bytecode goes to temporary ``PYTHONPYCACHEPREFIX`` folders, so the checkout is left clean and
every arm reads pytest's and the other plugins' bytecode from the same warm cache.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import REPO, Row, Timing, main, repeats, timing_row

_IMPORT = (
    "import time, pytest\n"
    "started = time.process_time()\n"
    "import {module}\n"
    "print(time.process_time() - started)\n"
)

# Runs the one-test suite in-process with every hook the plugin implements (module functions and
# the hook classes it registers) wrapped in a CPU-time counter, after a timed import of the
# plugin: what the plugin itself costs the run, untouched by how long the rest of pytest took.
_OWN_TIME = """
import functools, inspect, sys, time
import pytest
clock = time.process_time
spent = [0.0]
started = clock()
import pytest_durable.plugin as plugin
spent[0] += clock() - started

def timed(fn):
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args):
            started = clock()
            try:
                it = fn(*args)
                value = next(it)
            finally:
                spent[0] += clock() - started
            while True:
                try:
                    sent = yield value
                except BaseException as exc:
                    step = lambda: it.throw(exc)
                else:
                    step = lambda: it.send(sent)
                started = clock()
                try:
                    value = step()
                except StopIteration as stop:
                    return stop.value
                finally:
                    spent[0] += clock() - started
        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        started = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[0] += clock() - started
    return function

hooks = 0
for owner in [plugin, *(v for v in vars(plugin).values() if inspect.isclass(v)
                        and v.__module__ == plugin.__name__)]:
    for name, value in list(vars(owner).items()):
        if name.startswith("pytest_") and inspect.isfunction(value):
            setattr(owner, name, timed(value))
            hooks += 1
assert hooks >= 10, hooks
code = pytest.main(["-q", "-p", "no:cacheprovider", "test_one.py"])
assert code == 0, code
print("SPENT", spent[0])
"""

_ARMS = {
    "with the plugin": [],
    "`-p no:durable`": ["-p", "no:durable"],
    "with the plugin, its bytecode not cached": [],
}


def _environment(cache: Path, *, write_bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    path = env.get("PYTHONPATH")
    # The copy being measured: PYTHONPATH if set (as run.py documents), else this checkout.
    env["PYTHONPATH"] = path if path else str(REPO)
    return env


def _import_time(module: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(out.stdout.strip())


def _suite_time(directory: Path, extra: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the one-test suite (runs are one at a time)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "test_one.py"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
        raise SystemExit(f"the one-test suite failed: {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _instructions(directory: Path, extra: list[str], env: dict[str, str]) -> int:
    """Instructions the one-test suite's pytest process executes, counted by callgrind.

    Deterministic where CPU time is not: with the hash seed fixed, the count of one run repeats
    to within a few parts in a thousand, whatever the machine's load.
    """
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
        "test_one.py",
    ]
    done = subprocess.run(
        cmd,
        cwd=directory,
        capture_output=True,
        text=True,
        env={**env, "PYTHONHASHSEED": "0"},
        check=False,
    )
    # The first line names the pytest process; a child it forks reports its own count.
    first = re.search(r"==(\d+)==", done.stderr)
    count = first and re.search(rf"=={first.group(1)}== Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not count:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
        raise SystemExit(f"counting instructions failed: {' '.join(cmd)}")
    return int(count.group(1))


def _own_time(directory: Path, env: dict[str, str]) -> float:
    """CPU seconds the plugin's import and hooks take in one run of the one-test suite."""
    out = subprocess.run(
        [sys.executable, "-c", _OWN_TIME],
        cwd=directory,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    spent = [line for line in out.stdout.splitlines() if line.startswith("SPENT ")]
    if out.returncode != 0 or not spent:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
        raise SystemExit("the in-process measurement of the plugin's own time failed")
    return float(spent[0].split()[1])


def _uncached_copy(warm: Path, cold: Path) -> None:
    """``warm``'s bytecode without the measured copy's ``pytest_durable`` modules."""
    shutil.copytree(warm, cold)
    source = Path(_environment(warm, write_bytecode=True)["PYTHONPATH"].split(os.pathsep)[0])
    mirrored = cold / source.resolve().relative_to("/") / "pytest_durable"
    shutil.rmtree(mirrored, ignore_errors=True)
    if any(cold.rglob("pytest_durable/**/*.pyc")):
        raise SystemExit(f"bytecode of pytest_durable left in {cold}: cannot measure it uncached")


def _difference_row(name: str, on: list[float], off: list[float], wall: str) -> Row:
    paired = statistics.median(a - b for a, b in zip(on, off, strict=True))
    return Row(
        benchmark=name,
        value=paired * 1e3,
        unit="ms",
        best=(min(on) - min(off)) * 1e3,
        target="< 15 ms",
        ok=paired < 0.015,
        detail=f"CPU time: median of {len(on)} paired differences (best: best minus best); "
        f"wall time: {wall}",
    )


def collect(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        warm, cold = directory / "pycache", directory / "pycache-cold"
        env = _environment(warm, write_bytecode=True)
        (directory / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        (directory / "pytest.ini").write_text("[pytest]\n")
        n = repeats(quick, 60, 20)

        for module, target in (("pytest_durable.plugin", 0.010), ("xdist.plugin", None)):
            _import_time(module, env)  # compiles the bytecode
            timing = Timing([_import_time(module, env) for _ in range(n)])
            rows.append(
                timing_row(
                    f"`import {module}` (after `import pytest`)",
                    timing,
                    unit="ms",
                    target_s=target,
                    detail=f"CPU time, median of {n} fresh processes"
                    + ("" if target else "; for comparison"),
                )
            )

        _suite_time(directory, [], env)  # compiles pytest's and the plugins' bytecode
        _uncached_copy(warm, cold)
        uncached = _environment(cold, write_bytecode=False)
        timing = Timing([_import_time("pytest_durable.plugin", uncached) for _ in range(n)])
        rows.append(
            timing_row(
                "`import pytest_durable.plugin`, its bytecode not cached",
                timing,
                unit="ms",
                detail=f"CPU time, median of {n}; compiled on every import, as in a checkout "
                "under PYTHONDONTWRITEBYTECODE=1",
            )
        )

        for label, arm_env, detail in (
            ("", env, ""),
            (", its bytecode not cached", uncached, "; its modules compiled on every run"),
        ):
            timing = Timing([_own_time(directory, arm_env) for _ in range(n)])
            rows.append(
                timing_row(
                    f"the plugin's own time in a one-test run{label}",
                    timing,
                    unit="ms",
                    target_s=0.015 if not label else None,
                    detail=f"CPU time of its import and of every hook it implements, in the "
                    f"run; median of {n} fresh processes{detail}",
                )
            )

        envs = [env, env, uncached]
        runs: dict[str, list[tuple[float, float]]] = {arm: [] for arm in _ARMS}
        arms = list(_ARMS.items())
        for round_ in range(n):
            shift = round_ % len(arms)
            for index, (arm, extra) in enumerate(arms[shift:] + arms[:shift]):
                runs[arm].append(_suite_time(directory, extra, envs[(index + shift) % 3]))
        counts = (
            (
                _instructions(directory, [], env),
                _instructions(directory, _ARMS["`-p no:durable`"], env),
            )
            if shutil.which("valgrind")
            else None
        )

    cpu = {arm: [c for _, c in got] for arm, got in runs.items()}
    wall = {arm: [w for w, _ in got] for arm, got in runs.items()}
    for arm in _ARMS:
        rows.append(
            timing_row(
                f"a one-test suite, {arm}",
                Timing(cpu[arm]),
                detail=f"CPU time, median of {n}; wall time median "
                f"{statistics.median(wall[arm]):.3f} s, best {min(wall[arm]):.3f} s",
            )
        )
    on, off, cold_arm = _ARMS
    for arm, name in (
        (on, "what the plugin adds to the one-test suite"),
        (cold_arm, "what the plugin adds, its bytecode not cached"),
    ):
        paired_wall = statistics.median(a - b for a, b in zip(wall[arm], wall[off], strict=True))
        unpaired = statistics.median(wall[arm]) - statistics.median(wall[off])
        rows.append(
            _difference_row(
                name,
                cpu[arm],
                cpu[off],
                f"paired median {paired_wall * 1e3:.1f} ms, median minus median "
                f"{unpaired * 1e3:.1f} ms",
            )
        )
    if counts is None:
        sys.stderr.write("valgrind not found: the plugin's instructions are not counted\n")
    else:
        rows.append(_instructions_row(counts, min(cpu[off])))
    return rows


def _instructions_row(counts: tuple[int, int], best_off: float) -> Row:
    on, off = counts
    share = (on - off) / off
    return Row(
        benchmark="what the plugin adds to the one-test suite, in instructions",
        value=share * best_off * 1e3,
        unit="ms",
        target="< 15 ms",
        ok=share * best_off < 0.015,
        detail=f"{(on - off) / 1e6:,.1f} M more instructions than `-p no:durable` "
        f"({on / 1e6:,.1f} M vs {off / 1e6:,.1f} M, +{share:.1%}; callgrind, one run each), "
        f"as time: that share of the `-p no:durable` arm's best CPU time ({best_off:.3f} s)",
    )


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
