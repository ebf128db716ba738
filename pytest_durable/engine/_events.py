"""History events: frozen, slotted, keyword-only dataclasses, one per thing that happened.

:data:`HistoryEvent` is the closed union of every kind: code that dispatches on an event matches
over it and ends in ``assert_never``, so a new kind is a type error at each place that does not
handle it yet. A kind's own facts live on its class: whether a workflow command produces it
(``is_command``) and how replay messages name it (:meth:`Event.describe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias, get_args

from ..common import WorkflowStatus
from ._timefmt import format_duration

# Field metadata tells the JSON codec how to render a field readably and losslessly.
_TIME = {"codec": "time"}
_DURATION = {"codec": "duration"}
_FAILURE = {"codec": "failure"}
_OMIT_NONE = {"codec": "omit_none"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event has: its number in the history (from 1) and its virtual time."""

    event_id: int
    time_ns: int = field(metadata=_TIME)

    #: Events that a workflow command produces (they follow a WorkflowTaskCompleted).
    is_command = False

    @property
    def kind(self) -> str:
        """The event's type name, e.g. ``"ActivityTaskScheduled"``."""
        return type(self).__name__

    @property
    def time(self) -> datetime:
        """When the event happened (virtual time, UTC), to the microsecond.

        ``time_ns`` is exact; a datetime keeps only microseconds, so the nanoseconds are cut.
        """
        seconds, ns = divmod(self.time_ns, 1_000_000_000)
        return _EPOCH + timedelta(seconds=seconds, microseconds=ns // 1_000)

    def describe(self) -> str:
        """A short description for replay messages: the kind, and what identifies it."""
        return self.kind


# --- the execution ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionStarted(Event):
    """A run began: its type, id, input and what it descends from."""

    workflow_type: str
    workflow_id: str
    run_id: str
    input: list[Any]
    randomness_seed: int
    attempt: int = 1
    parent_workflow_id: str | None = None
    parent_run_id: str | None = None
    continued_from_run_id: str | None = None
    first_run_id: str | None = None
    #: What the starter attached: a memo and search attributes (JSON values by name).
    memo: dict[str, Any] | None = field(default=None, metadata=_OMIT_NONE)
    search_attributes: dict[str, Any] | None = field(default=None, metadata=_OMIT_NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowTaskCompleted(Event):
    """The workflow processed the events before this one; its commands follow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionCompleted(Event):
    """The run returned ``result``."""

    result: Any
    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionFailed(Event):
    """The run raised; ``failure`` is the encoded exception chain."""

    failure: dict[str, Any] = field(metadata=_FAILURE)
    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionCanceled(Event):
    """The run ended by accepting a cancellation request."""

    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionContinuedAsNew(Event):
    """The run ended and a new run of the same workflow id starts with ``input``."""

    new_run_id: str
    workflow_type: str
    input: list[Any]
    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionTerminated(Event):
    """Someone terminated the run: it ended at once, its code had no say (not a command)."""

    reason: str = ""
    details: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionSignaled(Event):
    """A signal arrived."""

    signal_name: str
    input: list[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionCancelRequested(Event):
    """Someone asked the run to cancel."""

    reason: str = ""


# --- memo and search attributes ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertWorkflowSearchAttributes(Event):
    """The workflow set search attributes (a null value removes one)."""

    search_attributes: dict[str, Any]
    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPropertiesModified(Event):
    """The workflow changed its memo (``upserted_memo``; a null value removes a key)."""

    upserted_memo: dict[str, Any]
    is_command = True


# --- updates -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionUpdateAccepted(Event):
    """The workflow accepted an update (its validator passed); the handler runs next.

    A rejected update leaves no event, as on Temporal. Replay re-delivers the update to its
    handler from this event, in the task that accepted it.
    """

    update_id: str
    update_name: str
    input: list[Any]
    is_command = True

    def describe(self) -> str:
        return f"WorkflowExecutionUpdateAccepted(update_name={self.update_name!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowExecutionUpdateCompleted(Event):
    """An accepted update's handler finished: ``result``, or ``failure`` if it raised."""

    update_id: str
    accepted_event_id: int
    result: Any = None
    failure: dict[str, Any] | None = field(default=None, metadata=_FAILURE)
    is_command = True


# --- activities --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskScheduled(Event):
    """The workflow asked for an activity; timeouts are the effective (deduced) ones."""

    activity_id: str
    activity_type: str
    input: list[Any]
    schedule_to_close_timeout_ns: int | None = field(default=None, metadata=_DURATION)
    schedule_to_start_timeout_ns: int | None = field(default=None, metadata=_DURATION)
    start_to_close_timeout_ns: int | None = field(default=None, metadata=_DURATION)
    heartbeat_timeout_ns: int | None = field(default=None, metadata=_DURATION)
    retry_policy: dict[str, Any] | None = None
    is_command = True

    def describe(self) -> str:
        return f"ActivityTaskScheduled(activity_type={self.activity_type!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskStarted(Event):
    """The attempt that decided the activity's outcome started (written with that outcome)."""

    scheduled_event_id: int
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskCompleted(Event):
    """The activity returned ``result``."""

    scheduled_event_id: int
    result: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskFailed(Event):
    """The activity failed and will not be retried; ``retry_state`` says why."""

    scheduled_event_id: int
    failure: dict[str, Any] = field(metadata=_FAILURE)
    retry_state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskTimedOut(Event):
    """The activity timed out and will not be retried."""

    scheduled_event_id: int
    failure: dict[str, Any] = field(metadata=_FAILURE)
    retry_state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskCancelRequested(Event):
    """The workflow asked to cancel the activity."""

    scheduled_event_id: int
    is_command = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTaskCanceled(Event):
    """The activity ended cancelled."""

    scheduled_event_id: int


# --- timers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerStarted(Event):
    """A durable timer started."""

    timer_id: str
    duration_ns: int = field(metadata=_DURATION)
    is_command = True

    def describe(self) -> str:
        return f"TimerStarted(duration={format_duration(self.duration_ns)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired(Event):
    """A durable timer fired."""

    started_event_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerCanceled(Event):
    """The workflow cancelled a timer before it fired."""

    started_event_id: int
    is_command = True


# --- markers (versioning) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkerRecorded(Event):
    """A marker, e.g. ``patch`` with ``details={"patch_id": ...}`` from ``workflow.patched``."""

    marker_name: str
    details: dict[str, Any]
    is_command = True

    def describe(self) -> str:
        return f"MarkerRecorded({self.marker_name!r}, {self.details})"


# --- child workflows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StartChildWorkflowExecutionInitiated(Event):
    """The workflow asked to start a child workflow."""

    workflow_type: str
    workflow_id: str
    input: list[Any]
    retry_policy: dict[str, Any] | None = None
    is_command = True

    def describe(self) -> str:
        return f"StartChildWorkflowExecutionInitiated(workflow_type={self.workflow_type!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class StartChildWorkflowExecutionFailed(Event):
    """The child could not start (e.g. its workflow id was already running)."""

    initiated_event_id: int
    cause: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildWorkflowExecutionStarted(Event):
    """The child started."""

    initiated_event_id: int
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildWorkflowExecutionCompleted(Event):
    """The child returned ``result``."""

    initiated_event_id: int
    result: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildWorkflowExecutionFailed(Event):
    """The child failed."""

    initiated_event_id: int
    failure: dict[str, Any] = field(metadata=_FAILURE)
    retry_state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildWorkflowExecutionCanceled(Event):
    """The child ended cancelled."""

    initiated_event_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildWorkflowExecutionTerminated(Event):
    """The child was terminated."""

    initiated_event_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCancelChildWorkflowExecution(Event):
    """The workflow asked to cancel a child it started."""

    initiated_event_id: int
    is_command = True


HistoryEvent: TypeAlias = (
    WorkflowExecutionStarted
    | WorkflowTaskCompleted
    | WorkflowExecutionCompleted
    | WorkflowExecutionFailed
    | WorkflowExecutionCanceled
    | WorkflowExecutionContinuedAsNew
    | WorkflowExecutionTerminated
    | WorkflowExecutionSignaled
    | WorkflowExecutionCancelRequested
    | WorkflowExecutionUpdateAccepted
    | WorkflowExecutionUpdateCompleted
    | UpsertWorkflowSearchAttributes
    | WorkflowPropertiesModified
    | ActivityTaskScheduled
    | ActivityTaskStarted
    | ActivityTaskCompleted
    | ActivityTaskFailed
    | ActivityTaskTimedOut
    | ActivityTaskCancelRequested
    | ActivityTaskCanceled
    | TimerStarted
    | TimerFired
    | TimerCanceled
    | MarkerRecorded
    | StartChildWorkflowExecutionInitiated
    | StartChildWorkflowExecutionFailed
    | ChildWorkflowExecutionStarted
    | ChildWorkflowExecutionCompleted
    | ChildWorkflowExecutionFailed
    | ChildWorkflowExecutionCanceled
    | ChildWorkflowExecutionTerminated
    | RequestCancelChildWorkflowExecution
)
"""Every kind of event, closed: a ``match`` over it ends in ``assert_never``."""

#: Event classes by kind name, as history JSON spells them.
EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in get_args(HistoryEvent)}

#: The status a run has once its history ends with each closing event (as the engine reports
#: it); a history ending in anything else is still running.
STATUS_BY_CLOSING_EVENT: dict[type[Event], WorkflowStatus] = {
    WorkflowExecutionCompleted: WorkflowStatus.COMPLETED,
    WorkflowExecutionFailed: WorkflowStatus.FAILED,
    WorkflowExecutionCanceled: WorkflowStatus.CANCELLED,
    WorkflowExecutionContinuedAsNew: WorkflowStatus.CONTINUED_AS_NEW,
    WorkflowExecutionTerminated: WorkflowStatus.TERMINATED,
}

#: Closing events the server writes on its own (no workflow command produces them).
SERVER_CLOSING_EVENTS = (WorkflowExecutionTerminated,)

CLOSING_EVENTS = (
    WorkflowExecutionCompleted,
    WorkflowExecutionFailed,
    WorkflowExecutionCanceled,
    WorkflowExecutionContinuedAsNew,
    *SERVER_CLOSING_EVENTS,
)
