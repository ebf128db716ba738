"""--durable-strict-activities (ini durable_strict_activities, marker strict_activities=):
unmocked activities stop the test, and mocks never called fail it (a warning otherwise)."""

from __future__ import annotations

import pytest

from ._support import write_ini

TESTS = """
import pytest

from pytest_durable import UnmockedActivityError
from workflows import Greeter, greet


def test_unmocked(durable_env):
    with pytest.raises(UnmockedActivityError, match="activity 'greet' is neither mocked"):
        durable_env.run(Greeter.run, "dana")


def test_unused_mock(durable_env):
    durable_env.mock_activity(greet, returns="hi")
"""


def test_the_option_turns_strict_mode_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--durable-strict-activities")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unused_mock*",
            "mocked activities never called: 'greet'. No workflow ran them*"
            "(strict_activities is on)",
        ]
    )


def test_the_ini_key_and_the_marker(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_strict_activities = true")
    pytester.makepyfile(
        TESTS
        + """

@pytest.mark.durable(strict_activities=False)
def test_not_strict(durable_env):
    assert durable_env.run(Greeter.run, "dana").result() == "hello dana"
"""
    )
    pytester.runpytest().assert_outcomes(passed=3, errors=1)


def test_without_strict_mode_an_unused_mock_warns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from workflows import greet

        def test_unused_mock(durable_env):
            durable_env.mock_activity(greet, returns="hi")
        """
    )
    result = pytester.runpytest("-W", "default::pytest_durable.UnusedMockWarning")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*UnusedMockWarning: mocked activities never called: 'greet'*"])
