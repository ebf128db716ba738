"""--durable-report: fault coverage per activity type, in the terminal or as JSON."""

from __future__ import annotations

import json

import pytest

from ._support import write_ini

TESTS = """
from datetime import timedelta

import pytest

from pytest_durable import ActivityError, ApplicationError, FaultPlan, RetryPolicy
from pytest_durable import activity, workflow
from pytest_durable.faults import HangAttempt
from pytest_durable.testing import assert_compensations


@activity.defn
async def charge(order: str) -> str:
    return "ch"


@activity.defn
async def refund(charge_id: str) -> None:
    pass


@activity.defn
async def ship(order: str) -> str:
    return "trk"


@workflow.defn
class Checkout:
    @workflow.run
    async def run(self, order: str) -> str:
        options = dict(start_to_close_timeout=timedelta(seconds=5),
                       retry_policy=RetryPolicy(maximum_attempts=2))
        charge_id = await workflow.execute_activity(charge, order, **options)
        try:
            return await workflow.execute_activity(ship, order, **options)
        except ActivityError:
            await workflow.execute_activity(refund, charge_id, **options)
            raise


def test_happy(durable_env):
    assert durable_env.run(Checkout.run, "o").result() == "trk"


def test_ship_fails(durable_env):
    durable_env.mock_activity(ship, raises=ApplicationError("no", non_retryable=True))
    handle = durable_env.run(Checkout.run, "o")
    assert handle.status == "failed"
    assert_compensations(handle, {charge: refund})


def test_charge_hangs_once(durable_env):
    durable_env.run(Checkout.run, "o", faults=FaultPlan((HangAttempt(activity=charge),)))


def test_without_workflows():
    pass
"""


def test_the_terminal_table(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("--durable-report")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*= durable fault coverage =*",
            "per activity type, over 3 test(s) that used durable_env:",
            "  charge  compensated 1 · completed 3 · retried 1 · timed_out[START_TO_CLOSE] 1",
            "          never: failed, cancelled",
            "  refund  completed 1",
            "          never: retried, failed, timed_out, cancelled",
            "  ship    completed 2 · failed 1",
            "          never: retried, timed_out, cancelled",
        ]
    )


def test_json_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("-n", "2", "--durable-report=json:coverage.json")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*= durable fault coverage =*", "written to coverage.json"])
    document = json.loads((pytester.path / "coverage.json").read_text())
    assert document["tests"] == 3
    assert document["activities"]["charge"] == {
        "outcomes": {
            "compensated": 1,
            "completed": 3,
            "retried": 1,
            "timed_out[START_TO_CLOSE]": 1,
        },
        "never": ["failed", "cancelled"],
    }
    assert document["activities"]["ship"]["never"] == ["retried", "timed_out", "cancelled"]


def test_the_ini_twin_and_no_report_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest()
    assert "durable fault coverage" not in result.stdout.str()
    write_ini(pytester, "durable_report = json:out.json")
    pytester.runpytest().assert_outcomes(passed=4)
    assert json.loads((pytester.path / "out.json").read_text())["tests"] == 3


def test_a_bad_value(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(): pass")
    result = pytester.runpytest("--durable-report=yaml")
    result.stderr.fnmatch_lines(["*--durable-report: expected 'term' or 'json:PATH', got 'yaml'*"])
