"""The engine never imports pytest or Hypothesis: it runs in production code too."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["pytest_durable.engine", "pytest_durable", "pytest_durable.workflow"]
)
def test_importing_does_not_pull_in_test_tools(module: str) -> None:
    script = (
        "import json, sys\n"
        f"import {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pytest', '_pytest', 'hypothesis'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) == []


def test_the_engine_runs_a_workflow_without_pytest() -> None:
    script = """
import sys
from datetime import timedelta
from pytest_durable import DurableEnvironment, workflow

@workflow.defn
class Nap:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=1))
        return "rested"

with DurableEnvironment() as env:
    print(env.run(Nap).result(), env.now().isoformat())
assert "pytest" not in sys.modules and "hypothesis" not in sys.modules
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["rested", "2000-01-02T00:00:00+00:00"]
