"""A Hypothesis state machine over one running workflow: its inputs arrive step by step.

For workflows whose inputs arrive over time (a human approval, a subscription's billing
cycles), subclass :class:`WorkflowMachine`: it starts the workflow in a fresh environment and
brings rules that let virtual time pass, crash the worker (instances dropped) and restart the
engine (everything rebuilt from the store). Add rules that send signals (drawn by Hypothesis),
mocks whose outcomes are drawn, and ``@invariant()`` methods that check the workflow after every
step; the machine itself checks after every step that each history so far replays. See
docs/properties.md.

```python
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from pytest_durable.stateful import WorkflowMachine

class ApprovalMachine(WorkflowMachine):
    workflow = ExpenseApproval.run
    args = (REQUEST,)

    def setup(self, env):
        for fn in (request_approval, escalate, notify_requester):
            env.mock_activity(fn, returns=None)

    @precondition(lambda self: not self.handle.done)
    @rule(by=st.sampled_from(["team-lead", "alice"]))
    def approve(self, by):
        self.handle.signal(ExpenseApproval.approve, by)

    @invariant()
    def nobody_approves_their_own_request(self):
        ...

test_approval = ApprovalMachine.TestCase
```

Like :mod:`pytest_durable.strategies`, this module imports Hypothesis; nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .errors import InvalidArgumentError
from .fixtures._environment import DurableEnvironment
from .fixtures._explore import _replay_problem
from .fixtures._handles import WorkflowHandle

__all__ = ["WorkflowMachine"]


class WorkflowMachine(RuleBasedStateMachine):
    """One running workflow, driven by rules; subclass it and set :attr:`workflow`.

    Each Hypothesis example is a fresh environment (:meth:`make_environment`, then
    :meth:`setup`) in which ``workflow(*args)`` was started under :attr:`workflow_id`;
    ``self.env`` and ``self.handle`` are the environment and the handle. Built-in rules:
    :meth:`advance_time` (1 minute to :attr:`max_advance`), :meth:`crash_worker` and
    :meth:`restart_worker` (while the workflow runs; set :attr:`crashes` to False to leave them
    out). Built-in invariant: every history the environment holds replays against the code.
    """

    workflow: ClassVar[Any] = None
    """The workflow to run: its run method (or class)."""
    args: ClassVar[Sequence[Any]] = ()
    """Its arguments."""
    workflow_id: ClassVar[str] = "machine-run"
    """The id it runs under."""
    max_advance: ClassVar[timedelta] = timedelta(days=1)
    """The longest step of virtual time :meth:`advance_time` takes."""
    crashes: ClassVar[bool] = True
    """Whether the crash and restart rules run (a workflow must survive them)."""

    def __init__(self) -> None:
        super().__init__()
        if self.workflow is None:
            raise InvalidArgumentError(
                f"{type(self).__name__}: set the class attribute workflow (e.g. "
                "workflow = Approval.run) and args, the workflow the machine drives"
            )
        self.env = self.make_environment()
        try:
            self.setup(self.env)
            self.handle: WorkflowHandle[Any] = self.env.start(
                type(self).workflow, *self.args, id=self.workflow_id
            )
        except BaseException:
            self.env.close()
            raise

    def make_environment(self) -> DurableEnvironment:
        """A fresh environment for one example (override to configure it)."""
        return DurableEnvironment()

    def setup(self, env: DurableEnvironment) -> None:
        """Prepare ``env`` before the workflow starts: mocks, registrations (override)."""

    @rule(data=st.data())
    def advance_time(self, data: st.DataObject) -> None:
        """Let 1 second to :attr:`max_advance` of virtual time pass; everything due runs."""
        longest = max(1, int(self.max_advance.total_seconds()))
        seconds = data.draw(st.integers(1, longest), label="seconds")
        self.env.sleep(timedelta(seconds=seconds))

    @precondition(lambda self: self.crashes and not self.handle.done)
    @rule()
    def crash_worker(self) -> None:
        """The worker loses its workflow instances; the next task rebuilds them by replay."""
        self.env.crash_worker()

    @precondition(lambda self: self.crashes and not self.handle.done)
    @rule()
    def restart_worker(self) -> None:
        """The engine loses everything in memory and rebuilds it from the store."""
        self.env.restart_worker()

    @invariant()
    def histories_replay(self) -> None:
        """Every history so far replays against the workflow's code."""
        problem = _replay_problem(self.env, self.env.histories())
        assert problem is None, f"a history of {self.workflow_id!r} does not replay: {problem}"

    def teardown(self) -> None:
        """Close the example's environment."""
        self.env.close()
