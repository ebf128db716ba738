"""Run Temporal SDK workflows unmodified on the in-process engine (the ``temporal`` extra).

``DurableEnvironment`` takes ``@temporalio.workflow.defn`` workflows and
``@temporalio.activity.defn`` activities directly; this package is what it loads to do so. The
first Temporal object an environment meets loads the front-end, which checks that a supported
temporalio is installed (``pip install 'pytest-durable[temporal]'``) and raises ``ImportError``
saying what to install otherwise. Importing this package alone needs no temporalio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import UnsupportedTemporalFeatureError
from ._require import SUPPORTED_RANGE

if TYPE_CHECKING:
    from ._client import Client, WorkflowEnvironment, WorkflowHandle
    from ._history import to_temporal_json, to_workflow_history
    from ._history_import import from_temporal_json, from_workflow_history
    from ._replayer import Replayer
    from ._worker import Worker

#: Names that need temporalio, by the module that holds them: loaded (and the version checked)
#: on first use.
_LAZY = {
    "Client": "_client",
    "Worker": "_worker",
    "WorkflowEnvironment": "_client",
    "WorkflowHandle": "_client",
    "Replayer": "_replayer",
    "from_temporal_json": "_history_import",
    "from_workflow_history": "_history_import",
    "to_temporal_json": "_history",
    "to_workflow_history": "_history",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    from ._require import require_temporalio

    require_temporalio()
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "SUPPORTED_RANGE",
    "Client",
    "Replayer",
    "UnsupportedTemporalFeatureError",
    "Worker",
    "WorkflowEnvironment",
    "WorkflowHandle",
    "from_temporal_json",
    "from_workflow_history",
    "to_temporal_json",
    "to_workflow_history",
]
