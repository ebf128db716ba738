"""1,000 recorded histories of 20-50 events, collected and replayed as tests by pytest.

Each history file under ``durable_history_paths`` is a test that replays it against today's
code (``docs/pytest-plugin.md``, "Recorded histories"). This measures the whole
``python -m pytest -q`` process over a folder of 1,000 such files (one workflow type, 4 to 11
activities each: 19 to 47 events), interpreter start-up, plugin loading and collection
included, with bytecode already compiled (in a temporary ``PYTHONPYCACHEPREFIX``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _harness import REPO, Row, Timing, main, repeats, timing_row

FILES = 1_000

WORKFLOW = '''
from datetime import timedelta
from pytest_durable import activity, workflow

@activity.defn
async def step(n: int) -> int:
    return n

@workflow.defn
class Steps:
    @workflow.run
    async def run(self, count: int) -> int:
        total = 0
        for n in range(count):
            total += await workflow.execute_activity(
                step, n, start_to_close_timeout=timedelta(seconds=5)
            )
        return total
'''

_PASSED = re.compile(r"(\d+) passed in ([0-9.]+)s")


def _write_corpus(folder: Path) -> int:
    """Write the workflow module, the ini file and the histories; returns the event count."""
    (folder / "bench_steps.py").write_text(WORKFLOW)
    (folder / "pytest.ini").write_text(
        "[pytest]\npythonpath = .\ndurable_history_paths = histories\n"
        "durable_workflow_modules = bench_steps\n"
    )
    sys.path.insert(0, str(folder))
    from bench_steps import Steps  # type: ignore[import-not-found]

    from pytest_durable import DurableEnvironment

    events = 0
    texts = {}
    for count in range(4, 12):
        with DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC)) as env:
            env.mock_activity("step", side_effect=lambda n: n)
            texts[count] = env.run(Steps.run, count, id="w").history.to_json()
    histories = folder / "histories"
    histories.mkdir()
    for i in range(FILES):
        count = 4 + i % 8
        text = texts[count].replace('"w"', f'"w-{i}"')
        (histories / f"run-{i:04d}.json").write_text(text)
        events += text.count('"id":')
    return events


def _run(folder: Path, env: dict[str, str], extra: list[str]) -> tuple[float, float, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    match = _PASSED.search(done.stdout)
    if done.returncode != 0 or match is None:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-2000:])
        raise SystemExit(f"the recorded-histories suite failed: {' '.join(cmd)}")
    return wall, float(match.group(2)), int(match.group(1))


def collect(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        events = _write_corpus(folder)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        env["PYTHONPATH"] = os.environ.get("PYTHONPATH") or str(REPO)
        floor = folder / "floor"
        floor.mkdir()
        (floor / "pytest.ini").write_text("[pytest]\n")
        (floor / "test_trivial.py").write_text(
            "import pytest\n\n@pytest.mark.parametrize('i', range(1000))\n"
            "def test_nothing(i):\n    pass\n"
        )
        _run(folder, env, [])  # compiles the bytecode
        walls, inner, floors = [], [], []
        count = 0
        for _ in range(repeats(quick, 5, 2)):
            wall, tests, count = _run(folder, env, ["histories"])
            walls.append(wall)
            inner.append(tests)
            floors.append(_run(floor, env, [])[0])
    rows.append(
        timing_row(
            f"{FILES:,} recorded histories ({events:,} events) replayed as tests: "
            "`python -m pytest -q`, whole process",
            Timing(walls),
            target_s=3.0,
            detail=f"{count} tests; median of {len(walls)}",
        )
    )
    rows.append(
        timing_row(
            "the same, pytest's own 'passed in' (collection and replay)",
            Timing(inner),
            detail="informational; without interpreter start-up and plugin loading",
        )
    )
    rows.append(
        timing_row(
            "pytest's floor: 1,000 tests that do nothing, same process setup, same moment",
            Timing(floors),
            detail="informational; what any 1,000 tests cost on this machine now",
        )
    )
    return rows


if __name__ == "__main__":
    main(__doc__.splitlines()[0], collect)
