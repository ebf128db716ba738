"""What workflow code calls: definitions, activities, timers, messages and determinism helpers.

Everything here except the decorators must run inside a workflow (it finds the running workflow
through its event loop) and raises :class:`~pytest_durable.errors.NotInWorkflowError` elsewhere.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random as _random_module
import sys
import uuid as _uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NoReturn, ParamSpec, TypeVar, TypeVarTuple, overload

from .common import RetryPolicy, call_arguments, to_ns
from .engine._definitions import (
    ACTIVITY_ATTR,
    WORKFLOW_ATTR,
    QueryDefinition,
    SignalDefinition,
    UpdateDefinition,
    WorkflowDefinition,
    activity_definition,
    defined_workflows,
    workflow_definition,
)
from .engine._loop import WorkflowEventLoop, track_coroutine, tracking
from .engine._payload import Signature, decode, encode
from .engine._runtime import (
    ActivityCall,
    ActivityOptions,
    ChildWorkflowCall,
    ChildWorkflowHandle,
    LocalActivityCall,
    WorkflowInfo,
    WorkflowRuntime,
    activity_timeout_ns,
    retrieve_outcome,
)
from .errors import (
    InvalidArgumentError,
    InvalidDefinitionError,
    InvalidTimerError,
    NotInWorkflowError,
)

__all__ = [
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
]

_C = TypeVar("_C", bound=type)
_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S")
_Ts = TypeVarTuple("_Ts")
_F = TypeVar("_F", bound=Callable[..., Any])


# --- definitions -------------------------------------------------------------------------------


@overload
def defn(cls: _C, /) -> _C: ...
@overload
def defn(*, name: str | None = None) -> Callable[[_C], _C]: ...
def defn(cls: _C | None = None, /, *, name: str | None = None) -> _C | Callable[[_C], _C]:
    """Mark a class as a workflow: one ``@workflow.run`` method, any signals and queries.

    Args:
        cls: the workflow class.
        name: the workflow type name; defaults to the class name.
    """
    # Annotations may name classes local to the defining function (common in tests).
    caller_locals = sys._getframe(1).f_locals

    def decorate(c: _C) -> _C:
        definition = _build_definition(c, name, {**caller_locals, c.__name__: c})
        setattr(c, WORKFLOW_ATTR, definition)
        defined_workflows.add(c)
        setattr(definition.run_fn, WORKFLOW_ATTR, definition)
        return c

    if cls is not None:
        return decorate(cls)
    return decorate


def _build_definition(
    cls: type, name: str | None, localns: Mapping[str, Any]
) -> WorkflowDefinition:
    if not isinstance(cls, type):
        raise InvalidDefinitionError(f"@workflow.defn decorates a class, got {cls!r}")
    run_fns = []
    signals: dict[str, SignalDefinition] = {}
    queries: dict[str, QueryDefinition] = {}
    updates: dict[str, UpdateDefinition] = {}
    method_names: dict[str, str] = {}
    for attr, member in inspect.getmembers(cls):
        kind = getattr(member, "__durable_kind__", None)
        if kind == "run":
            run_fns.append(member)
        elif kind == "signal":
            handler_name = member.__durable_handler_name__
            if handler_name in signals:
                raise InvalidDefinitionError(
                    f"workflow {cls.__qualname__} defines signal {handler_name!r} twice"
                )
            signals[handler_name] = SignalDefinition(
                name=handler_name,
                method=member,
                is_async=inspect.iscoroutinefunction(member),
                signature=Signature.of(member, skip_self=True, localns=localns),
            )
            method_names[attr] = handler_name
        elif kind == "update":
            handler_name = member.__durable_handler_name__
            if handler_name in updates:
                raise InvalidDefinitionError(
                    f"workflow {cls.__qualname__} defines update {handler_name!r} twice"
                )
            updates[handler_name] = UpdateDefinition(
                name=handler_name,
                method=member,
                signature=Signature.of(member, skip_self=True, localns=localns),
                validator=getattr(member, "__durable_validator__", None),
            )
            method_names[attr] = handler_name
        elif kind == "query":
            handler_name = member.__durable_handler_name__
            if handler_name in queries:
                raise InvalidDefinitionError(
                    f"workflow {cls.__qualname__} defines query {handler_name!r} twice"
                )
            queries[handler_name] = QueryDefinition(
                name=handler_name,
                method=member,
                signature=Signature.of(member, skip_self=True, localns=localns),
            )
            method_names[attr] = handler_name
    if not run_fns:
        raise InvalidDefinitionError(
            f"workflow {cls.__qualname__} has no @workflow.run method; mark its async entry "
            "point with @workflow.run"
        )
    if len(run_fns) > 1:
        raise InvalidDefinitionError(
            f"workflow {cls.__qualname__} has {len(run_fns)} @workflow.run methods "
            f"({', '.join(f.__name__ for f in run_fns)}); it must have exactly one"
        )
    if name is not None and (not isinstance(name, str) or not name):
        raise InvalidDefinitionError(f"workflow name must be a non-empty string, got {name!r}")
    run_fn = run_fns[0]
    if id(cls.__dict__.get(run_fn.__name__)) != id(run_fn):
        # The run function carries its definition, so a shared (inherited) one cannot serve
        # two workflow types; Temporal has the same rule.
        raise InvalidDefinitionError(
            f"@workflow.run method {run_fn.__name__!r} must be defined on {cls.__name__} "
            "itself, not inherited; override it (it may just call super().run(...))"
        )
    return WorkflowDefinition(
        name=name or cls.__name__,
        cls=cls,
        run_fn=run_fn,
        signature=Signature.of(run_fn, skip_self=True, localns=localns),
        signals=signals,
        queries=queries,
        method_names=method_names,
        updates=updates,
    )


def run(fn: _F) -> _F:
    """Mark the workflow's entry point: an ``async def`` method whose return is the result."""
    if not inspect.iscoroutinefunction(fn):
        raise InvalidDefinitionError(
            f"@workflow.run method {fn.__qualname__} must be 'async def'"
        )
    fn.__durable_kind__ = "run"  # type: ignore[attr-defined]
    return fn


