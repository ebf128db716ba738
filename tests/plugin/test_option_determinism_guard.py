"""--durable-determinism-guard (ini durable_determinism_guard, marker determinism_guard=): the
guard is on by default and each of the three turns it off; the plugin installs it before test
modules are imported, so names bound by ``from uuid import uuid4`` are guarded too."""

from __future__ import annotations

import pytest

from ._support import header_line, write_ini

FLOWS = """
import time
from uuid import uuid4

from pytest_durable import workflow


@workflow.defn
class ReadsTheClock:
    @workflow.run
    async def run(self) -> float:
        return time.time()


@workflow.defn
class MakesAnId:
    @workflow.run
    async def run(self) -> str:
        return str(uuid4())
"""

TESTS = """
import pytest

from pytest_durable import NondeterministicCallError, WorkflowFailureError
from flows import MakesAnId, ReadsTheClock


def _guarded(env, workflow):
    try:
        env.run(workflow.run).result()
    except WorkflowFailureError as error:
        assert isinstance(error.cause, NondeterministicCallError), error.cause
        return True
    return False


def test_default(durable_env):
    assert durable_env.engine.determinism_guard is {default}
    assert _guarded(durable_env, ReadsTheClock) is {default}
    assert _guarded(durable_env, MakesAnId) is {default}


@pytest.mark.durable(determinism_guard=False)
def test_marker_off(durable_env):
    assert _guarded(durable_env, ReadsTheClock) is False


@pytest.mark.durable(determinism_guard=True)
def test_marker_on(durable_env):
    assert _guarded(durable_env, ReadsTheClock) is True
"""


def _files(pytester: pytest.Pytester, default: bool) -> None:
    pytester.makepyfile(flows=FLOWS)
    pytester.makepyfile(test_guard=TESTS.format(default=default))


def test_on_by_default_off_by_marker(pytester: pytest.Pytester) -> None:
    _files(pytester, default=True)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    assert "determinism_guard" not in header_line(result)


@pytest.mark.parametrize("how", ["option", "ini"])
def test_off_by_option_or_ini(pytester: pytest.Pytester, how: str) -> None:
    _files(pytester, default=False)
    if how == "ini":
        write_ini(pytester, "durable_determinism_guard = off")
        result = pytester.runpytest()
    else:
        result = pytester.runpytest("--durable-determinism-guard=off")
    result.assert_outcomes(passed=3)
    assert header_line(result).endswith(", determinism_guard=off")


def test_names_imported_before_any_environment_are_guarded(pytester: pytest.Pytester) -> None:
    # A fresh interpreter: the plugin wraps uuid4 when pytest starts, before flows.py binds it.
    _files(pytester, default=True)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_bad_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--durable-determinism-guard=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --durable-determinism-guard: expected true or false, got 'sometimes'"]
    )
