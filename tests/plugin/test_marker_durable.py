"""``@pytest.mark.durable(...)``: per-test settings, overriding the options."""

from __future__ import annotations

import pytest

from ._support import printed


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.durable(start_time=*, seed=*): configure*"])


def test_every_argument_reaches_the_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import datetime, timedelta, timezone
        import pytest
        from pytest_durable import WorkflowBlockedError
        from workflows import Busy, Greeter

        @pytest.mark.durable(
            start_time=datetime(2031, 2, 3, tzinfo=timezone.utc),
            seed=42,
            auto_skip=False,
            deadlock_timeout=timedelta(milliseconds=50),
            replay_every_task=True,
            patch_time=False,
            timeline="never",
            determinism_guard=False,
        )
        def test_configured(durable_env):
            assert durable_env.now() == datetime(2031, 2, 3, tzinfo=timezone.utc)
            assert durable_env.seed == 42
            assert durable_env.engine.replay_every_task is True
            assert durable_env.engine.deadlock_budget_s == 0.05
            assert durable_env.engine.determinism_guard is False
            with pytest.raises(WorkflowBlockedError, match="auto time skipping is off"):
                durable_env.run(Greeter.run, "ada")

        @pytest.mark.durable(start_time="2031-02-03T04:05:06+00:00", deadlock_timeout=None)
        def test_iso_start_and_no_deadlock_check(durable_env):
            assert durable_env.now().isoformat() == "2031-02-03T04:05:06+00:00"
            assert durable_env.engine.deadlock_budget_s is None
            assert durable_env.run(Busy.run).result() == "done"
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_marker_overrides_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        r"""
        import pytest

        @pytest.mark.durable(seed=3)
        def test_marked(durable_env):
            print(f"\nmarked={durable_env.seed}")

        def test_unmarked(durable_env):
            print(f"\nunmarked={durable_env.seed}")
        """
    )
    result = pytester.runpytest("-s", "--durable-seed=9")
    result.assert_outcomes(passed=2)
    assert printed(result, "marked") == "3"
    assert printed(result, "unmarked") == "9"


def test_closest_marker_wins_and_others_still_apply(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        r"""
        import pytest

        pytestmark = pytest.mark.durable(seed=1, start_time="2040-01-01T00:00:00Z")

        @pytest.mark.durable(seed=2)
        class TestMarked:
            @pytest.mark.durable(seed=3)
            def test_method(self, durable_env):
                print(f"\nmethod={durable_env.seed} {durable_env.now().year}")

            def test_class(self, durable_env):
                print(f"\nclass={durable_env.seed} {durable_env.now().year}")

        def test_module(durable_env):
            print(f"\nmodule={durable_env.seed} {durable_env.now().year}")
        """
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=3)
    assert printed(result, "method") == "3 2040"
    assert printed(result, "class") == "2 2040"
    assert printed(result, "module") == "1 2040"


def test_timeline_argument_overrides_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(timeline="always")
        def test_passes(durable_env):
            pass
        """
    )
    result = pytester.runpytest("-rP", "--durable-timeline=never")
    result.stdout.fnmatch_lines(["*- durable timeline -*"])


def test_marker_on_a_test_without_the_fixture_is_harmless(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(seed=3)
        def test_plain():
            pass
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_sets_max_unbounded_attempts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from datetime import timedelta
        from pytest_durable import UnboundedRetryError, activity, workflow

        @activity.defn
        async def flaky() -> str:
            return "ok"

        @workflow.defn
        class Forever:
            @workflow.run
            async def run(self) -> str:
                return await workflow.execute_activity(
                    flaky, start_to_close_timeout=timedelta(seconds=5)
                )

        @pytest.mark.durable(max_unbounded_attempts=3)
        def test_it(durable_env):
            mock = durable_env.mock_activity(flaky, raises=ValueError("down"))
            with pytest.raises(UnboundedRetryError, match="failed 3 times in a row"):
                durable_env.run(Forever.run).result()
            assert mock.call_count == 3
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