@overload
def signal(fn: _F, /) -> _F: ...
@overload
def signal(*, name: str | None = None) -> Callable[[_F], _F]: ...
def signal(fn: _F | None = None, /, *, name: str | None = None) -> _F | Callable[[_F], _F]:
    """Mark a method as a signal handler (sync or async); it may change state, not return."""

    def decorate(f: _F) -> _F:
        f.__durable_kind__ = "signal"  # type: ignore[attr-defined]
        f.__durable_handler_name__ = name or f.__name__  # type: ignore[attr-defined]
        return f

    return decorate(fn) if fn is not None else decorate


@overload
def query(fn: _F, /) -> _F: ...
@overload
def query(*, name: str | None = None) -> Callable[[_F], _F]: ...
def query(fn: _F | None = None, /, *, name: str | None = None) -> _F | Callable[[_F], _F]:
    """Mark a method as a query handler: a plain ``def`` that reads state and returns it."""

    def decorate(f: _F) -> _F:
        if inspect.iscoroutinefunction(f):
            raise InvalidDefinitionError(
                f"@workflow.query method {f.__qualname__} must be a plain 'def': queries are "
                "read-only and cannot await"
            )
        f.__durable_kind__ = "query"  # type: ignore[attr-defined]
        f.__durable_handler_name__ = name or f.__name__  # type: ignore[attr-defined]
        return f

    return decorate(fn) if fn is not None else decorate


class UpdateMethod(Generic[_P, _R]):
    """An ``@workflow.update`` method: callable as before, with ``.validator`` to decorate one.

    Only the type checker sees this class; at run time the method itself is returned.
    """

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:  # pragma: no cover
        raise NotImplementedError

    def validator(self, fn: Callable[_P, None]) -> Callable[_P, None]:  # pragma: no cover
        """Mark ``fn`` (same parameters, a plain ``def``) as this update's validator."""
        raise NotImplementedError


