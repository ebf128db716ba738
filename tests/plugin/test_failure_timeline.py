"""A failing test that used ``durable_env`` explains itself: its workflows' histories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pytest_durable import DurableEnvironment
from pytest_durable.fixtures import DurableConfig
from pytest_durable.fixtures._report import render_timelines

from ._support import WORKFLOWS


def test_section_shows_each_workflow_event_by_event(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from workflows import Failing, Greeter

        def test_checkout(durable_env):
            durable_env.run(Greeter.run, "ada", id="greet-1").result()
            durable_env.run(Failing.run, id="order-7").result()
        """
    )
    result = pytester.runpytest("--durable-seed=5")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*WorkflowFailureError*out of stock*",
            "*- durable timeline -*",
            "seed=5 start_time=2000-01-01T00:00:00Z replay_every_task=no",
            "workflow 'greet-1' (Greeter) run *: completed, * events",
            "*1  2000-01-01T00:00:00Z  WorkflowExecutionStarted  *",
            "*TimerStarted*",
            "*2000-01-02T00:00:00Z  TimerFired*",
            "*ActivityTaskScheduled*greet*",
            "*WorkflowExecutionCompleted*hello ada*",
            "workflow 'order-7' (Failing) run *: failed, * events",
            "*2000-01-02T01:00:00Z  WorkflowExecutionFailed*ValueError*out of stock*",
        ]
    )


def test_failure_before_any_workflow_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_nothing_started(durable_env):
            assert False
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*- durable timeline -*", "(no workflow was started)"])


def test_tests_without_durable_env_get_no_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plain():
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "durable timeline" not in result.stdout.str()


def test_xfail_and_skip_get_no_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from workflows import Failing

        @pytest.mark.xfail(reason="known", strict=True)
        def test_known(durable_env):
            durable_env.run(Failing.run).result()

        def test_skipped(durable_env):
            pytest.skip("not today")
        """
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(xfailed=1, skipped=1)
    assert "durable timeline" not in result.stdout.str()


def test_setup_error_after_the_environment_shows_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from workflows import Greeter

        @pytest.fixture
        def greeted(durable_env):
            durable_env.run(Greeter.run, "setup", id="in-setup").result()
            raise RuntimeError("fixture broke")

        def test_uses_it(greeted):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*- durable timeline -*", "workflow 'in-setup' (Greeter)*"])


def test_long_histories_keep_their_beginning_and_end() -> None:
    namespace: dict[str, object] = {}
    exec(compile(WORKFLOWS, "workflows.py", "exec"), namespace)
    greeter = namespace["Greeter"]
    with DurableEnvironment(start_time=datetime(2030, 1, 1, tzinfo=UTC)) as env:
        for n in range(3):
            env.run(greeter.run, f"n{n}", id=f"greet-{n}")  # type: ignore[attr-defined]
        histories = env.histories()
    full = len(histories[0])
    text = render_timelines(histories, config=DurableConfig(), max_events=4)
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "seed=0 start_time=2000-01-01T00:00:00Z replay_every_task=no"
    assert len(blocks) == 4
    first = blocks[1].splitlines()
    assert first[0].startswith("workflow 'greet-0' (Greeter) run ")
    assert first[0].endswith(f": completed, {full} events")
    assert len(first) == 1 + 4 + 1
    assert first[1].lstrip().startswith("1  2030-01-01T00:00:00Z  WorkflowExecutionStarted")
    assert first[2] == f"  ... {full - 4} events omitted ..."
    assert "WorkflowExecutionCompleted" in first[-1]


def test_retried_attempts_show_where_they_ended(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_durable import Delay
        from workflows import Greeter

        def test_greets_on_the_third_attempt(durable_env):
            durable_env.mock_activity(
                "greet",
                outcomes=[
                    ConnectionError("refused"),
                    Delay(10, "too late"),
                    "hello ada",
                ],
            )
            run = durable_env.run(Greeter.run, "ada", id="greet-1")
            assert run.result() == "hello bob"
        """
    )
    result = pytester.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- durable timeline -*",
            "*6  2000-01-02T00:00:00Z  ActivityTaskScheduled  *greet*",
            "*·  2000-01-02T00:00:00Z  attempt 1 of greet (scheduled at event 6) failed, "
            "retried: ConnectionError: refused",
            "*·  2000-01-02T00:00:06Z  attempt 2 of greet (scheduled at event 6) timed out, "
            "retried: TimeoutError[[]START_TO_CLOSE[]]: activity start-to-close timeout",
            "*7  2000-01-02T00:00:08Z  ActivityTaskStarted  scheduled_event_id=6 attempt=3",
            "*8  2000-01-02T00:00:08Z  ActivityTaskCompleted  scheduled_event_id=6 *hello ada*",
        ]
    )
