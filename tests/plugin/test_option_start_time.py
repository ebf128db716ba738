"""``--durable-start-time`` / ``durable_start_time``: where every virtual clock starts."""

from __future__ import annotations

import pytest

from ._support import header_line, printed, write_ini

NOW_TEST = r"""
from workflows import Greeter

def test_now(durable_env):
    print(f"\nstart={durable_env.now().isoformat()}")
    durable_env.run(Greeter.run, "ada").result()
    print(f"\nend={durable_env.now().isoformat()}")
"""


def test_default_start_is_2000_utc(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NOW_TEST)
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    assert printed(result, "start") == "2000-01-01T00:00:00+00:00"
    assert printed(result, "end") == "2000-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2030-06-01T12:00:00Z", "2030-06-01T12:00:00+00:00"),
        ("2030-06-01T14:00:00+02:00", "2030-06-01T12:00:00+00:00"),
    ],
)
def test_option_moves_the_start(pytester: pytest.Pytester, value: str, expected: str) -> None:
    pytester.makepyfile(NOW_TEST)
    result = pytester.runpytest("-s", f"--durable-start-time={value}")
    result.assert_outcomes(passed=1)
    assert printed(result, "start") == expected
    assert "start_time=2030-06-01T" in header_line(result)


def test_ini_key_moves_the_start_and_the_option_wins(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_start_time = 2040-01-01T00:00:00Z")
    pytester.makepyfile(NOW_TEST)
    assert printed(pytester.runpytest("-s"), "start") == "2040-01-01T00:00:00+00:00"
    result = pytester.runpytest("-s", "--durable-start-time=2050-01-01T00:00:00Z")
    assert printed(result, "start") == "2050-01-01T00:00:00+00:00"