@overload
def update(fn: Callable[_P, _R], /) -> UpdateMethod[_P, _R]: ...
@overload
def update(
    *, name: str | None = None
) -> Callable[[Callable[_P, _R]], UpdateMethod[_P, _R]]: ...
def update(
    fn: Callable[_P, _R] | None = None, /, *, name: str | None = None
) -> UpdateMethod[_P, _R] | Callable[[Callable[_P, _R]], UpdateMethod[_P, _R]]:
    """Mark a method as an update handler, sync or ``async def``.

    The handler may change state and await activities and timers; its return value (or the
    failure it raises) goes back to the caller.

    As in Temporal, ``@<method>.validator`` marks a plain ``def`` with the same parameters that
    runs first, read-only: raising rejects the update, which then leaves no trace in history.
    An accepted update records ``WorkflowExecutionUpdateAccepted`` and, once its handler
    returns or raises a failure, ``WorkflowExecutionUpdateCompleted``.
    """

    def decorate(f: Callable[_P, _R]) -> UpdateMethod[_P, _R]:
        if not callable(f):
            raise InvalidDefinitionError(f"@workflow.update decorates a method, got {f!r}")
        target: Any = f

        def validator(v: Callable[_P, None]) -> Callable[_P, None]:
            if inspect.iscoroutinefunction(v):
                raise InvalidDefinitionError(
                    f"the validator {v.__qualname__} of update {target.__durable_handler_name__!r}"
                    " must be a plain 'def': validators are read-only and cannot await"
                )
            target.__durable_validator__ = v
            return v

        target.__durable_kind__ = "update"
        target.__durable_handler_name__ = name or f.__name__
        target.validator = validator
        result: UpdateMethod[_P, _R] = target
        return result

    return decorate(fn) if fn is not None else decorate


# --- the running workflow ----------------------------------------------------------------------


def _must_be_awaited(
    fn: Callable[_P, Coroutine[Any, Any, _R]],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """``fn``, a coroutine function of this API, reporting the coroutines it makes.

    The workflow fails the run if one is never awaited (see :mod:`.engine._unawaited`).
    """
    return _coroutine_function(tracking(fn, f"workflow.{fn.__name__}(...)"))


def _coroutine_function(fn: _F) -> _F:
    """``fn``, a function that returns a coroutine, marked as a coroutine function (3.12+)."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    return mark(fn) if mark is not None else fn


_new_tuple = tuple.__new__


def _runtime() -> WorkflowRuntime:
    """The running workflow's runtime: everything below validates, then forwards to it."""
    loop = asyncio._get_running_loop()
    if type(loop) is WorkflowEventLoop:
        return loop.runtime
    raise NotInWorkflowError(
        "this function may only be called from workflow code (a @workflow.defn class's run, "
        "signal or query methods while the engine runs them)"
    )


def in_workflow() -> bool:
    """Whether the caller is workflow code."""
    return type(asyncio._get_running_loop()) is WorkflowEventLoop


def info() -> WorkflowInfo:
    """Facts about the running workflow (id, run id, type, attempt, parent...)."""
    return _runtime().workflow_info()


def now() -> datetime:
    """The workflow's current time: the time of the workflow task, from history (UTC)."""
    ns = _runtime().workflow_time_ns()
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )


def time_ns() -> int:
    """The workflow's current time in epoch nanoseconds."""
    return _runtime().workflow_time_ns()


def random() -> _random_module.Random:
    """A random number generator seeded from history: the same values on every replay."""
    return _runtime().workflow_random()


def uuid4() -> _uuid.UUID:
    """A version-4 UUID drawn from the workflow's seeded randomness."""
    return _runtime().workflow_uuid4()


def patched(patch_id: str) -> bool:
    """Version a change: True for new runs, False when replaying history recorded before it.

    The first call in a new run records a ``patch`` marker; a history without that marker takes
    the old branch on replay, so old runs stay deterministic while new ones take the new code.
    """
    if not isinstance(patch_id, str) or not patch_id:
        raise InvalidArgumentError(f"patch id must be a non-empty string, got {patch_id!r}")
    return _runtime().workflow_patch(patch_id, deprecated=False)


