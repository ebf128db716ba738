"""Replay histories against Temporal SDK workflow code, in our engine."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import temporalio.client

from ..engine._history import FORMAT, History
from ..engine._replayer import Replayer as _Replayer
from ..engine._replayer import ReplayResult
from ._definitions import temporal_workflow_definition
from ._history_import import from_temporal_json, from_workflow_history
from ._instance import new_instance


class Replayer:
    """Replays recorded histories against today's Temporal SDK workflow code.

    A history may be ours (a :class:`History` or its JSON file), or Temporal's: a
    ``temporalio.client.WorkflowHistory`` or the JSON ``temporal workflow show --output json``
    prints (a string, or a path to a ``.json`` file holding it). A breaking change raises
    :class:`~pytest_durable.NondeterminismError` naming the event.

    Args:
        workflows: the ``@temporalio.workflow.defn`` classes the histories may name.
        runner: ``"unsandboxed"`` (default) or ``"sandboxed"``.
        strict: treat changed activity arguments and timer durations as nondeterminism too.
    """

    def __init__(
        self, *, workflows: Iterable[Any], runner: str = "unsandboxed", strict: bool = False
    ) -> None:
        definitions = [
            temporal_workflow_definition(wf, runner=runner, instance_factory=new_instance)
            for wf in workflows
        ]
        self._replayer = _Replayer(workflows=definitions, strict=strict, deadlock_budget_s=None)

    def replay(
        self,
        history: History | temporalio.client.WorkflowHistory | str | os.PathLike[str],
        *,
        workflow_id: str = "",
    ) -> ReplayResult:
        """Replay one history (see the class docstring for the forms it takes)."""
        return self._replayer.replay(to_history(history, workflow_id=workflow_id))


def to_history(
    history: History | temporalio.client.WorkflowHistory | str | os.PathLike[str],
    *,
    workflow_id: str = "",
) -> History:
    """Our :class:`History` from any of the forms :meth:`Replayer.replay` takes."""
    if isinstance(history, History):
        return history
    if isinstance(history, temporalio.client.WorkflowHistory):
        return from_workflow_history(history)
    text = os.fspath(history)
    path = None
    if not text.lstrip().startswith("{"):
        path = Path(text)
        text = path.read_text()
    doc = json.loads(text)
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        return History.from_json(doc) if path is None else History.load(path)
    return from_temporal_json(doc, workflow_id=workflow_id)
