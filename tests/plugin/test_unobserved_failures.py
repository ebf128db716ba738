"""durable_env fails a passing test whose workflow failed with a bug nobody looked at."""

from __future__ import annotations

import pytest


def test_a_bug_nobody_looked_at_fails_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import timedelta

        from workflows import Failing, Greeter


        def test_drives_time_past_a_bug(durable_env):
            durable_env.mock_activity("greet", returns="hi")
            durable_env.start(Failing.run, id="failing")
            handle = durable_env.start(Greeter.run, "dana", id="greeter")
            durable_env.sleep(timedelta(days=2))
            assert handle.result() == "hi"


        def test_looks_at_it(durable_env):
            handle = durable_env.start(Failing.run, id="failing")
            durable_env.sleep(timedelta(days=2))
            assert handle.status == "failed"


        def test_fails_anyway(durable_env):
            durable_env.start(Failing.run, id="failing")
            durable_env.sleep(timedelta(days=2))
            assert 1 == 4
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_drives_time_past_a_bug*",
            "workflow 'failing' (Failing) failed with a bug at 2000-01-01T01:00:00Z: "
            "ValueError: out of stock. The test never looked at this workflow's outcome*",
        ]
    )
    # The failing test shows the bug in its captured log, not a second error.
    result.stdout.fnmatch_lines(
        ["*- Captured log call -*", "ERROR *workflow 'failing' (Failing) failed with a bug*"]
    )
    assert "ERROR at teardown of test_fails_anyway" not in result.stdout.str()