def deprecate_patch(patch_id: str) -> None:
    """Mark a patch as deprecated: the new path is now the only one the code has.

    The second step of removing a ``patched(patch_id)`` branch, as in Temporal. Replace
    ``if workflow.patched(id): new else: old`` with ``workflow.deprecate_patch(id)`` followed by
    the new code once no run that took the old path (recorded before the patch) is still open.
    New runs record the marker flagged ``deprecated``; histories recorded with the plain marker
    replay too. Once no run recorded before the deprecation remains, remove the call: replay
    skips deprecated markers, while a plain marker left in a history is nondeterminism.
    """
    if not isinstance(patch_id, str) or not patch_id:
        raise InvalidArgumentError(f"patch id must be a non-empty string, got {patch_id!r}")
    _runtime().workflow_patch(patch_id, deprecated=True)


_MISSING: Any = object()


def memo() -> dict[str, Any]:
    """The run's memo (a copy): what the starter attached, with the workflow's upserts.

    Values are JSON values as recorded; :func:`memo_value` decodes one to a type.
    """
    return dict(_runtime().workflow_memo())


def memo_value(key: str, default: Any = _MISSING, *, type_hint: Any = None) -> Any:
    """One memo value, decoded by ``type_hint`` when given; ``default`` when the key is absent.

    Raises:
        KeyError: the memo has no ``key`` and no ``default`` was given (as in Temporal).
    """
    values = _runtime().workflow_memo()
    if key not in values:
        if default is _MISSING:
            raise KeyError(f"the workflow's memo has no key {key!r}; it has: {sorted(values)}")
        return default
    return decode(values[key], type_hint)


