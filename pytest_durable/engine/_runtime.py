"""The workflow runtime: the one seam between the public workflow API and the engine.

:mod:`pytest_durable.workflow` validates what workflow code passes and forwards it to the
:class:`WorkflowRuntime` of the running workflow, found through its event loop
(``WorkflowEventLoop.runtime``). The runtime owns everything else: the commands, their sequence
numbers and default ids, payload encoding, and the futures that results arrive on. The engine's
implementation is :class:`~._instance_runtime.InstanceRuntime`, one per workflow instance, as
Temporal's SDK has ``_Runtime`` implemented by its workflow instance.

This is where another front-end plugs in (give the loop another runtime) and where a determinism
guard wraps the engine's (a runtime that checks, then delegates).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, NoReturn, Protocol, TypeVar

from ..common import RetryPolicy, to_ns
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from ._definitions import ActivityDefinition, WorkflowDefinition

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """Facts about the running workflow, from ``workflow.info()``."""

    workflow_id: str
    run_id: str
    workflow_type: str
    attempt: int
    start_time: datetime
    parent_workflow_id: str | None
    parent_run_id: str | None
    continued_run_id: str | None
    first_run_id: str
    search_attributes: Mapping[str, Any] = field(default_factory=dict)
    """The run's search attributes (JSON values), kept current as the workflow upserts them."""


# --- activity options --------------------------------------------------------------------------


_DEFAULT_RETRY = RetryPolicy()


