"""Source text and helpers shared by the plugin tests."""

from __future__ import annotations

import re

import pytest

PYTEST_MAJOR = int(pytest.__version__.split(".")[0])
PYTEST_VERSION = tuple(int(part) for part in pytest.__version__.split(".")[:2] if part.isdigit())
"""pytest's (major, minor) version."""

WORKFLOWS = '''
import itertools
import threading
from datetime import timedelta

from pytest_durable import workflow, activity


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn
class Greeter:
    """Sleeps a day, then greets: two workflow tasks, a timer and an activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(days=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )


@workflow.defn
class Dice:
    @workflow.run
    async def run(self) -> int:
        return workflow.random().randint(1, 1_000_000)


@workflow.defn
class Failing:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(hours=1))
        raise ValueError("out of stock")


@workflow.defn
class Busy:
    """Blocks its workflow task for 0.1 real seconds without yielding."""

    @workflow.run
    async def run(self) -> str:
        threading.Event().wait(0.1)  # time.sleep would be refused by the determinism guard
        return "done"


_calls = itertools.count()


@workflow.defn
class Nondeterministic:
    """Takes another path each time its code runs: only replay notices."""

    @workflow.run
    async def run(self) -> str:
        if next(_calls) == 0:
            await workflow.sleep(timedelta(seconds=1))
        else:
            await workflow.execute_activity(
                greet, "x", start_to_close_timeout=timedelta(seconds=5)
            )
        return "done"
'''
"""``workflows.py`` in every pytester directory."""


def write_ini(pytester: pytest.Pytester, *lines: str, asyncio: bool = True) -> None:
    """Write the inner run's ``pytest.ini``: strict like ours, plus ``lines`` (e.g. ini keys).

    ``asyncio=False`` leaves out pytest-asyncio's key, for runs with ``-p no:asyncio``.
    pytest-benchmark is off: under xdist (ours or the inner run's) it warns that it is disabled,
    and warnings are errors here.
    """
    body = ["[pytest]", "addopts = --strict-markers -p no:benchmark", "filterwarnings = error"]
    if asyncio:
        body.append("asyncio_default_fixture_loop_scope = function")
    body.extend(lines)
    pytester.makeini("\n".join(body) + "\n")


def header_line(result: pytest.RunResult) -> str:
    """The ``durable: ...`` line of a run's report header."""
    for line in result.outlines:
        if line.startswith("durable: "):
            return line
    raise AssertionError("no 'durable:' header line in:\n" + result.stdout.str())


def printed(result: pytest.RunResult, name: str) -> str:
    """The value an inner test printed as ``name=value`` (run with ``-s``)."""
    match = re.search(rf"^{re.escape(name)}=(.*)$", result.stdout.str(), re.MULTILINE)
    assert match is not None, f"{name}= not printed:\n{result.stdout.str()}"
    return match.group(1)