def _upserts(updates: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(updates, Mapping) or not all(isinstance(k, str) and k for k in updates):
        raise InvalidArgumentError(
            f"{what} takes a mapping of non-empty names to values (None removes one), got "
            f"{updates!r}"
        )
    return {
        key: None if value is None else encode(value, where=f"{what} value {key!r}")
        for key, value in updates.items()
    }


def upsert_memo(updates: Mapping[str, Any]) -> None:
    """Add or change memo values (None removes a key), recorded as WorkflowPropertiesModified."""
    _runtime().workflow_upsert_memo(_upserts(updates, "upsert_memo"))


def upsert_search_attributes(updates: Mapping[str, Any]) -> None:
    """Set search attributes (None removes one); ``info().search_attributes`` shows them.

    Recorded as ``UpsertWorkflowSearchAttributes``. Temporal's typed search attribute keys are
    not modelled: names map to JSON values.
    """
    _runtime().workflow_upsert_search_attributes(_upserts(updates, "upsert_search_attributes"))


def is_replaying() -> bool:
    """Whether the workflow is replaying history (e.g. after a worker restart)."""
    return _runtime().workflow_is_replaying()


@_must_be_awaited
async def sleep(duration: timedelta | float) -> None:
    """Sleep on a durable timer (``asyncio.sleep`` in workflow code does the same)."""
    loop = asyncio._get_running_loop()
    runtime = loop.runtime if type(loop) is WorkflowEventLoop else _runtime()  # raises there
    ns = to_ns(duration, what="sleep duration")
    assert ns is not None
    if ns < 0:
        raise InvalidTimerError(f"sleep duration must not be negative, got {duration!r}")
    await runtime.workflow_sleep(ns)


@_must_be_awaited
async def wait_condition(
    fn: Callable[[], bool], *, timeout: timedelta | float | None = None
) -> None:
    """Wait until ``fn()`` is true; raises ``asyncio.TimeoutError`` after ``timeout``."""
    future = _runtime().workflow_wait_condition(fn)
    if timeout is None:
        await future
        return
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    await asyncio.wait_for(future, seconds)


# --- activities --------------------------------------------------------------------------------


class ActivityHandle(asyncio.Future[Any]):
    """Typing aid: ``start_activity`` returns a future; ``cancel()`` requests cancellation."""


def _activity_type(activity: Any) -> tuple[str, Any]:
    if isinstance(activity, str):
        return activity, None
    definition = activity_definition(activity)
    if definition is None:
        raise InvalidArgumentError(
            f"{activity!r} is not an activity: decorate it with @activity.defn, or pass the "
            "activity's name as a string"
        )
    return definition.name, definition


@overload
def start_activity(
    activity: Callable[[*_Ts], Awaitable[_R]],
    *arg: *_Ts,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> asyncio.Future[_R]: ...
@overload
def start_activity(
    activity: Callable[[*_Ts], _R],
    *arg: *_Ts,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> asyncio.Future[_R]: ...
@overload
def start_activity(
    activity: Callable[..., Awaitable[_R]],
    *,
    args: Sequence[Any],
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> asyncio.Future[_R]: ...
@overload
def start_activity(
    activity: Callable[..., _R],
    *,
    args: Sequence[Any],
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> asyncio.Future[_R]: ...
@overload
def start_activity(
    activity: Callable[..., Any] | str,
    *arg: object,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type[_R],
) -> asyncio.Future[_R]: ...
@overload
def start_activity(
    activity: str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> asyncio.Future[Any]: ...
def start_activity(
    activity: Callable[..., Any] | str,
    *arg: object,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type | None = None,
) -> asyncio.Future[Any]:
    """Schedule an activity and return a future for its result; ``cancel()`` cancels it.

    The activity's arguments follow it positionally (``start_activity(charge, order_id,
    amount, ...)``) or, as Temporal's SDK takes them, in ``args=[order_id, amount]``.
    At least one of ``start_to_close_timeout`` and ``schedule_to_close_timeout`` is required.
    Activities retry with ``RetryPolicy()`` unless given another policy.
    """
    return _start_activity(
        activity,
        arg,
        args,
        activity_id,
        task_queue,
        schedule_to_close_timeout,
        schedule_to_start_timeout,
        start_to_close_timeout,
        heartbeat_timeout,
        retry_policy,
        result_type,
    )


def _start_activity(
    activity: Callable[..., Any] | str,
    arg: tuple[object, ...],
    args: Sequence[Any] | None,
    activity_id: str | None,
    task_queue: str | None,
    schedule_to_close_timeout: timedelta | None,
    schedule_to_start_timeout: timedelta | None,
    start_to_close_timeout: timedelta | None,
    heartbeat_timeout: timedelta | None,
    retry_policy: RetryPolicy | None,
    result_type: type | None,
) -> asyncio.Future[Any]:
    """What start_activity and execute_activity do, whichever overload the caller matched.

    Positional: passing ten keywords on, once per activity call, costs more than the checks.
    """
    # _runtime() and _activity_type() written out: this runs for every activity call.
    loop = asyncio._get_running_loop()
    runtime = loop.runtime if type(loop) is WorkflowEventLoop else _runtime()  # raises there
    definition = getattr(activity, ACTIVITY_ATTR, None)
    if definition is not None:
        name = definition.name
    else:
        name, definition = _activity_type(activity)
    values = arg if args is None else call_arguments(arg, args, what=f"activity {name!r}")
    options = ActivityOptions.create(
        name,
        activity_id,
        task_queue,
        schedule_to_close_timeout,
        schedule_to_start_timeout,
        start_to_close_timeout,
        heartbeat_timeout,
        retry_policy,
    )
    # ActivityCall(...) without the named tuple's Python-level __new__: once per activity call.
    call = _new_tuple(ActivityCall, (name, definition, values, options, result_type))
    return runtime.workflow_start_activity(call)


@overload
async def execute_activity(
    activity: Callable[[*_Ts], Awaitable[_R]],
    *arg: *_Ts,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: Callable[[*_Ts], _R],
    *arg: *_Ts,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: Callable[..., Awaitable[_R]],
    *,
    args: Sequence[Any],
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: Callable[..., _R],
    *,
    args: Sequence[Any],
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_activity(
    activity: Callable[..., Any] | str,
    *arg: object,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type[_R],
) -> _R: ...
@overload
async def execute_activity(
    activity: str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> Any: ...
@_coroutine_function
def execute_activity(
    activity: Callable[..., Any] | str,
    *arg: object,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    task_queue: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type | None = None,
) -> Coroutine[Any, Any, Any]:
    """Run an activity and return its result; failures raise :class:`ActivityError`.

    Arguments and options are :func:`start_activity`'s (positionally or ``args=[...]``).
    """
    # What @_must_be_awaited does, with the arguments passed on by position: the most called
    # function of the API, and repacking its keywords through (*args, **kwargs) cost more
    # than the call of track_coroutine this makes.
    coro = _execute_activity(
        activity,
        arg,
        args,
        activity_id,
        task_queue,
        schedule_to_close_timeout,
        schedule_to_start_timeout,
        start_to_close_timeout,
        heartbeat_timeout,
        retry_policy,
        result_type,
    )
    track_coroutine(coro, "workflow.execute_activity(...)")
    return coro


async def _execute_activity(
    activity: Callable[..., Any] | str,
    arg: tuple[object, ...],
    args: Sequence[Any] | None,
    activity_id: str | None,
    task_queue: str | None,
    schedule_to_close_timeout: timedelta | None,
    schedule_to_start_timeout: timedelta | None,
    start_to_close_timeout: timedelta | None,
    heartbeat_timeout: timedelta | None,
    retry_policy: RetryPolicy | None,
    result_type: type | None,
) -> Any:
    __tracebackhide__ = True  # failures point at the workflow's own line
    return await _start_activity(
        activity,
        arg,
        args,
        activity_id,
        task_queue,
        schedule_to_close_timeout,
        schedule_to_start_timeout,
        start_to_close_timeout,
        heartbeat_timeout,
        retry_policy,
        result_type,
    )


# --- local activities --------------------------------------------------------------------------

_LOCAL_RETRY_THRESHOLD = timedelta(minutes=1)


def start_local_activity(
    activity: Callable[..., Any] | str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: timedelta | None = None,
    result_type: type | None = None,
) -> asyncio.Task[Any]:
    """Start a local activity: it runs within this workflow task, recorded only as a marker.

    Arguments as for :func:`start_activity` (positionally or ``args=[...]``). At least one of
    ``start_to_close_timeout`` and ``schedule_to_close_timeout`` is required. It retries with
    ``RetryPolicy()`` unless given another policy: within the task while the wait is at most
    ``local_retry_threshold`` (default 1 minute), after a durable timer when it is longer.
    Returns a task; ``cancel()`` cancels the activity.
    """
    runtime = _runtime()
    name, definition = _activity_type(activity)
    values = call_arguments(arg, args, what=f"local activity {name!r}")
    options = ActivityOptions.create(
        name,
        activity_id=activity_id,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
    )
    threshold = activity_timeout_ns(
        local_retry_threshold or _LOCAL_RETRY_THRESHOLD, "local_retry_threshold", name
    )
    assert threshold is not None
    return runtime.workflow_start_local_activity(
        LocalActivityCall(
            activity_type=name,
            definition=definition,
            args=values,
            options=options,
            local_retry_threshold_ns=threshold,
            result_type=result_type,
        )
    )


async def execute_local_activity(
    activity: Callable[..., Any] | str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    activity_id: str | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    start_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    local_retry_threshold: timedelta | None = None,
    result_type: type | None = None,
) -> Any:
    """Run a local activity and return its result; see :func:`start_local_activity`."""
    __tracebackhide__ = True
    return await start_local_activity(
        activity,
        *arg,
        args=args,
        activity_id=activity_id,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
        local_retry_threshold=local_retry_threshold,
        result_type=result_type,
    )


# --- child workflows ---------------------------------------------------------------------------


def _workflow_type(workflow: Any) -> tuple[str, WorkflowDefinition | None]:
    if isinstance(workflow, str):
        return workflow, None
    definition = workflow_definition(workflow)
    if definition is None:
        raise InvalidArgumentError(
            f"{workflow!r} is not a workflow: pass a @workflow.defn class, its run method, or "
            "the workflow's name"
        )
    return definition.name, definition


@overload
async def start_child_workflow(
    workflow: Callable[[_S, *_Ts], Awaitable[_R]],
    *arg: *_Ts,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> ChildWorkflowHandle[_R]: ...
@overload
async def start_child_workflow(
    workflow: Callable[..., Awaitable[_R]],
    *,
    args: Sequence[Any],
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> ChildWorkflowHandle[_R]: ...
@overload
async def start_child_workflow(
    workflow: Any,
    *arg: object,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type[_R],
) -> ChildWorkflowHandle[_R]: ...
@overload
async def start_child_workflow(
    workflow: type | str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> ChildWorkflowHandle[Any]: ...
@_must_be_awaited
async def start_child_workflow(
    workflow: Any,
    *arg: object,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type | None = None,
) -> ChildWorkflowHandle[Any]:
    """Start a child workflow (its own history) and return a handle once it has started.

    Its arguments follow it positionally or, as in Temporal's SDK, in ``args=[...]``.
    """
    runtime = _runtime()
    name, definition = _workflow_type(workflow)
    values = call_arguments(arg, args, what=f"child workflow {name!r}")
    return await runtime.workflow_start_child_workflow(
        ChildWorkflowCall(
            workflow_type=name,
            definition=definition,
            args=values,
            workflow_id=id,
            retry_policy=retry_policy,
            result_type=result_type,
        )
    )


# What execute_child_workflow forwards to, whichever overload the caller matched.
_start_child_workflow: Callable[..., Awaitable[ChildWorkflowHandle[Any]]] = start_child_workflow


@overload
async def execute_child_workflow(
    workflow: Callable[[_S, *_Ts], Awaitable[_R]],
    *arg: *_Ts,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_child_workflow(
    workflow: Callable[..., Awaitable[_R]],
    *,
    args: Sequence[Any],
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> _R: ...
@overload
async def execute_child_workflow(
    workflow: Any,
    *arg: object,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type[_R],
) -> _R: ...
@overload
async def execute_child_workflow(
    workflow: type | str,
    *arg: Any,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: None = None,
) -> Any: ...
@_must_be_awaited
async def execute_child_workflow(
    workflow: Any,
    *arg: object,
    args: Sequence[Any] | None = None,
    id: str | None = None,
    retry_policy: RetryPolicy | None = None,
    result_type: type | None = None,
) -> Any:
    """Start a child workflow and wait for its result; failures raise ``ChildWorkflowError``."""
    __tracebackhide__ = True
    handle = await _start_child_workflow(
        workflow, *arg, args=args, id=id, retry_policy=retry_policy, result_type=result_type
    )
    result = handle._future()
    try:
        return await asyncio.shield(result)
    except asyncio.CancelledError:
        handle.cancel()
        result.add_done_callback(retrieve_outcome)  # the cancelled child's outcome is expected
        raise


def continue_as_new(
    *arg: Any, args: Sequence[Any] | None = None, workflow: Any = None
) -> NoReturn:
    """End this run and start a fresh one of the same workflow id with these arguments.

    The arguments are given positionally or, as in Temporal's SDK, in ``args=[...]``.
    """
    runtime = _runtime()
    values = call_arguments(arg, args, what="continue_as_new")
    if workflow is None:
        runtime.workflow_continue_as_new(None, None, values)
    name, definition = _workflow_type(workflow)
    runtime.workflow_continue_as_new(name, definition, values)


# --- logging -----------------------------------------------------------------------------------


class _ReplayAwareLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Drops records while replaying (so a restart does not log twice) and tags the workflow."""

    def isEnabledFor(self, level: int) -> bool:
        if in_workflow() and _runtime().workflow_is_replaying():
            return False
        return super().isEnabledFor(level)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        if in_workflow():
            workflow_info = _runtime().workflow_info()
            extra = dict(kwargs.get("extra") or {})
            extra.setdefault("workflow_id", workflow_info.workflow_id)
            extra.setdefault("run_id", workflow_info.run_id)
            extra.setdefault("workflow_type", workflow_info.workflow_type)
            kwargs["extra"] = extra
            msg = f"{msg} ({workflow_info.workflow_type} {workflow_info.workflow_id})"
        return msg, kwargs


logger = _ReplayAwareLogger(logging.getLogger("pytest_durable.workflow"), {})
"""A logger for workflow code that stays silent while history is being replayed."""

