"""What ``@workflow.defn`` and ``@activity.defn`` record about user code."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidDefinitionError
from ._payload import Signature

ACTIVITY_ATTR = "__durable_activity_definition__"

#: The names of every ``@activity.defn`` of the process, and its ``@workflow.defn`` classes:
#: what a mock's name is checked against (see ``fixtures/_mock_names.py``).
defined_activity_names: set[str] = set()
defined_workflows: weakref.WeakSet[type] = weakref.WeakSet()
WORKFLOW_ATTR = "__durable_workflow_definition__"


@dataclass(frozen=True, slots=True)
class ActivityDefinition:
    """An activity: its registered name, the function, and how to call it."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    signature: Signature

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> ActivityDefinition:
        """Build the definition of ``fn`` (validating it); ``localns``: its defining scope."""
        if not callable(fn):
            raise InvalidDefinitionError(f"@activity.defn needs a function, got {fn!r}")
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise InvalidDefinitionError(
                f"activity {getattr(fn, '__qualname__', fn)!r} is a generator; activities must "
                "be plain functions or async functions"
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidDefinitionError(
                f"activity name must be a non-empty string, got {name!r}"
            )
        target: Any = fn if inspect.isroutine(fn) else fn.__call__  # type: ignore[operator]
        return cls(
            name=name or str(getattr(fn, "__name__", type(fn).__name__)),
            fn=fn,
            is_async=inspect.iscoroutinefunction(target),
            signature=Signature.of(fn, localns=localns),
        )


def activity_definition(obj: Any) -> ActivityDefinition | None:
    """The definition attached to an ``@activity.defn`` function, if any."""
    return getattr(obj, ACTIVITY_ATTR, None)


@dataclass(frozen=True, slots=True)
class SignalDefinition:
    """A signal handler method."""

    name: str
    method: Callable[..., Any]
    is_async: bool
    signature: Signature


@dataclass(frozen=True, slots=True)
class QueryDefinition:
    """A query handler method (always synchronous: queries must not await)."""

    name: str
    method: Callable[..., Any]
    signature: Signature


@dataclass(frozen=True, slots=True)
class UpdateDefinition:
    """An update handler method (sync or async) and its optional validator."""

    name: str
    method: Callable[..., Any]
    signature: Signature
    validator: Callable[..., Any] | None = None


@dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    """A workflow class: its name, run method, signals and queries."""

    name: str
    cls: type
    run_fn: Callable[..., Any]
    signature: Signature
    signals: Mapping[str, SignalDefinition] = field(default_factory=dict)
    queries: Mapping[str, QueryDefinition] = field(default_factory=dict)
    #: Signal and query method name -> registered name, for resolving method references.
    method_names: Mapping[str, str] = field(default_factory=dict)
    updates: Mapping[str, UpdateDefinition] = field(default_factory=dict)
    #: Builds a run's instance when another runtime runs the code (the Temporal SDK front-end):
    #: called as ``runtime(definition, started, deadlock_budget_s=..., determinism_guard=...)``;
    #: None runs our own.
    runtime: Callable[..., Any] | None = field(default=None, repr=False)

    def signal_name(self, ref: Any) -> str:
        """Resolve a signal method reference or name to its registered name."""
        return self._handler_name(ref, self.signals, "signal")

    def query_name(self, ref: Any) -> str:
        """Resolve a query method reference or name to its registered name."""
        return self._handler_name(ref, self.queries, "query")

    def update_name(self, ref: Any) -> str:
        """Resolve an update method reference or name to its registered name."""
        return self._handler_name(ref, self.updates, "update")

    def _handler_name(self, ref: Any, table: Mapping[str, Any], what: str) -> str:
        from ..errors import UnknownQueryError, UnknownSignalError, UnknownUpdateError

        name: str
        if isinstance(ref, str):
            name = ref
        else:
            name = str(
                getattr(ref, "__durable_handler_name__", None) or getattr(ref, "__name__", ref)
            )
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            error = {
                "signal": UnknownSignalError,
                "query": UnknownQueryError,
                "update": UnknownUpdateError,
            }[what]
            plural = {"signal": "signals", "query": "queries", "update": "updates"}[what]
            raise error(
                f"workflow {self.name!r} has no {what} named {name!r}; its {plural}: {known}"
            )
        return name


def workflow_definition(obj: Any) -> WorkflowDefinition | None:
    """The definition behind a workflow class or its run method, if any."""
    return getattr(obj, WORKFLOW_ATTR, None)
