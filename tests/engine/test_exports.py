"""The public surface: what ``__all__`` exports is pinned, so a change to it is deliberate."""

from __future__ import annotations

import importlib

import pytest

import pytest_durable
from pytest_durable import DurableError

PUBLIC = {
    "pytest_durable": {
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
    },
    "pytest_durable.engine": {
        "RUN_IDENTITY_KEYS",
        "AttemptFinished",
        "AttemptOutcome",
        "AttemptStarted",
        "Clock",
        "Engine",
        "EventsAppended",
        "EventChange",
        "Execution",
        "History",
        "InMemoryStore",
        "LoopIdle",
        "Notice",
        "Observer",
        "RealClock",
        "ReplayDivergenceWarning",
        "ReplayResult",
        "Replayer",
        "RunClosed",
        "RunKey",
        "Store",
        "TimerHandle",
        "VirtualClock",
        "VirtualTimeLoop",
        "align_histories",
        "diff_histories",
        "events",
        "format_duration",
        "format_time",
        "parse_duration",
        "parse_time",
    },
    "pytest_durable.fixtures": {
        "DEFAULT_START_TIME",
        "HANG",
        "ActivityCall",
        "ActivityCompleted",
        "ActivityEnvironment",
        "ActivityStarted",
        "Delay",
        "DurableConfig",
        "DurableEnvironment",
        "GoldenHistory",
        "MockActivity",
        "MockWorkflow",
        "TimerCancelled",
        "TimerFired",
        "TimerScheduled",
        "WorkflowCall",
        "WorkflowExecutionDescription",
        "WorkflowHandle",
        "WorkflowUpdateHandle",
    },
    "pytest_durable.workflow": {
        "ActivityHandle",
        "ChildWorkflowHandle",
        "WorkflowInfo",
        "continue_as_new",
        "defn",
        "deprecate_patch",
        "execute_activity",
        "execute_child_workflow",
        "execute_local_activity",
        "in_workflow",
        "info",
        "is_replaying",
        "logger",
        "memo",
        "memo_value",
        "now",
        "patched",
        "query",
        "random",
        "run",
        "signal",
        "sleep",
        "start_activity",
        "start_child_workflow",
        "start_local_activity",
        "time_ns",
        "update",
        "upsert_memo",
        "upsert_search_attributes",
        "uuid4",
        "wait_condition",
    },
    "pytest_durable.faults": {
        "ActivityFault",
        "CrashWorker",
        "DuplicateDelivery",
        "FailAttempt",
        "Fault",
        "FaultPlan",
        "FaultPlanError",
        "HangAttempt",
        "LoseCompletion",
        "PositionedFault",
        "RequestCancel",
        "RunQuery",
        "SendSignal",
        "SlowAttempt",
        "UnreachedFaultError",
        "timedelta",
    },
    "pytest_durable.testing": {
        "EffectLedger",
        "InvariantError",
        "PropertyCheck",
        "PropertyFailure",
        "assert_attempts",
        "check_workflow",
        "assert_compensations",
        "attempts_of",
    },
    "pytest_durable.activity": {"ActivityInfo", "defn", "heartbeat", "info", "is_cancelled"},
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == PUBLIC[module_name]


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_exported_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from pytest_durable import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == PUBLIC["pytest_durable"]


def test_every_public_exception_is_a_durable_error() -> None:
    for name in pytest_durable.__all__:
        obj = getattr(pytest_durable, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            if name in ("ReplayDivergenceWarning", "UnusedMockWarning"):
                assert issubclass(obj, UserWarning)
            else:
                assert issubclass(obj, DurableError), name


def test_builtin_bases_where_they_help() -> None:
    assert issubclass(pytest_durable.InvalidDefinitionError, TypeError)
    assert issubclass(pytest_durable.InvalidArgumentError, ValueError)
    assert issubclass(pytest_durable.UnknownNameError, LookupError)
    assert issubclass(pytest_durable.NotInWorkflowError, RuntimeError)
    assert issubclass(pytest_durable.PayloadError, TypeError)
    assert issubclass(pytest_durable.HistoryFormatError, ValueError)


def test_engine_control_flow_cannot_be_swallowed() -> None:
    from pytest_durable.errors import _ContinueAsNew, _DeadlockInterrupt

    for control in (_ContinueAsNew, _DeadlockInterrupt):
        assert issubclass(control, BaseException)
        assert not issubclass(control, Exception)


def test_exports_are_the_same_objects_everywhere() -> None:
    from pytest_durable import engine, fixtures

    for module in (engine, fixtures):
        for name in set(module.__all__) & set(pytest_durable.__all__):
            assert getattr(module, name) is getattr(pytest_durable, name), name
