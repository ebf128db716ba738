"""The ``durable_env`` fixture: a fresh, closed-after environment per test."""

from __future__ import annotations

import pytest


def test_runs_a_workflow_with_time_skipping(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import datetime, timezone
        from workflows import Greeter

        def test_greets(durable_env):
            assert durable_env.run(Greeter.run, "ada").result() == "hello ada"
            assert durable_env.now() == datetime(2000, 1, 2, tzinfo=timezone.utc)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
