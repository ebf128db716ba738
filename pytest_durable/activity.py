"""What activity code calls: ``defn``, ``heartbeat``, ``info`` and ``is_cancelled``."""

from __future__ import annotations

import contextvars
import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast, overload

from .engine._definitions import ACTIVITY_ATTR, ActivityDefinition, defined_activity_names
from .engine._location import display_path, user_location
from .engine._loop import in_workflow_loop
from .errors import CancelledError, NotInActivityError, WorkflowMisuseError

__all__ = ["ActivityInfo", "defn", "heartbeat", "info", "is_cancelled"]

_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def defn(fn: _F, /) -> _F: ...
@overload
def defn(*, name: str | None = None) -> Callable[[_F], _F]: ...
def defn(fn: _F | None = None, /, *, name: str | None = None) -> _F | Callable[[_F], _F]:
    """Mark a function (sync or async) as an activity.

    Args:
        fn: the activity function.
        name: the activity type name; defaults to the function's ``__name__``.

    Sync activities run in a thread, as Temporal runs them; async ones on the host loop.
    """
    # Annotations may name classes local to the defining function (common in tests).
    localns = sys._getframe(1).f_locals

    def decorate(f: _F) -> _F:
        definition = ActivityDefinition.of(f, name=name, localns=localns)
        defined_activity_names.add(definition.name)
        guarded = _guard(f, definition)
        setattr(guarded, ACTIVITY_ATTR, definition)
        return guarded

    if fn is not None:
        return decorate(fn)
    return decorate


def _guard(fn: _F, definition: ActivityDefinition) -> _F:
    """``fn`` wrapped so that calling it from workflow code fails, saying how to call it.

    Called directly in a workflow, an activity would run inline: no history event, no retry,
    no timeout, and again on every replay. The engine calls ``definition.fn`` (the function
    itself), so only direct calls pay for the check.
    """
    if not inspect.isfunction(fn):
        return fn  # a callable object: it keeps its identity

    if definition.is_async:

        @functools.wraps(fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if in_workflow_loop():
                raise _called_in_workflow(definition)
            return await fn(*args, **kwargs)

        return cast(_F, guarded_async)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if in_workflow_loop():
            raise _called_in_workflow(definition)
        return fn(*args, **kwargs)

    return cast(_F, guarded)


def _called_in_workflow(definition: ActivityDefinition) -> WorkflowMisuseError:
    location = user_location()
    where = f" at {display_path(location[0])}:{location[1]}" if location else ""
    name = definition.name
    return WorkflowMisuseError(
        f"activity {name!r} was called directly from workflow code{where}: it would run "
        "inline, with no history event, no retries and no timeout, and again on every replay. "
        f"Call it through the engine instead: await workflow.execute_activity({name}, ..., "
        "start_to_close_timeout=timedelta(seconds=30))"
    )


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """Facts about the running activity attempt."""

    activity_id: str
    activity_type: str
    attempt: int
    workflow_id: str
    workflow_run_id: str
    workflow_type: str
    scheduled_time: datetime
    current_attempt_scheduled_time: datetime
    started_time: datetime
    heartbeat_details: Sequence[Any]
    """The details of the last heartbeat of the previous attempt (empty on the first)."""
    schedule_to_close_timeout: timedelta | None
    start_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    is_local: bool = False
    """Whether this is a local activity (``workflow.execute_local_activity``)."""


class ActivityContext:
    """The running attempt's context: its info, heartbeat sink and cancellation flag."""

    __slots__ = ("_cancelled", "_heartbeat", "_info", "_make_info", "_stop_on_heartbeat")

    def __init__(
        self,
        info: ActivityInfo | Callable[[], ActivityInfo],
        heartbeat: Callable[[Sequence[Any]], None],
        *,
        stop_on_heartbeat: bool = False,
    ) -> None:
        # Info may be given as a factory: most activities never ask for it, and building it
        # (three datetimes, three timedeltas) is a third of an attempt's bookkeeping.
        if isinstance(info, ActivityInfo):
            self._info: ActivityInfo | None = info
            self._make_info: Callable[[], ActivityInfo] | None = None
        else:
            self._info = None
            self._make_info = info
        self._heartbeat = heartbeat
        # A plain flag: set on the loop thread, polled by sync activities on theirs; a bool
        # store is atomic, and a threading.Event (a Condition and a Lock) costs microseconds.
        self._cancelled = False
        #: A sync activity's thread cannot be interrupted from outside: once cancelled, its
        #: next heartbeat raises CancelledError, so a heartbeat loop ends.
        self._stop_on_heartbeat = stop_on_heartbeat

    @property
    def info(self) -> ActivityInfo:
        info = self._info
        if info is None:
            assert self._make_info is not None
            info = self._info = self._make_info()
        return info

    def heartbeat(self, details: Sequence[Any]) -> None:
        if self._cancelled and self._stop_on_heartbeat:
            raise CancelledError("activity cancelled")
        self._heartbeat(details)

    def cancel(self) -> None:
        self._cancelled = True

    def is_cancelled(self) -> bool:
        return self._cancelled


_context: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar(
    "pytest_durable_activity"
)


def _current() -> ActivityContext:
    try:
        return _context.get()
    except LookupError:
        raise NotInActivityError(
            "this function may only be called from inside an activity (a function decorated "
            "with @activity.defn that the engine or ActivityEnvironment is running)"
        ) from None


def info() -> ActivityInfo:
    """The running activity's :class:`ActivityInfo`."""
    return _current().info


def heartbeat(*details: Any) -> None:
    """Report progress; ``details`` reach the next attempt if this one fails or times out.

    In a sync activity the engine cancelled (the workflow cancelled it, or its run closed),
    this raises :class:`~pytest_durable.CancelledError`, which stops a heartbeat loop that
    does not check :func:`is_cancelled` (a thread cannot be stopped from outside).
    """
    _current().heartbeat(details)


def is_cancelled() -> bool:
    """Whether cancellation of this activity has been requested (for sync activities to poll)."""
    return _current().is_cancelled()
