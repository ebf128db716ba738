"""Bad options and ini values stop the run with a usage error that says what is wrong and how
to fix it; a bad marker argument fails the test that carries it."""

from __future__ import annotations

import pytest

from ._support import PYTEST_MAJOR, PYTEST_VERSION, write_ini


def assert_usage_error(result: pytest.RunResult, *lines: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(list(lines))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--durable-seed=abc",
            "ERROR: --durable-seed: expected an integer seed or 'random', got 'abc'; "
            "e.g. --durable-seed=1234",
        ),
        (
            "--durable-start-time=2030-01-01T00:00:00",
            "ERROR: --durable-start-time: '2030-01-01T00:00:00' has no timezone, * add one, "
            "e.g. 2030-01-01T00:00:00Z or 2030-01-01T00:00:00+00:00",
        ),
        (
            "--durable-start-time=tomorrow",
            "ERROR: --durable-start-time: 'tomorrow' is not an ISO 8601 date and time; "
            "write e.g. 2030-01-01T00:00:00Z*",
        ),
        (
            "--durable-patch-time=timemachine",
            "ERROR: --durable-patch-time: unknown value 'timemachine' "
            "(did you mean 'time-machine'?); choose one of off, time-machine, freezegun",
        ),
        (
            "--durable-deadlock-timeout=-1",
            "ERROR: --durable-deadlock-timeout: expected a positive number of seconds or 'off', "
            "got '-1'*",
        ),
        (
            "--durable-deadlock-timeout=soon",
            "ERROR: --durable-deadlock-timeout: expected a positive number of seconds*",
        ),
        (
            "--durable-timeline=sometimes",
            "ERROR: --durable-timeline: unknown value 'sometimes'; "
            "choose one of on-failure, always, never",
        ),
    ],
)
def test_bad_option(pytester: pytest.Pytester, option: str, message: str) -> None:
    assert_usage_error(pytester.runpytest(option), message)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("durable_seed = lucky", "ERROR: ini key durable_seed: expected an integer seed*"),
        (
            "durable_replay_every_task = maybe",
            # From pytest 9.2, pytest checks boolean ini keys itself, with its own words.
            "ERROR: invalid truth value 'maybe'"
            if PYTEST_VERSION >= (9, 2)
            else "ERROR: ini key durable_replay_every_task: invalid truth value 'maybe'; "
            "write durable_replay_every_task = true or false",
        ),
        (
            "durable_timeline = on_failure",
            "ERROR: ini key durable_timeline: unknown value 'on_failure' "
            "(did you mean 'on-failure'?)*",
        ),
    ],
)
def test_bad_ini_value(pytester: pytest.Pytester, line: str, message: str) -> None:
    write_ini(pytester, line)
    assert_usage_error(pytester.runpytest(), message)


@pytest.mark.skipif(PYTEST_MAJOR < 9, reason="native [tool.pytest] tables came in pytest 9")
def test_native_toml_value_of_the_wrong_type(pytester: pytest.Pytester) -> None:
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml(
        """
        [tool.pytest]
        asyncio_default_fixture_loop_scope = "function"
        durable_seed = 5
        """
    )
    assert_usage_error(
        pytester.runpytest(),
        # From pytest 9.2, pytest checks the TOML type itself, with its own words.
        "ERROR: *config option 'durable_seed' expects a string, got int: 5"
        if PYTEST_VERSION >= (9, 2)
        else "ERROR: ini key durable_seed: *expects a string, got int: 5; "
        'write it as a string (quoted in TOML), e.g. durable_seed = "7"',
    )


def test_a_good_option_overrides_a_bad_ini_value(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_seed = lucky")
    assert pytester.runpytest("--durable-seed=3").ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            "sed=1",
            "*@pytest.mark.durable got an unknown argument 'sed'; did you mean 'seed'? it accepts "
            "start_time, seed, patch_time, auto_skip, deadlock_timeout, replay_every_task, "
            "timeline, max_unbounded_attempts, max_drive_time, max_history_events, check_types, "
            "explore, strict_activities, determinism_guard",
        ),
        (
            "max_unbounded_attempts=0",
            "*max_unbounded_attempts must be a positive int or None, got 0 (int)",
        ),
        ("7", "*@pytest.mark.durable takes keyword arguments only, got positional 7 (int)*"),
        ("seed='7'", "*@pytest.mark.durable: seed must be an int, got '7' (str); e.g. seed=7"),
        ("seed=True", "*@pytest.mark.durable: seed must be an int, got True (bool)*"),
        ("auto_skip='no'", "*@pytest.mark.durable: auto_skip must be True or False, got 'no'*"),
        ("replay_every_task=0", "*replay_every_task must be True or False, got 0 (int)"),
        ("start_time='2030-01-01'", "*start_time: '2030-01-01' has no timezone*"),
        (
            "start_time=datetime.datetime(2030, 1, 1)",
            "*start_time must be timezone-aware, got naive 2030-01-01T00:00:00; add a timezone*",
        ),
        ("start_time=2030", "*start_time must be a timezone-aware datetime, got 2030 (int)*"),
        ("deadlock_timeout=0", "*deadlock_timeout must be a positive number of seconds*"),
        ("deadlock_timeout='5'", "*deadlock_timeout must be a positive number*got '5' (str)"),
        ("patch_time='sundial'", "*patch_time must be one of off, time-machine, freezegun*"),
        ("timeline='loud'", "*timeline must be one of on-failure, always, never, got 'loud'*"),
    ],
)
def test_bad_marker_argument(pytester: pytest.Pytester, arguments: str, message: str) -> None:
    pytester.makepyfile(
        f"""
        import datetime
        import pytest

        @pytest.mark.durable({arguments})
        def test_marked(durable_env):
            pass

        def test_other():
            pass
        """
    )
    result = pytester.runpytest()
    # The marked test errors, naming itself; the rest of the run goes on.
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_bad_marker_argument.py::test_marked: " + message])


def test_bad_class_marker_names_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(timeline="loud")
        class TestMarked:
            def test_one(self, durable_env):
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*::TestMarked::test_one: @pytest.mark.durable: timeline*"])


def test_a_deselected_test_with_a_bad_marker_does_not_stop_the_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(sed=1)
        def test_typo(durable_env):
            pass

        def test_chosen():
            pass
        """
    )
    result = pytester.runpytest("-k", "chosen")
    result.assert_outcomes(passed=1, deselected=1)
    assert result.ret == pytest.ExitCode.OK


def test_a_bad_marker_on_a_test_without_the_fixtures_fails_that_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.durable(seed="x")
        def test_plain():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_plain: @pytest.mark.durable: seed must be an int*"])
