"""--durable-determinism-guard (ini durable_determinism_guard, marker determinism_guard=): the
guard is on by default and each of the three turns it off; it is installed with the first guarded
engine, and names bound by ``from uuid import uuid4`` in modules imported since pytest loaded the
plugin are guarded too."""

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
    # A fresh interpreter: flows.py binds uuid4 at collection, and the first environment's guard
    # points that name at the wrapper.
    _files(pytester, default=True)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_bad_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--durable-determinism-guard=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --durable-determinism-guard: expected true or false, got 'sometimes'"]
    )


def test_names_bound_by_a_conftest_before_the_first_environment_are_guarded(
    pytester: pytest.Pytester,
) -> None:
    # The guard is installed with the first guarded engine: names bound to the originals since
    # the plugin loaded (a conftest's import, before pytest_configure) are pointed at the
    # wrappers then; libraries (threading's `_time`, freezegun's real clock) are left alone.
    pytester.makeconftest("import flows\n")
    pytester.makepyfile(
        flows=FLOWS + "\nfrom time import monotonic\n",
        test_rebound="""
import threading
import time as time_module

import freezegun.api
import flows
from pytest_durable import NondeterministicCallError, WorkflowFailureError


def test_rebound(durable_env):
    try:
        durable_env.run(flows.MakesAnId.run).result()
    except WorkflowFailureError as error:
        assert isinstance(error.cause, NondeterministicCallError), error.cause
    else:
        raise AssertionError("uuid4 bound by a conftest's import was not guarded")
    assert getattr(flows.uuid4, "__durable_guard__", False)
    assert getattr(flows.monotonic, "__durable_guard__", False)
    # Libraries keep what they hold, loaded before the plugin or after it.
    assert threading._time is time_module.monotonic.__wrapped__
    assert freezegun.api.real_time is time_module.time.__wrapped__
""",
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
