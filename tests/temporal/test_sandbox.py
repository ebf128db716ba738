"""temporalio's sandboxed runner, its default, works as an option and catches non-determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_durable import DurableEnvironment, InvalidArgumentError
from pytest_durable.errors import WorkflowTaskFailedError

from .workflows import Checkout, Counter, Order, ReadsTheWallClock, charge, double


@pytest.fixture(autouse=True)
def _importable_workflows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox re-imports a workflow's module by its name, as a worker process would.

    Under pytest's importlib import mode the test package is not on ``sys.path``; a project's
    own workflow modules are.
    """
    module = Checkout.__module__
    root = Path(__file__).parents[module.count(".")]
    monkeypatch.syspath_prepend(str(root))


def test_workflows_run_in_the_sandbox(make_env: Any) -> None:
    env: DurableEnvironment = make_env(temporal_runner="sandboxed")
    env.mock_activity(charge, returns="tx-sandbox")
    env.register_activity(double)
    handle = env.start(
        Checkout.run, Order("o-s", 2), start_signal=Checkout.approve, start_signal_args=["ivy"]
    )
    assert handle.result().startswith("tx-sandbox approved by ivy")
    assert env.run(Counter.run, 0, 2).result() == 2


def test_the_sandbox_refuses_a_non_deterministic_call(make_env: Any) -> None:
    # On Temporal a refused call fails the workflow task: the run stays open, the wait says why.
    with pytest.raises(WorkflowTaskFailedError) as caught:
        make_env(temporal_runner="sandboxed").run(ReadsTheWallClock.run).result()
    assert "RestrictedWorkflowAccessError" in str(caught.value)
    assert "datetime.datetime.now" in str(caught.value.__cause__)


def test_without_the_sandbox_the_determinism_guard_refuses_it(env: DurableEnvironment) -> None:
    # temporalio's unsandboxed runtime runs the code on its own loop, which the environment
    # flags for its guard: the same call fails the task, naming the workflow's line.
    with pytest.raises(WorkflowTaskFailedError) as caught:
        env.run(ReadsTheWallClock.run).result()
    assert (
        "its workflow task failed with NondeterministicCallError: workflow code called "
        "datetime.now() at tests/temporal/workflows.py:"
    ) in str(caught.value)


def test_with_the_guard_off_the_same_call_goes_through(make_env: Any) -> None:
    assert make_env(determinism_guard=False).run(ReadsTheWallClock.run).result()


def test_an_unknown_runner_is_refused(make_env: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="temporal_runner must be"):
        make_env(temporal_runner="docker")
