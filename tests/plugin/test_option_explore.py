"""--durable-explore (ini durable_explore, marker explore=): every durable_env.run explored."""

from __future__ import annotations

import pytest

from ._support import write_ini

TESTS = """
from datetime import timedelta

import pytest

from pytest_durable import activity, workflow


@activity.defn
async def quote(item: str) -> str:
    return "unused"


@workflow.defn
class Buy:
    @workflow.run
    async def run(self, item: str) -> str:
        price = await workflow.execute_activity(
            quote, item, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.sleep(timedelta(hours=1))
        return f"{item} at {price}"


def test_sound(durable_env):
    durable_env.mock_activity(quote, returns="10", delay=1)
    assert durable_env.run(Buy.run, "tea").result() == "tea at 10"


def test_a_quote_that_changes(durable_env):
    # Each call answers differently: a crash that loses a call changes the outcome.
    durable_env.mock_activity(quote, outcomes=["10", "12", "14"], delay=1)
    assert durable_env.run(Buy.run, "tea").result() == "tea at 10"


@pytest.mark.durable(explore=False)
def test_opted_out(durable_env):
    durable_env.mock_activity(quote, outcomes=["10", "12", "14"], delay=1)
    assert durable_env.run(Buy.run, "tea").result() == "tea at 10"
"""


def test_explore_fails_the_test_that_ran_the_workflow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("--durable-explore")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*durable: *explore=yes*",
            "--durable-explore: CrashPointError: crash exploration of workflow 'Buy-1' (Buy): "
            "1 of 5 crash points fail",
            "*crash after event 3 (ActivityTaskScheduled), the workflow waiting at test_it.py:*",
            '*clean run:   completed -> "tea at 10"',
            '*crashed run: completed -> "tea at 12"',
            "*reproduce: env.run('Buy', 'tea', id='Buy-1', faults=FaultPlan(faults=(CrashWorker("
            "after_event=3),)))",
            "FAILED test_it.py::test_a_quote_that_changes - *",
        ]
    )


def test_off_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    pytester.runpytest().assert_outcomes(passed=3)


def test_the_ini_twin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    write_ini(pytester, "durable_explore = true")
    pytester.runpytest().assert_outcomes(passed=2, failed=1)


def test_the_marker_turns_it_on_for_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_it=TESTS.replace(
            "def test_a_quote_that_changes",
            "@pytest.mark.durable(explore=True)\ndef test_a_quote_that_changes",
        )
    )
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
