"""``--durable-replay-every-task`` / ``durable_replay_every_task``: no workflow cache."""

from __future__ import annotations

import pytest

from ._support import PYTEST_MAJOR, header_line, write_ini

NONDETERMINISTIC_TEST = """
from workflows import Nondeterministic

def test_nondeterministic(durable_env):
    assert durable_env.run(Nondeterministic.run).result() == "done"
"""


def test_cached_workflows_hide_a_nondeterministic_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NONDETERMINISTIC_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "replay_every_task=no" in header_line(result)


def test_option_replays_every_task_and_catches_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(NONDETERMINISTIC_TEST)
    result = pytester.runpytest("--durable-replay-every-task")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NondeterminismError*TimerStarted was recorded*"])
    assert "replay_every_task=yes" in header_line(result)


def test_ini_key_replays_every_task(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_replay_every_task = true")
    pytester.makepyfile(NONDETERMINISTIC_TEST)
    pytester.runpytest().assert_outcomes(failed=1)


@pytest.mark.skipif(PYTEST_MAJOR < 9, reason="native [tool.pytest] tables came in pytest 9")
def test_native_toml_boolean_replays_every_task(pytester: pytest.Pytester) -> None:
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml(
        """
        [tool.pytest]
        asyncio_default_fixture_loop_scope = "function"
        durable_replay_every_task = true
        """
    )
    pytester.makepyfile(NONDETERMINISTIC_TEST)
    pytester.runpytest().assert_outcomes(failed=1)


def test_marker_replay_every_task_overrides_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from workflows import Nondeterministic

        @pytest.mark.durable(replay_every_task=False)
        def test_nondeterministic(durable_env):
            assert durable_env.run(Nondeterministic.run).result() == "done"
        """
    )
    pytester.runpytest("--durable-replay-every-task").assert_outcomes(passed=1)


def test_marker_cache_workflows_still_works_but_is_deprecated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from workflows import Nondeterministic

        @pytest.mark.durable(cache_workflows=True)
        def test_nondeterministic(durable_env):
            assert durable_env.engine.replay_every_task is False
            assert durable_env.run(Nondeterministic.run).result() == "done"
        """
    )
    result = pytester.runpytest("--durable-replay-every-task", "-W", "default")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*DeprecationWarning*cache_workflows=...) is deprecated: use replay_every_task*"]
    )
