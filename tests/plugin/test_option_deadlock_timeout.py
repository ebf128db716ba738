"""``--durable-deadlock-timeout`` / ``durable_deadlock_timeout``: seconds, or 'off'."""

from __future__ import annotations

import inspect

import pytest

from pytest_durable import DurableEnvironment
from pytest_durable._config import DEFAULT_DEADLOCK_TIMEOUT

from ._support import header_line, write_ini

BUSY_TEST = """
from workflows import Busy

def test_busy(durable_env):
    assert durable_env.run(Busy.run).result() == "done"
"""


def test_default_allows_a_short_busy_task(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BUSY_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "deadlock_timeout=2s" in header_line(result)


def test_option_shortens_the_budget(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BUSY_TEST)
    result = pytester.runpytest("--durable-deadlock-timeout=0.02")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Deadlock*"])
    assert "deadlock_timeout=0.02s" in header_line(result)


def test_ini_key_shortens_the_budget_and_off_disables_it(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_deadlock_timeout = 0.02")
    pytester.makepyfile(BUSY_TEST)
    pytester.runpytest().assert_outcomes(failed=1)
    result = pytester.runpytest("--durable-deadlock-timeout=off")
    result.assert_outcomes(passed=1)
    assert "deadlock_timeout=off" in header_line(result)


def test_default_matches_the_environment_default() -> None:
    default = inspect.signature(DurableEnvironment).parameters["deadlock_timeout"].default
    assert default == DEFAULT_DEADLOCK_TIMEOUT
