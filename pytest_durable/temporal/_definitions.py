"""What the engine knows of a ``@temporalio.workflow.defn`` class or ``activity.defn`` function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import temporalio.activity
import temporalio.workflow

from ..engine._definitions import WorkflowDefinition
from ..engine._payload import Signature
from ..errors import InvalidArgumentError

#: The runners a Temporal workflow can run in: temporalio's plain one, or its sandbox.
RUNNERS = ("unsandboxed", "sandboxed")


@dataclass(frozen=True, slots=True)
class TemporalWorkflowDefinition(WorkflowDefinition):
    """A Temporal SDK workflow, run by temporalio's own workflow runtime on our engine."""

    sdk: Any = field(default=None, repr=False)
    runner: str = "unsandboxed"
    #: The worker's ``temporalio.converter.DataConverter`` (None: temporalio's default).
    converter: Any = field(default=None, repr=False, compare=False)
    #: The worker's ``workflow_failure_exception_types``: exceptions that fail the workflow
    #: rather than its task (temporalio decides, with the definition's own list).
    failure_exception_types: tuple[type[BaseException], ...] = ()
    #: The worker's interceptors (``temporalio.worker.Interceptor``), for their workflow
    #: interceptor classes.
    interceptors: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    #: The task queue of the worker that registered it (``workflow.info().task_queue``).
    task_queue: str = "pytest-durable"
    #: The worker's own runner object (a sandbox with its restrictions), if it gave one.
    sdk_runner: Any = field(default=None, repr=False, compare=False)

    def worker_options(self) -> tuple[Any, ...]:
        """What a worker chose for it: two registrations with the same options are one."""
        return (
            self.runner,
            id(self.converter),
            self.failure_exception_types,
            tuple(map(id, self.interceptors)),
            self.task_queue,
            id(self.sdk_runner),
        )

    def signal_name(self, ref: Any) -> str:
        """The registered name of a signal (method or name); any name with a dynamic handler."""
        return self._sdk_handler_name(ref, "signal")

    def query_name(self, ref: Any) -> str:
        """The registered name of a query (method or name); any name with a dynamic handler."""
        return self._sdk_handler_name(ref, "query")

    def update_name(self, ref: Any) -> str:
        """The registered name of an update method, or any name given as a string.

        An update name no handler takes is sent all the same: temporalio's runtime rejects it
        (the caller sees ``WorkflowUpdateFailedError`` listing the known updates), as on Temporal.
        """
        if isinstance(ref, str):
            return ref
        return self._sdk_handler_name(ref, "update")

    def _sdk_handler_name(self, ref: Any, what: str) -> str:
        from ..errors import UnknownQueryError, UnknownSignalError, UnknownUpdateError

        table: Any = {
            "signal": self.sdk.signals,
            "query": self.sdk.queries,
            "update": self.sdk.updates,
        }[what]
        name: str | None
        if isinstance(ref, str):
            name = ref
        else:
            handler = getattr(ref, f"__temporal_{what}_definition", None)
            name = getattr(handler, "name", None) or getattr(ref, "__name__", None)
        if name is not None and (name in table or None in table):
            return name
        known = ", ".join(sorted(n for n in table if n is not None)) or "none"
        error = {
            "signal": UnknownSignalError,
            "query": UnknownQueryError,
            "update": UnknownUpdateError,
        }[what]
        plural = {"signal": "signals", "query": "queries", "update": "updates"}[what]
        raise error(f"workflow {self.name!r} has no {what} named {name!r}; its {plural}: {known}")


def is_temporal_workflow(obj: Any) -> bool:
    """Whether ``obj`` is a ``@temporalio.workflow.defn`` class or its run method."""
    return hasattr(obj, "__temporal_workflow_definition")


def is_temporal_activity(obj: Any) -> bool:
    """Whether ``obj`` is a ``@temporalio.activity.defn`` callable."""
    return hasattr(obj, "__temporal_activity_definition")


def temporal_workflow_definition(
    obj: Any,
    *,
    runner: str = "unsandboxed",
    instance_factory: Callable[..., Any],
    converter: Any = None,
    failure_exception_types: tuple[type[BaseException], ...] = (),
    interceptors: tuple[Any, ...] = (),
    task_queue: str = "pytest-durable",
    sdk_runner: Any = None,
) -> TemporalWorkflowDefinition:
    """Build our definition of a Temporal workflow class (or its run method)."""
    if runner not in RUNNERS:
        raise InvalidArgumentError(
            f"temporal_runner must be one of {', '.join(map(repr, RUNNERS))}, got {runner!r}"
        )
    sdk = getattr(obj, "__temporal_workflow_definition", None)
    if not isinstance(sdk, temporalio.workflow._Definition):
        raise InvalidArgumentError(
            f"{obj!r} is not a Temporal workflow: decorate the class with @temporalio.workflow.defn"
        )
    if sdk.name is None:
        raise InvalidArgumentError(
            f"{sdk.cls.__qualname__} is a dynamic Temporal workflow; start it by a registered "
            "name, it cannot be run by reference"
        )
    return TemporalWorkflowDefinition(
        name=sdk.name,
        cls=sdk.cls,
        run_fn=sdk.run_fn,
        signature=Signature.of(sdk.run_fn, skip_self=True),
        sdk=sdk,
        runner=runner,
        runtime=instance_factory,
        converter=converter,
        failure_exception_types=failure_exception_types,
        interceptors=interceptors,
        task_queue=task_queue,
        sdk_runner=sdk_runner,
    )


def activity_name(fn: Any) -> str:
    """The registered name of a ``@temporalio.activity.defn`` callable."""
    sdk = temporalio.activity._Definition.must_from_callable(fn)
    if sdk.name is None:
        raise InvalidArgumentError(f"{fn!r} is a dynamic Temporal activity; register it by name")
    return sdk.name
