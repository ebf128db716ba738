"""A test that fails with one TimeoutError while its module's name TimeoutError is the other
gets a hint in its report."""

from __future__ import annotations

import pytest


def test_the_hint_names_the_trap(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        from datetime import timedelta

        from pytest_durable import activity


        @activity.defn
        async def slow() -> None:
            await asyncio.sleep(60)


        def test_catches_the_builtin(activity_env):
            try:
                activity_env.run(slow, start_to_close_timeout=timedelta(seconds=1))
            except TimeoutError:  # the builtin: ours is not one
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- durable hint -*",
            "hint: this is pytest_durable.TimeoutError (an activity's or child's timeout), "
            "which is not Python's builtin TimeoutError*",
        ]
    )
