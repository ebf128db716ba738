"""pytest-durable: test durable, Temporal-style workflows in milliseconds.

The public API is re-exported here; nothing else should import from private modules.

The names load on first use (PEP 562 ``__getattr__``): the pytest plugin imports this package
in every pytest run of a project that installs it, and most of those runs never touch a
workflow, so importing the package must not import the engine (nor asyncio).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import activity, workflow
    from .common import RetryPolicy, WorkflowStatus
    from .engine import (
        Clock,
        History,
        InMemoryStore,
        RealClock,
        ReplayDivergenceWarning,
        Replayer,
        ReplayResult,
        Store,
        VirtualClock,
    )
    from .errors import (
        ActivityError,
        ApplicationError,
        CancelledError,
        ChildWorkflowError,
        ConcurrentAppendError,
        CrashPointError,
        DurableError,
        ExplorationCheckError,
        FailureError,
        FaultPlanError,
        GoldenHistoryError,
        HistoryFormatError,
        InvalidArgumentError,
        InvalidDefinitionError,
        LoopMisuseError,
        NondeterminismError,
        NondeterministicCallError,
        NotInActivityError,
        NotInWorkflowError,
        PayloadError,
        QueryError,
        RetryState,
        RunawayWorkflowError,
        TerminatedError,
        TimeoutError,
        TimeoutType,
        UnboundedRetryError,
        UnknownActivityError,
        UnknownNameError,
        UnknownQueryError,
        UnknownSignalError,
        UnknownUpdateError,
        UnknownWorkflowError,
        UnmockedActivityError,
        UnreachedFaultError,
        UnusedMockWarning,
        WorkflowAlreadyStartedError,
        WorkflowBlockedError,
        WorkflowDeadlockError,
        WorkflowFailureError,
        WorkflowMisuseError,
        WorkflowNotRunningError,
        WorkflowUpdateFailedError,
        is_cancelled_exception,
    )
    from .fixtures import (
        HANG,
        ActivityCall,
        ActivityEnvironment,
        Delay,
        DurableEnvironment,
        MockActivity,
        MockWorkflow,
        WorkflowCall,
        WorkflowHandle,
        WorkflowUpdateHandle,
    )
    from .fixtures._faults import FaultPlan

#: Where each public name lives (a submodule, relative to this package).
_EXPORTS: dict[str, str] = {
    "ActivityError": ".errors",
    "ApplicationError": ".errors",
    "CancelledError": ".errors",
    "ChildWorkflowError": ".errors",
    "ConcurrentAppendError": ".errors",
    "CrashPointError": ".errors",
    "DurableError": ".errors",
    "ExplorationCheckError": ".errors",
    "FailureError": ".errors",
    "FaultPlanError": ".errors",
    "GoldenHistoryError": ".errors",
    "HistoryFormatError": ".errors",
    "InvalidArgumentError": ".errors",
    "InvalidDefinitionError": ".errors",
    "LoopMisuseError": ".errors",
    "NondeterminismError": ".errors",
    "NondeterministicCallError": ".errors",
    "NotInActivityError": ".errors",
    "NotInWorkflowError": ".errors",
    "PayloadError": ".errors",
    "QueryError": ".errors",
    "RetryState": ".errors",
    "RunawayWorkflowError": ".errors",
    "TerminatedError": ".errors",
    "TimeoutError": ".errors",
    "TimeoutType": ".errors",
    "UnboundedRetryError": ".errors",
    "UnknownActivityError": ".errors",
    "UnknownNameError": ".errors",
    "UnknownQueryError": ".errors",
    "UnknownSignalError": ".errors",
    "UnknownUpdateError": ".errors",
    "UnknownWorkflowError": ".errors",
    "UnmockedActivityError": ".errors",
    "UnreachedFaultError": ".errors",
    "UnusedMockWarning": ".errors",
    "WorkflowAlreadyStartedError": ".errors",
    "WorkflowBlockedError": ".errors",
    "WorkflowDeadlockError": ".errors",
    "WorkflowFailureError": ".errors",
    "WorkflowMisuseError": ".errors",
    "WorkflowNotRunningError": ".errors",
    "WorkflowUpdateFailedError": ".errors",
    "is_cancelled_exception": ".errors",
    "activity": "",
    "workflow": "",
    "RetryPolicy": ".common",
    "WorkflowStatus": ".common",
    "Clock": ".engine",
    "History": ".engine",
    "InMemoryStore": ".engine",
    "RealClock": ".engine",
    "ReplayDivergenceWarning": ".engine",
    "Replayer": ".engine",
    "ReplayResult": ".engine",
    "Store": ".engine",
    "VirtualClock": ".engine",
    "HANG": ".fixtures",
    "ActivityCall": ".fixtures",
    "ActivityEnvironment": ".fixtures",
    "Delay": ".fixtures",
    "DurableEnvironment": ".fixtures",
    "MockActivity": ".fixtures",
    "MockWorkflow": ".fixtures",
    "WorkflowCall": ".fixtures",
    "WorkflowHandle": ".fixtures",
    "WorkflowUpdateHandle": ".fixtures",
    "FaultPlan": ".fixtures._faults",
}


__version__ = "0.1.0"

__all__ = [
    "HANG",
    "ActivityCall",
    "ActivityEnvironment",
    "ActivityError",
    "ApplicationError",
    "CancelledError",
    "ChildWorkflowError",
    "Clock",
    "ConcurrentAppendError",
    "CrashPointError",
    "Delay",
    "DurableEnvironment",
    "DurableError",
    "ExplorationCheckError",
    "FailureError",
    "FaultPlan",
    "FaultPlanError",
    "GoldenHistoryError",
    "History",
    "HistoryFormatError",
    "InMemoryStore",
    "InvalidArgumentError",
    "InvalidDefinitionError",
    "LoopMisuseError",
    "MockActivity",
    "MockWorkflow",
    "NondeterminismError",
    "NondeterministicCallError",
    "NotInActivityError",
    "NotInWorkflowError",
    "PayloadError",
    "QueryError",
    "RealClock",
    "ReplayDivergenceWarning",
    "ReplayResult",
    "Replayer",
    "RetryPolicy",
    "RetryState",
    "RunawayWorkflowError",
    "Store",
    "TerminatedError",
    "TimeoutError",
    "TimeoutType",
    "UnboundedRetryError",
    "UnknownActivityError",
    "UnknownNameError",
    "UnknownQueryError",
    "UnknownSignalError",
    "UnknownUpdateError",
    "UnknownWorkflowError",
    "UnmockedActivityError",
    "UnreachedFaultError",
    "UnusedMockWarning",
    "VirtualClock",
    "WorkflowAlreadyStartedError",
    "WorkflowBlockedError",
    "WorkflowCall",
    "WorkflowDeadlockError",
    "WorkflowFailureError",
    "WorkflowHandle",
    "WorkflowMisuseError",
    "WorkflowUpdateHandle",
    "WorkflowNotRunningError",
    "WorkflowStatus",
    "WorkflowUpdateFailedError",
    "__version__",
    "activity",
    "is_cancelled_exception",
    "workflow",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use, then keep the name here."""
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module_name:
        value = getattr(importlib.import_module(module_name, __name__), name)
    else:  # a public submodule: workflow, activity
        value = importlib.import_module(f".{name}", __name__)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
