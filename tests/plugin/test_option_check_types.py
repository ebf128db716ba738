"""--durable-check-types (ini durable_check_types, marker check_types=): the off-switch for
payload type checks, for code whose type hints are loose."""

from __future__ import annotations

import pytest

from ._support import write_ini

TESTS = """
import pytest

from pytest_durable import PayloadError, activity

# The mocks here are made only to be checked, never called.
pytestmark = pytest.mark.filterwarnings("ignore::pytest_durable.UnusedMockWarning")

@activity.defn
async def charge(order_id: str) -> str:
    return order_id


def test_default(durable_env):
    assert durable_env.check_types is {default}
    if durable_env.check_types:
        with pytest.raises(PayloadError):
            durable_env.mock_activity(charge, returns=1)
    else:
        durable_env.mock_activity(charge, returns=1)


@pytest.mark.durable(check_types=False)
def test_marker_off(durable_env):
    assert durable_env.check_types is False
    durable_env.mock_activity(charge, returns=1)
"""


def test_on_by_default_and_off_by_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS.format(default=True))
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize("how", ["option", "ini"])
def test_off_by_option_or_ini(pytester: pytest.Pytester, how: str) -> None:
    pytester.makepyfile(TESTS.format(default=False))
    if how == "ini":
        write_ini(pytester, "durable_check_types = off")
        result = pytester.runpytest()
    else:
        result = pytester.runpytest("--durable-check-types=off")
    result.assert_outcomes(passed=2)


def test_a_bad_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--durable-check-types=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --durable-check-types: expected true or false, got 'sometimes'"]
    )
