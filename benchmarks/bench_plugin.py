"""What the plugin costs a pytest run that does not use it.

Every pytest run of a project that installs pytest-durable imports its plugin, so importing it
and registering its options, marker and fixtures must cost next to nothing (the engine loads
when a fixture or marker is first used). Two measurements, each repetition a fresh process with
bytecode already compiled (as an installed package has it; the cache goes to a temporary
``PYTHONPYCACHEPREFIX`` so the checkout is left clean):

- ``import pytest_durable.plugin`` after ``import pytest``, against pytest-xdist's plugin;
- a one-test suite that never uses the plugin, ``python -m pytest -q test_one.py``, with the
  plugin and with ``-p no:durable``, alternating so that the machine's load hits both alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import REPO, Row, Timing, main, repeats, timing_row

_IMPORT = (
    "import time, pytest\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "print(time.perf_counter() - started)\n"
)


def _environment(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
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


def _suite_time(directory: Path, extra: list[str], env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "test_one.py"]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
        raise SystemExit(f"the one-test suite failed: {' '.join(cmd)}")
    return elapsed


def collect(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        env = _environment(str(directory / "pycache"))
        (directory / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        (directory / "pytest.ini").write_text("[pytest]\n")
        n = repeats(quick, 21, 7)

        for module, target in (("pytest_durable.plugin", 0.010), ("xdist.plugin", None)):
            _import_time(module, env)  # compiles the bytecode
            timing = Timing([_import_time(module, env) for _ in range(n)])
            rows.append(
                timing_row(
                    f"`import {module}` (after `import pytest`)",
                    timing,
                    unit="ms",
                    target_s=target,
                    detail=f"median of {n} fresh processes"
                    + ("" if target else "; for comparison"),
                )
            )

        with_plugin: list[float] = []
        without: list[float] = []
        _suite_time(directory, [], env)
        _suite_time(directory, ["-p", "no:durable"], env)
        for _ in range(n):
            with_plugin.append(_suite_time(directory, [], env))
            without.append(_suite_time(directory, ["-p", "no:durable"], env))
    on, off = Timing(with_plugin), Timing(without)
    rows.append(timing_row("a one-test suite, with the plugin", on, detail=f"median of {n}"))
    rows.append(timing_row("the same, `-p no:durable`", off, detail=f"median of {n}"))
    difference = Timing([a - b for a, b in zip(with_plugin, without, strict=True)])
    rows.append(
        Row(
            benchmark="what the plugin adds to the one-test suite",
            value=(on.median - off.median) * 1e3,
            unit="ms",
            best=(on.best - off.best) * 1e3,
            target="< 15 ms",
            ok=on.median - off.median < 0.015,
            detail=f"median with minus median without (best: best minus best); paired median "
            f"{difference.median * 1e3:.1f} ms",
        )
    )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
