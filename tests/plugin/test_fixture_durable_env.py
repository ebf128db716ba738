"""The ``durable_env`` fixture: a fresh environment per test, closed after it."""

from __future__ import annotations

import pytest


def test_runs_a_workflow_with_time_skipping(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import datetime, timezone
        from pytest_durable import DurableEnvironment
        from workflows import Greeter

        def test_greets(durable_env):
            assert isinstance(durable_env, DurableEnvironment)
            assert durable_env.run(Greeter.run, "ada").result() == "hello ada"
            assert durable_env.now() == datetime(2000, 1, 2, tzinfo=timezone.utc)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_environment_closed_after_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_durable import InvalidArgumentError
        from workflows import Greeter

        seen = []

        @pytest.mark.parametrize("name", ["ada", "grace"])
        def test_uses(durable_env, name):
            handle = durable_env.run(Greeter.run, name)
            assert handle.id == "Greeter-1"
            assert [h.id for h in durable_env.handles] == ["Greeter-1"]
            assert durable_env.now().isoformat() == "2000-01-02T00:00:00+00:00"
            seen.append(durable_env)
            if name == "grace":
                assert False, "fails, and is closed all the same"

        def test_they_were_distinct_and_closed():
            assert len(seen) == 2 and seen[0] is not seen[1]
            for env in seen:
                with pytest.raises(InvalidArgumentError, match="closed"):
                    env.start(Greeter.run, "again")
        """
    )
    pytester.runpytest().assert_outcomes(passed=2, failed=1)


def test_fixture_comes_from_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses(durable_env):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:durable")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'durable_env' not found*"])


def test_environment_is_released_after_its_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc
        import weakref
        from workflows import Greeter

        refs = []

        def test_uses(durable_env):
            durable_env.run(Greeter.run, "ada").result()
            refs.append(weakref.ref(durable_env))

        def test_released():
            gc.collect()
            assert refs[0]() is None, gc.get_referrers(refs[0]())
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
