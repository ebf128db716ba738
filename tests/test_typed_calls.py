"""Typed user calls: a type checker sees activity and workflow result types and argument errors.

The snippet below is type-checked by mypy (in a subprocess, against this checkout). A line
marked ``# error`` must be reported; a ``reveal_type`` line marked ``# is: T`` must reveal T
(up to its module); nothing else may be reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest_durable

SNIPPET = """
from datetime import timedelta

from pytest_durable import ActivityEnvironment, DurableEnvironment, activity, workflow

T = timedelta(seconds=5)


@activity.defn
async def charge(order_id: str, amount: int) -> float:
    return 1.5


@activity.defn
def reserve(order_id: str) -> bool:
    return True


@workflow.defn
class Child:
    @workflow.run
    async def run(self, n: int) -> list[int]:
        return [n]


@workflow.defn
class Checkout:
    @workflow.run
    async def run(self, order: str) -> str:
        paid = await workflow.execute_activity(charge, order, 3, start_to_close_timeout=T)
        reveal_type(paid)  # is: float
        held = await workflow.execute_activity(reserve, order, start_to_close_timeout=T)
        reveal_type(held)  # is: bool
        listed = await workflow.execute_activity(charge, args=[order, 3], start_to_close_timeout=T)
        reveal_type(listed)  # is: float
        future = workflow.start_activity(charge, order, 3, start_to_close_timeout=T)
        reveal_type(future)  # is: Future[float]
        named = await workflow.execute_activity("charge", order, start_to_close_timeout=T)
        reveal_type(named)  # is: Any
        hinted = await workflow.execute_activity("n", start_to_close_timeout=T, result_type=int)
        reveal_type(hinted)  # is: int
        await workflow.execute_activity(charge, order, "3", start_to_close_timeout=T)  # error
        await workflow.execute_activity(charge, order, start_to_close_timeout=T)  # error
        items = await workflow.execute_child_workflow(Child.run, 2)
        reveal_type(items)  # is: list[int]
        handle = await workflow.start_child_workflow(Child.run, 2)
        reveal_type(handle)  # is: ChildWorkflowHandle[list[int]]
        reveal_type(await handle)  # is: list[int]
        await workflow.execute_child_workflow(Child.run, "two")  # error
        return order


env = DurableEnvironment()
reveal_type(env.run(Checkout.run, "o-1").result())  # is: str
reveal_type(env.start(Checkout.run, args=["o-1"]).result())  # is: str
reveal_type(env.run("Checkout", "o-1").result())  # is: Any
env.run(Checkout.run, 1)  # error
reveal_type(ActivityEnvironment().run(charge, "o", 3))  # is: float
reveal_type(ActivityEnvironment().run(reserve, "o"))  # is: bool
ActivityEnvironment().run(charge, "o")  # error
"""


def test_result_types_are_inferred_and_wrong_arguments_reported(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    root = Path(pytest_durable.__file__).parent.parent
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version=3.11",
            "--no-error-summary",
            "--hide-error-context",
            "--config-file=",
            "--ignore-missing-imports",
            "--follow-imports=silent",
            f"--cache-dir={tmp_path / '.mypy_cache'}",
            str(snippet),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPYPATH": str(root)},
    )
    reported: dict[int, list[str]] = {}
    for line in completed.stdout.splitlines():
        match = re.match(r".*snippet\.py:(\d+): (error|note): (.*)", line)
        assert match, completed.stdout + completed.stderr
        reported.setdefault(int(match.group(1)), []).append(f"{match.group(2)}: {match.group(3)}")
    expected_errors = set()
    for number, text in enumerate(SNIPPET.splitlines(), start=1):
        if text.endswith("# error"):
            expected_errors.add(number)
            assert any(r.startswith("error:") for r in reported.get(number, [])), (number, text)
        elif "# is: " in text:
            wanted = text.rsplit("# is: ", 1)[1]
            revealed = [
                r.removeprefix('note: Revealed type is "').removesuffix('"')
                for r in reported.get(number, [])
                if r.startswith("note: Revealed type is")
            ]
            # Qualified names vary with typeshed (asyncio.futures.Future or _asyncio.Future).
            assert any(r == wanted or r.endswith("." + wanted) for r in revealed), (
                number,
                text,
                revealed,
            )
    unexpected = {
        number: lines
        for number, lines in reported.items()
        if number not in expected_errors and any(r.startswith("error:") for r in lines)
    }
    assert unexpected == {}
