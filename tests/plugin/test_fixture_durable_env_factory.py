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

# derandomize=False: Hypothesis's CI profile (CI=true) would draw the same examples whatever the
# seed, and the tests below compare seeds.
@settings(max_examples=15, database=None, derandomize=False)
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
    from pytest_durable.fixtures._environment import EnvironmentFactory

    factory = EnvironmentFactory(DurableConfig(seed=3))
    left_open = factory()
    closed = factory()
    closed.close()
    assert left_open.seed == 3 and "seed=3" in repr(factory)
    factory.close_all()
    assert left_open._closed


FAILING_GIVEN_TEST = """
from hypothesis import given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from pytest_durable.engine import events
from pytest_durable.faults import FailAttempt
from pytest_durable.strategies import fault_plans
from pytest_durable.testing import check_workflow
from workflows import Greeter, greet


def greets_by_its_second_attempt(handle):
    started = [e for e in handle.history.events if isinstance(e, events.ActivityTaskStarted)]
    assert started[-1].attempt <= 2, f"greeted on attempt {started[-1].attempt}"


# The database is named: Hypothesis's CI profile (CI=true) turns the default one off.
@settings(max_examples=200, database=DirectoryBasedExampleDatabase(DATABASE),
          derandomize=False, deadline=None, report_multiple_bugs=False)
@given(plan=fault_plans(activities=[greet], kinds=[FailAttempt], max_faults=3, max_attempt=3))
def test_property(plan, durable_env_factory):
    print("EXAMPLE", repr(plan))
    check_workflow(Greeter.run, ["ada"], plans=plan, env=durable_env_factory,
                   invariant=greets_by_its_second_attempt)
"""


def _run_examples(result: pytest.RunResult) -> list[str]:
    return [line.split(" ", 1)[1] for line in result.outlines if line.startswith("EXAMPLE ")]


def test_the_example_database_replays_the_saved_failure_first_on_the_next_run(
    pytester: pytest.Pytester,
) -> None:
    database = pytester.path / "saved-examples"
    pytester.makepyfile(test_it=f"DATABASE = {str(database)!r}\n" + FAILING_GIVEN_TEST)
    minimal = (
        "FaultPlan(faults=(FailAttempt(activity='greet'), "
        "FailAttempt(activity='greet', attempt=2)), allow_unreached=True)"
    )
    # Hypothesis's failure report imports a module that warns (mypy_extensions.TypedDict).
    # In fresh processes: a --hypothesis-seed that an earlier in-process run gave stays set in
    # Hypothesis, and a forced seed turns the database off.
    args = ("-s", "-p", "no:randomly", "-W", "ignore::DeprecationWarning")
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*greeted on attempt 3*", f"*plan={minimal}*"])
    tried_first = _run_examples(first)
    assert tried_first[0] != minimal  # generation starts elsewhere (the empty plan)
    assert any(database.iterdir())  # the failure was saved

    second = pytester.runpytest_subprocess(*args)
    second.assert_outcomes(failed=1)
    second.stdout.fnmatch_lines(["*greeted on attempt 3*", f"*plan={minimal}*"])
    tried_second = _run_examples(second)
    # The saved failure runs first, and nothing is left to search or shrink.
    assert tried_second[0] == minimal
    assert len(tried_second) < len(tried_first)


def test_the_durable_seed_and_the_hypothesis_seed_each_decide_their_own_part(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_it=GIVEN_TEST.replace("env.seed == 31", "env.seed in (31, 32)"))

    def run(durable_seed: int, hypothesis_seed: int) -> str:
        result = pytester.runpytest(
            "-s",
            "-p",
            "no:randomly",
            f"--durable-seed={durable_seed}",
            f"--hypothesis-seed={hypothesis_seed}",
        )
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines([f"*seed={durable_seed}*"])
        return _examples(result)

    base = run(31, 5)
    # Another environment seed leaves Hypothesis's examples alone; another Hypothesis seed
    # draws other examples under the same environment seed.
    assert run(32, 5) == base
    assert run(31, 6) != base
