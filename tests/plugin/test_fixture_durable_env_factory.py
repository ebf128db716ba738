"""durable_env_factory: fresh environments per Hypothesis example, with the session's settings."""

from __future__ import annotations

import pytest

GIVEN_TEST = """
from hypothesis import given, settings, strategies as st
from pytest_durable.faults import FaultPlan
from pytest_durable.strategies import fault_plans
from pytest_durable.testing import check_workflow
from workflows import Greeter, greet

SEEN = []

@settings(max_examples=15, database=None)
@given(plan=fault_plans(activities=[greet], max_faults=2), n=st.integers(0, 5))
def test_property(plan, n, durable_env_factory):
    with durable_env_factory() as env:
        assert env.seed == 31 and not env.histories()
    check_workflow(Greeter.run, ["ada"], plans=plan, env=durable_env_factory)
    SEEN.append((repr(plan), n))

def test_zz_print_examples():
    print("EXAMPLES", SEEN)
"""


def _examples(result: pytest.RunResult) -> str:
    return next(line for line in result.outlines if "EXAMPLES" in line)


def test_a_given_test_uses_it_without_the_health_check_and_repeats_under_a_seed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_it=GIVEN_TEST)
    args = ("-s", "-p", "no:randomly", "--durable-seed=31", "--hypothesis-seed=5")
    first = pytester.runpytest(*args)
    first.assert_outcomes(passed=2)
    second = pytester.runpytest(*args)
    second.assert_outcomes(passed=2)
    assert _examples(first) == _examples(second)
    assert "FaultPlan(" in _examples(first)


def test_the_factory_closes_what_its_users_left_open() -> None:
    from pytest_durable.fixtures import DurableConfig
    from pytest_durable.fixtures._config import EnvironmentFactory

    factory = EnvironmentFactory(DurableConfig(seed=3))
    left_open = factory()
    closed = factory()
    closed.close()
    assert left_open.seed == 3 and "seed=3" in repr(factory)
    factory.close_all()
    assert left_open._closed
