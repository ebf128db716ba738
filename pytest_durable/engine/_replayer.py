"""The Replayer: run workflow code over recorded histories and report nondeterminism."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._guard import install as install_guard
from ..errors import InvalidArgumentError, UnknownWorkflowError
from ._definitions import WorkflowDefinition, workflow_definition
from ._history import History
from ._instance import WorkflowInstance
from ._replay import Divergence, replay_into


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The outcome of replaying one history."""

    history: History
    divergences: Sequence[Divergence] = field(default_factory=tuple)
    """Differences Temporal would let pass (arguments, durations), as warnings."""


def resolve_workflows(workflows: Iterable[Any]) -> dict[str, WorkflowDefinition]:
    """Definitions by name from workflow classes or run methods; errors name what is wrong."""
    out: dict[str, WorkflowDefinition] = {}
    for wf in workflows:
        # A definition as such: another front-end's (the Temporal SDK's) built it.
        definition = wf if isinstance(wf, WorkflowDefinition) else workflow_definition(wf)
        if definition is None:
            raise InvalidArgumentError(
                f"{wf!r} is not a workflow: pass classes decorated with @workflow.defn"
            )
        out[definition.name] = definition
    return out


class Replayer:
    """Replays histories against today's workflow code.

    Args:
        workflows: the workflow classes the histories may name.
        strict: treat changed activity arguments and timer durations as nondeterminism too
            (by default they are reported as :class:`ReplayDivergenceWarning`).
        deadlock_budget_s: real seconds a workflow task may run without yielding.
        determinism_guard: fail workflow code that reads the wall clock or the process's
            randomness, or does real I/O, at the call (the guard of the test environment).
    """

    def __init__(
        self,
        *,
        workflows: Iterable[Any],
        strict: bool = False,
        deadlock_budget_s: float | None = 2.0,
        determinism_guard: bool = True,
    ) -> None:
        self.workflows = resolve_workflows(workflows)
        self.strict = strict
        self.deadlock_budget_s = deadlock_budget_s
        self.determinism_guard = determinism_guard
        if determinism_guard:
            install_guard()

    def replay(self, history: History | str | os.PathLike[str]) -> ReplayResult:
        """Replay one history (a :class:`History` or a path to its JSON file).

        Raises:
            NondeterminismError: the code no longer issues what the history recorded.
            HistoryFormatError: the file is not a readable history.
        """
        if not isinstance(history, History):
            history = History.load(history)
        definition = self.workflows.get(history.workflow_type)
        if definition is None:
            known = ", ".join(sorted(self.workflows)) or "none"
            raise UnknownWorkflowError(
                f"history {history.workflow_id!r} is of workflow type "
                f"{history.workflow_type!r}, which this Replayer was not given; it has: {known}"
            )
        instance: Any
        if definition.runtime is None:
            instance = WorkflowInstance(
                definition,
                history.started,
                deadlock_budget_s=self.deadlock_budget_s,
                determinism_guard=self.determinism_guard,
            )
        else:
            instance = definition.runtime(
                definition,
                history.started,
                deadlock_budget_s=self.deadlock_budget_s,
                determinism_guard=self.determinism_guard,
            )
        divergences: list[Divergence] = []
        try:
            replay_into(instance, list(history), strict=self.strict, divergences=divergences)
        finally:
            instance.evict()  # an open history leaves coroutines pending: close them now
        return ReplayResult(history=history, divergences=tuple(divergences))

    def replay_all(
        self, histories: Iterable[History | str | os.PathLike[str]]
    ) -> list[ReplayResult]:
        """Replay several histories; the first nondeterminism raises."""
        return [self.replay(h) for h in histories]
