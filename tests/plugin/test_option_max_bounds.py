"""--durable-max-drive-time and --durable-max-history-events (ini twins, marker arguments):
every run is bounded, and Ctrl-C shows what the workflows were doing."""

from __future__ import annotations

import pytest

from ._support import write_ini

RUNAWAY = '''
from datetime import timedelta

import pytest

from pytest_durable import RunawayWorkflowError, activity, workflow


@activity.defn
async def poll() -> str:
    raise NotImplementedError


@workflow.defn
class Poller:
    @workflow.run
    async def run(self) -> None:
        while True:
            await workflow.sleep(timedelta(days=1))
            await workflow.execute_activity(poll, start_to_close_timeout=timedelta(seconds=5))


def run_poller(env):
    env.mock_activity(poll, returns="pending")
    with pytest.raises(RunawayWorkflowError) as info:
        env.run(Poller.run, id="poller")
    return str(info.value)
'''


def test_options_set_both_bounds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(runaway=RUNAWAY)
    pytester.makepyfile(
        """
        from runaway import run_poller

        def test_days(durable_env):
            assert "bound of 30d" in run_poller(durable_env)
        """
    )
    pytester.runpytest("--durable-max-drive-time=30d").assert_outcomes(passed=1)
    pytester.makepyfile(
        """
        from runaway import run_poller

        def test_events(durable_env):
            assert "max_history_events (70;" in run_poller(durable_env)
        """
    )
    pytester.runpytest("--durable-max-history-events=70").assert_outcomes(passed=1)


def test_ini_keys_and_the_marker_set_the_bounds(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_max_drive_time = 2592000", "durable_max_history_events = 100000")
    pytester.makepyfile(runaway=RUNAWAY)
    pytester.makepyfile(
        """
        from datetime import timedelta

        import pytest

        from runaway import run_poller

        def test_ini(durable_env):
            assert durable_env.max_drive_ns == 30 * 86_400 * 10**9
            assert durable_env.engine.max_history_events == 100_000
            assert "bound of 30d" in run_poller(durable_env)

        @pytest.mark.durable(max_drive_time=timedelta(days=3), max_history_events=None)
        def test_marker(durable_env):
            assert durable_env.engine.max_history_events is None
            assert "bound of 3d" in run_poller(durable_env)

        @pytest.mark.durable(max_drive_time=None, max_history_events=40)
        def test_marker_events(durable_env):
            assert durable_env.max_drive_ns is None
            assert "max_history_events (40;" in run_poller(durable_env)
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--durable-max-drive-time=forever",
            "ERROR: --durable-max-drive-time: expected a positive duration (seconds, or a number "
            "with s, m, h, d or y) or 'off', got 'forever'; e.g. --durable-max-drive-time=30d",
        ),
        ("--durable-max-drive-time=0", "ERROR: --durable-max-drive-time: expected a positive*"),
        (
            "--durable-max-history-events=lots",
            "ERROR: --durable-max-history-events: expected a positive whole number or 'off', "
            "got 'lots'; e.g. --durable-max-history-events=100000",
        ),
    ],
)
def test_bad_bound_values_are_usage_errors(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    result = pytester.runpytest(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_off_turns_a_bound_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_off(durable_env):
            assert durable_env.max_drive_ns is None
            assert durable_env.engine.max_history_events is None
        """
    )
    result = pytester.runpytest("--durable-max-drive-time=off", "--durable-max-history-events=off")
    result.assert_outcomes(passed=1)


def test_bad_marker_bounds_fail_their_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(max_drive_time="1d")
        def test_text(durable_env):
            pass

        @pytest.mark.durable(max_history_events=0)
        def test_zero(durable_env):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test_text: @pytest.mark.durable: max_drive_time must be a positive number of "
            "seconds, a timedelta, or None (no bound), got '1d' (str)",
            "*test_zero: @pytest.mark.durable: max_history_events must be a positive int or "
            "None, got 0 (int)",
        ]
    )


def test_ctrl_c_in_a_drive_prints_what_the_workflows_were_doing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from datetime import timedelta

        from pytest_durable import activity, workflow


        @activity.defn
        async def interrupt() -> None:
            raise KeyboardInterrupt  # as Ctrl-C would, while the drive runs


        @workflow.defn
        class Stuck:
            @workflow.run
            async def run(self) -> None:
                await workflow.sleep(timedelta(hours=1))
                await workflow.execute_activity(
                    interrupt, start_to_close_timeout=timedelta(seconds=5)
                )


        def test_interrupted(durable_env):
            durable_env.run(Stuck.run, id="stuck")
        """
    )
    # (Told not to re-raise the inner run's Ctrl-C here, as it would to stop the outer run.)
    result = pytester.runpytest(no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*- durable timeline -*",
            "pytest-durable: interrupted at virtual time 2000-01-01T01:00:00+00:00 while 1 "
            "workflow ran:",
            "workflow 'stuck' (Stuck): It started at 2000-01-01T00:00:00Z*",
            "*TimerFired*",
            "*ActivityTaskScheduled*",
            "*KeyboardInterrupt*",
        ]
    )
