"""The report header prints the effective settings and the seed."""

from __future__ import annotations

import pytest

from ._support import header_line, write_ini


def test_header_shows_the_defaults(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest()
    assert header_line(result) == (
        "durable: seed=0, start_time=2000-01-01T00:00:00Z, patch_time=off, "
        "deadlock_timeout=2s, replay_every_task=no, timeline=on-failure"
    )


def test_header_shows_options_and_ini_keys(pytester: pytest.Pytester) -> None:
    write_ini(pytester, "durable_timeline = always", "durable_deadlock_timeout = 0.5")
    result = pytester.runpytest(
        "--durable-seed=99",
        "--durable-start-time=2030-01-01T09:00:00+09:00",
        "--durable-replay-every-task",
    )
    assert header_line(result) == (
        "durable: seed=99, start_time=2030-01-01T09:00:00+09:00, patch_time=off, "
        "deadlock_timeout=0.5s, replay_every_task=yes, timeline=always"
    )


def test_header_is_left_out_with_no_header(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--no-header")
    assert not [line for line in result.outlines if line.startswith("durable:")]


def test_options_are_listed_in_help_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "durable workflows (pytest-durable):",
            "  --durable-seed=N|random",
            "  --durable-start-time=ISO8601",
            "  --durable-patch-time=off|time-machine|freezegun",
            "  --durable-deadlock-timeout=SECONDS|off",
            "  --durable-replay-every-task",
            "  --durable-timeline=on-failure|always|never",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "  durable_seed (string):*",
            "  durable_start_time (string):*",
            "  durable_patch_time (string):*",
            "  durable_deadlock_timeout (string):*",
            "  durable_replay_every_task (bool):*",
            "  durable_timeline (string):*",
        ]
    )
