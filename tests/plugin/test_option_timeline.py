"""``--durable-timeline`` / ``durable_timeline``: on-failure (default), always or never."""

from __future__ import annotations

import pytest

from ._support import header_line, write_ini

TESTS = """
from workflows import Greeter

def test_passes(durable_env):
    durable_env.run(Greeter.run, "pass").result()

def test_fails(durable_env):
    durable_env.run(Greeter.run, "fail").result()
    assert False
"""

SECTION = "*- durable timeline -*"


def sections(result: pytest.RunResult) -> int:
    return result.stdout.str().count(" durable timeline ")


def test_default_shows_timelines_of_failures_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rP")
    result.assert_outcomes(passed=1, failed=1)
    assert "timeline=on-failure" in header_line(result)
    assert sections(result) == 1
    result.stdout.fnmatch_lines(["*_ test_fails _*", SECTION, "*'Greeter-1' (Greeter)*"])


def test_always_adds_timelines_to_passing_tests_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rP", "--durable-timeline=always")
    assert sections(result) == 2
    result.stdout.fnmatch_lines(["*_ test_passes _*", SECTION, "*ActivityTaskCompleted*"])


def test_never_adds_no_timeline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rP", "--durable-timeline=never")
    result.assert_outcomes(passed=1, failed=1)
    assert sections(result) == 0


def test_ini_key_sets_the_mode_and_the_option_wins(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_timeline = never")
    pytester.makepyfile(TESTS)
    assert sections(pytester.runpytest("-rP")) == 0
    assert sections(pytester.runpytest("-rP", "--durable-timeline=always")) == 2