class ActivityOptions(NamedTuple):
    """An activity's validated options, timeouts already deduced as Temporal deduces them.

    Build one with :meth:`create`, the only place activity options are checked. (Immutable
    value objects on the per-activity path are named tuples: a frozen dataclass costs several
    times more to build, once per activity call.)
    """

    activity_id: str | None = None
    """The id the workflow gave; None lets the runtime number the activity."""
    task_queue: str | None = None
    """Accepted for Temporal compatibility; one in-process worker serves every queue."""
    schedule_to_close_ns: int | None = None
    """All attempts together, retries and backoff included."""
    schedule_to_start_ns: int | None = None
    """How long an attempt may wait for a worker."""
    start_to_close_ns: int | None = None
    """One attempt."""
    heartbeat_ns: int | None = None
    """The longest time between two heartbeats of an attempt."""
    retry_policy: RetryPolicy = _DEFAULT_RETRY
    """How failed attempts are retried (``RetryPolicy()`` unless given)."""

    @classmethod
    def create(
        cls,
        activity: str,
        activity_id: str | None = None,
        task_queue: str | None = None,
        schedule_to_close_timeout: timedelta | None = None,
        schedule_to_start_timeout: timedelta | None = None,
        start_to_close_timeout: timedelta | None = None,
        heartbeat_timeout: timedelta | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> ActivityOptions:
        """Check the options of a call to ``activity`` and deduce the effective timeouts.

        Raises:
            InvalidArgumentError: an option has the wrong type or value, or neither
                ``start_to_close_timeout`` nor ``schedule_to_close_timeout`` is given.
        """
        timeouts = (
            schedule_to_close_timeout,
            schedule_to_start_timeout,
            start_to_close_timeout,
            heartbeat_timeout,
        )
        try:
            known = _DEDUCED_TIMEOUTS.get(timeouts)
        except TypeError:  # an unhashable value: _deduce_timeouts says what is wrong with it
            known = None
        if known is None:
            deduced = _deduce_timeouts(activity, *timeouts)
            known = (deduced, cls(None, None, *deduced, _DEFAULT_RETRY))
            if len(_DEDUCED_TIMEOUTS) < _DEDUCED_TIMEOUTS_MAX:
                _DEDUCED_TIMEOUTS[timeouts] = known
        if activity_id is None and task_queue is None and retry_policy is None:
            return known[1]  # the common call: immutable, so one object serves every call
        deduced = known[0]
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise InvalidArgumentError(
                f"retry_policy for activity {activity!r} must be a RetryPolicy, got "
                f"{retry_policy!r}"
            )
        return ActivityOptions(
            activity_id,
            task_queue,
            *deduced,
            retry_policy if retry_policy is not None else _DEFAULT_RETRY,
        )


_Timeouts = tuple[int | None, int | None, int | None, int | None]

#: Deduced timeouts (schedule-to-close, schedule-to-start, start-to-close, heartbeat, in ns) by
#: the timedeltas a call passed: a workflow passes the same few at every call, and checking and
#: converting them cost more than the rest of building the options. Only valid ones are kept.
#: Each is kept with the options a call with no id, task queue or retry policy gets.
_DEDUCED_TIMEOUTS: dict[tuple[Any, ...], tuple[_Timeouts, ActivityOptions]] = {}
_DEDUCED_TIMEOUTS_MAX = 1024


def _deduce_timeouts(
    activity: str,
    schedule_to_close: timedelta | None,
    schedule_to_start: timedelta | None,
    start_to_close: timedelta | None,
    heartbeat: timedelta | None,
) -> _Timeouts:
    """Check a call's timeouts and deduce the effective ones, as Temporal deduces them."""
    s2c = activity_timeout_ns(schedule_to_close, "schedule_to_close_timeout", activity)
    s2s = activity_timeout_ns(schedule_to_start, "schedule_to_start_timeout", activity)
    stc = activity_timeout_ns(start_to_close, "start_to_close_timeout", activity)
    hb = activity_timeout_ns(heartbeat, "heartbeat_timeout", activity)
    if s2c is None and stc is None:
        raise InvalidArgumentError(
            f"activity {activity!r} needs a start_to_close_timeout or a "
            "schedule_to_close_timeout (or both); e.g. "
            "start_to_close_timeout=timedelta(seconds=30)"
        )
    if s2c is not None:
        # Temporal's deduction: unset timeouts default to, and set ones are capped by, s2c.
        stc = s2c if stc is None else min(stc, s2c)
        s2s = s2c if s2s is None else min(s2s, s2c)
        if hb is not None:
            hb = min(hb, s2c)
    return s2c, s2s, stc, hb


def activity_timeout_ns(
    value: timedelta | float | None, what: str, activity: str, *, allow_seconds: bool = False
) -> int | None:
    """One activity timeout in nanoseconds: a positive ``timedelta`` (or seconds, if allowed)."""
    if value is None:
        return None
    if not isinstance(value, timedelta) and not (
        allow_seconds and isinstance(value, int | float) and not isinstance(value, bool)
    ):
        kind = "a timedelta or seconds" if allow_seconds else "a timedelta"
        raise InvalidArgumentError(
            f"{what} for activity {activity!r} must be {kind}, got {value!r}"
        )
    ns = to_ns(value, what=what)
    assert ns is not None
    if ns <= 0:
        raise InvalidArgumentError(
            f"{what} for activity {activity!r} must be positive, got {value}"
        )
    return ns


# --- what the public API hands the runtime -----------------------------------------------------


class ActivityCall(NamedTuple):
    """``start_activity``'s validated request: which activity, its arguments, its options."""

    activity_type: str
    definition: ActivityDefinition | None
    """The implementation when called by reference: it needs no registration."""
    args: Sequence[Any]
    """The arguments as the workflow gave them (the runtime encodes them)."""
    options: ActivityOptions
    result_type: Any = None
    """The type the result is decoded to; None uses the activity's return annotation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalActivityCall:
    """``start_local_activity``'s validated request (no heartbeat timeout: none applies)."""

    activity_type: str
    definition: ActivityDefinition | None
    args: Sequence[Any]
    options: ActivityOptions
    local_retry_threshold_ns: int
    """A retry waiting longer than this waits on a durable timer instead of in the task."""
    result_type: Any = None


class ChildWorkflowCall(NamedTuple):
    """``start_child_workflow``'s validated request."""

    workflow_type: str
    definition: WorkflowDefinition | None
    args: Sequence[Any]
    workflow_id: str | None = None
    """The child's id; None lets the runtime derive one from the parent's."""
    retry_policy: RetryPolicy | None = None
    result_type: Any = None


class ChildWorkflowHandle(ABC, Generic[_T]):
    """A started child workflow: await it for its result, or ``cancel()`` it."""

    __slots__ = ()

    @property
    @abstractmethod
    def id(self) -> str:
        """The child's workflow id."""

    @property
    @abstractmethod
    def run_id(self) -> str | None:
        """The child's first run id, once started."""

    @abstractmethod
    def cancel(self) -> None:
        """Ask the child to cancel (it sees a ``CancelledError`` and may clean up)."""

    @abstractmethod
    def _future(self) -> asyncio.Future[_T]:
        """The future the child's result (or failure) arrives on."""

    def __await__(self) -> Generator[Any, None, _T]:
        return self._future().__await__()


def retrieve_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception as seen: its outcome was expected, nobody will await it."""
    if not future.cancelled():
        future.exception()


# --- the protocol ----------------------------------------------------------------------------


class WorkflowRuntime(Protocol):
    """What the public workflow API asks of the running workflow; see the module docstring.

    Every method is called from workflow code, on the workflow's own event loop. Arguments have
    been validated by :mod:`pytest_durable.workflow`; a runtime raises only for what depends on
    the workflow's state (a query trying to issue a command, an activity id already in use).
    """

    def workflow_info(self) -> WorkflowInfo:
        """Facts about the run (``workflow.info()``)."""
        ...

    def workflow_time_ns(self) -> int:
        """The workflow's time: the current workflow task's, from history."""
        ...

    def workflow_is_replaying(self) -> bool:
        """Whether the code is re-running recorded history."""
        ...

    def workflow_random(self) -> random.Random:
        """The run's seeded randomness."""
        ...

    def workflow_uuid4(self) -> uuid.UUID:
        """A version-4 UUID from the run's seeded randomness."""
        ...

    def workflow_patch(self, patch_id: str, *, deprecated: bool) -> bool:
        """``patched(patch_id)`` (or ``deprecate_patch``, when ``deprecated``)."""
        ...

    def workflow_memo(self) -> Mapping[str, Any]:
        """The run's memo, as JSON values (``workflow.memo()``)."""
        ...

    def workflow_upsert_memo(self, updates: dict[str, Any]) -> None:
        """Change the memo: JSON values by key, None removing a key (``upsert_memo``)."""
        ...

    def workflow_upsert_search_attributes(self, updates: dict[str, Any]) -> None:
        """Set search attributes: JSON values by name, None removing one."""
        ...

    def workflow_sleep(self, duration_ns: int) -> Awaitable[None]:
        """Sleep on a durable timer (``duration_ns`` >= 0; zero does not start a timer)."""
        ...

    def workflow_wait_condition(self, fn: Callable[[], bool]) -> asyncio.Future[bool]:
        """A future resolved once ``fn()`` is true, checked whenever the workflow is blocked."""
        ...

    def workflow_start_activity(self, call: ActivityCall) -> asyncio.Future[Any]:
        """Schedule an activity; cancelling the future requests the activity's cancellation."""
        ...

    def workflow_start_local_activity(self, call: LocalActivityCall) -> asyncio.Task[Any]:
        """Start a local activity (run within the workflow task); the task is its handle."""
        ...

    def workflow_start_child_workflow(
        self, call: ChildWorkflowCall
    ) -> Awaitable[ChildWorkflowHandle[Any]]:
        """Start a child workflow; the handle is returned once the child has started."""
        ...

    def workflow_continue_as_new(
        self,
        workflow_type: str | None,
        definition: WorkflowDefinition | None,
        args: Sequence[Any],
    ) -> NoReturn:
        """End the run and start the next one (``None``: the same workflow type)."""
        ...
