"""Commands: what workflow code asks for during a workflow task, before they become events.

Each kind of command is one class that holds all of that kind's behaviour: the event it becomes
(:meth:`Command.to_event`), how messages name it (:meth:`Command.describe`) and how replay
compares it with the event history recorded for it (:meth:`Command.compare`). A kind missing any
of these cannot be instantiated (the type checker says so). :data:`WorkflowCommand` is the closed
union of every kind: code that dispatches on a command matches over it and ends in
``assert_never``, so a new kind is a type error at each place that does not handle it yet.
"""

from __future__ import annotations

import asyncio
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from ..common import RetryPolicy
from . import _events as ev
from ._timefmt import format_duration

#: The name of the markers ``workflow.patched`` and ``workflow.deprecate_patch`` record.
PATCH_MARKER = "patch"
#: The name Temporal's Core SDK gives the markers that record local activities.
LOCAL_ACTIVITY_MARKER = "core_local_activity"

NewRunId = Callable[[], str]
"""Mints a run id (the engine's seeded generator): continue-as-new names its next run."""


@dataclass(frozen=True, slots=True)
class Difference:
    """How a command differs from the event recorded for it in history."""

    message: str
    #: True when Temporal would fail the replay (a nondeterminism error); false for a benign
    #: difference it lets pass (other arguments, another duration), reported as a divergence.
    breaking: bool


class _CommandMeta(ABCMeta):
    """ABCMeta (a kind missing a method cannot be made) with the builtin ``isinstance``.

    ABCMeta's own check runs Python code for every test that fails, and the engine matches
    commands by class at every command it records, carries out or replays. No command class
    is ever registered as a virtual subclass, so the builtin check gives the same answers.
    """

    __instancecheck__ = type.__instancecheck__
    __subclasscheck__ = type.__subclasscheck__


@dataclass(slots=True, kw_only=True)
class Command(metaclass=_CommandMeta):
    """Base: where in the workflow code it was issued, and the event it became."""

    location: tuple[str, int] | None = None
    event_id: int | None = None

    #: The history event this kind of command becomes.
    event_type: ClassVar[type[ev.Event]]
    #: Whether the command ends the run (nothing may follow its event).
    closes_run: ClassVar[bool] = False

    def where(self) -> str | None:
        """``file:line`` of the workflow code that issued the command."""
        if self.location is None:
            return None
        return f"{self.location[0]}:{self.location[1]}"

    @abstractmethod
    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        """The history event this command becomes, numbered ``event_id`` at time ``now_ns``."""

    @abstractmethod
    def describe(self) -> str:
        """A short description, in the vocabulary of events, for replay messages."""

    @abstractmethod
    def compare(self, event: ev.Event) -> Difference | None:
        """How this command differs from ``event`` (of type :attr:`event_type`), or None."""


#: Each retry policy's JSON, by the policy's id (the policy is kept, so the id stays its own).
_POLICY_JSON: dict[int, tuple[RetryPolicy, dict[str, Any]]] = {}


def policy_json(policy: RetryPolicy) -> dict[str, Any]:
    """``policy.to_json()``, worked out once per policy object.

    A workflow passes the same few policies (most often none: the default one) to every
    activity it schedules.
    """
    cached = _POLICY_JSON.get(id(policy))
    if cached is None or cached[0] is not policy:
        if len(_POLICY_JSON) >= 256:
            _POLICY_JSON.clear()
        cached = _POLICY_JSON[id(policy)] = (policy, policy.to_json())
    json = cached[1]
    # Each event gets its own dict and list: nothing recorded is shared with another event.
    return {**json, "non_retryable_error_types": list(json["non_retryable_error_types"])}


def _target_id(target: Command) -> int:
    assert target.event_id is not None, "a cancel command targets a command already in history"
    return target.event_id


def _cancels(target: int | None, recorded: int) -> Difference | None:
    if target == recorded:
        return None
    return Difference(
        f"the code cancels what event {target} started, history cancels event {recorded}",
        breaking=True,
    )


# --- activities --------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ScheduleActivity(Command):
    """Schedule an activity; its timeouts are the effective (deduced) ones."""

    seq: int
    activity_id: str
    activity_type: str
    args: list[Any]
    schedule_to_close_ns: int | None
    schedule_to_start_ns: int | None
    start_to_close_ns: int | None
    heartbeat_ns: int | None
    retry_policy: RetryPolicy | None
    result_hint: Any = None
    #: The implementation when called by reference: it needs no registration.
    definition: Any = field(default=None, repr=False)
    future: asyncio.Future[Any] | None = field(default=None, repr=False)
    cancel_requested: bool = False

    event_type = ev.ActivityTaskScheduled

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.ActivityTaskScheduled(
            event_id=event_id,
            time_ns=now_ns,
            activity_id=self.activity_id,
            activity_type=self.activity_type,
            input=self.args,
            schedule_to_close_timeout_ns=self.schedule_to_close_ns,
            schedule_to_start_timeout_ns=self.schedule_to_start_ns,
            start_to_close_timeout_ns=self.start_to_close_ns,
            heartbeat_timeout_ns=self.heartbeat_ns,
            retry_policy=policy_json(self.retry_policy) if self.retry_policy else None,
        )

    def describe(self) -> str:
        return f"ScheduleActivity(activity_type={self.activity_type!r})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.ActivityTaskScheduled)
        if self.activity_type != event.activity_type:
            return Difference(
                f"activity type of scheduled event {event.activity_type!r} does not match "
                f"activity type of activity command {self.activity_type!r}",
                breaking=True,
            )
        if self.args != event.input:
            return Difference(
                f"activity {self.activity_type!r} is called with {self.args!r}, history has "
                f"{event.input!r}",
                breaking=False,
            )
        return None


@dataclass(slots=True, kw_only=True)
class RequestCancelActivity(Command):
    """Ask to cancel a scheduled activity."""

    target: ScheduleActivity

    event_type = ev.ActivityTaskCancelRequested

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.ActivityTaskCancelRequested(
            event_id=event_id, time_ns=now_ns, scheduled_event_id=_target_id(self.target)
        )

    def describe(self) -> str:
        return "RequestCancelActivity"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.ActivityTaskCancelRequested)
        return _cancels(self.target.event_id, event.scheduled_event_id)


# --- timers ------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class StartTimer(Command):
    """Start a durable timer."""

    seq: int
    duration_ns: int
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)
    fired: bool = False

    event_type = ev.TimerStarted

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.TimerStarted(
            event_id=event_id,
            time_ns=now_ns,
            timer_id=str(self.seq),
            duration_ns=self.duration_ns,
        )

    def describe(self) -> str:
        return f"StartTimer(duration={format_duration(self.duration_ns)})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.TimerStarted)
        if self.duration_ns != event.duration_ns:
            return Difference(
                f"timer lasts {format_duration(self.duration_ns)}, history has "
                f"{format_duration(event.duration_ns)}",
                breaking=False,
            )
        return None


@dataclass(slots=True, kw_only=True)
class CancelTimer(Command):
    """Cancel a timer before it fires."""

    target: StartTimer

    event_type = ev.TimerCanceled

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.TimerCanceled(
            event_id=event_id, time_ns=now_ns, started_event_id=_target_id(self.target)
        )

    def describe(self) -> str:
        return "CancelTimer"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.TimerCanceled)
        return _cancels(self.target.event_id, event.started_event_id)


# --- markers -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class RecordMarker(Command):
    """Record a marker (``patch`` for ``workflow.patched``)."""

    name: str
    details: dict[str, Any]

    event_type = ev.MarkerRecorded

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.MarkerRecorded(
            event_id=event_id, time_ns=now_ns, marker_name=self.name, details=self.details
        )

    def describe(self) -> str:
        return f"RecordMarker({self.name!r}, {self.details})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.MarkerRecorded)
        if self.name == event.marker_name == PATCH_MARKER:
            # patched() matches a deprecated marker and deprecate_patch() a plain one: only the
            # id must agree (Temporal's patch state machine).
            same = self.details.get("patch_id") == event.details.get("patch_id")
        else:
            same = self.name == event.marker_name and self.details == event.details
        if not same:
            return Difference("the marker differs from the recorded one", breaking=True)
        return None


# --- child workflows ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ScheduleLocalActivity:
    """A local activity to run within the workflow task; it reaches history only as a marker.

    Not a command of its own (it has no event): the engine runs it while the task is held open,
    and its outcome is recorded by a :class:`RecordLocalActivityMarker` when it resolves.
    """

    location: tuple[str, int] | None = None
    seq: int
    activity_id: str
    activity_type: str
    args: list[Any]
    schedule_to_close_ns: int | None
    schedule_to_start_ns: int | None
    start_to_close_ns: int | None
    retry_policy: RetryPolicy
    local_retry_threshold_ns: int
    #: The first attempt this command runs (above 1 after a timer backoff).
    attempt: int = 1
    #: When the first attempt was scheduled (set on a retry after a timer backoff).
    original_schedule_ns: int | None = None
    result_hint: Any = None
    definition: Any = field(default=None, repr=False)
    future: asyncio.Future[Any] | None = field(default=None, repr=False)
    #: Set by the engine once it runs the activity (a cancel before that needs no marker).
    started: bool = False


@dataclass(slots=True, kw_only=True)
class RecordLocalActivityMarker(Command):
    """A local activity's outcome, recorded as Temporal records it: a marker."""

    seq: int
    activity_id: str
    activity_type: str
    details: dict[str, Any]

    event_type = ev.MarkerRecorded

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.MarkerRecorded(
            event_id=event_id,
            time_ns=now_ns,
            marker_name=LOCAL_ACTIVITY_MARKER,
            details=self.details,
        )

    def describe(self) -> str:
        return f"LocalActivity(activity_type={self.activity_type!r}, seq={self.seq})"

    def compare(self, event: ev.Event) -> Difference | None:
        # The outcome comes from the marker on replay; what must agree is which local activity
        # it resolves (Core's checks: sequence number, then type).
        assert isinstance(event, ev.MarkerRecorded)
        data = event.details.get("data") or {}
        if event.marker_name != LOCAL_ACTIVITY_MARKER or data.get("seq") != self.seq:
            return Difference(
                f"local activity {self.activity_type!r} resolves here, but history holds "
                "another marker",
                breaking=True,
            )
        if data.get("activity_type") != self.activity_type:
            return Difference(
                f"activity type of recorded marker {data.get('activity_type')!r} does not "
                f"match activity type of local activity command {self.activity_type!r}",
                breaking=True,
            )
        return None


@dataclass(slots=True, kw_only=True)
class StartChildWorkflow(Command):
    """Start a child workflow."""

    seq: int
    workflow_type: str
    workflow_id: str
    args: list[Any]
    retry_policy: RetryPolicy | None
    result_hint: Any = None
    definition: Any = field(default=None, repr=False)
    started: asyncio.Future[str] | None = field(default=None, repr=False)
    result: asyncio.Future[Any] | None = field(default=None, repr=False)

    event_type = ev.StartChildWorkflowExecutionInitiated

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.StartChildWorkflowExecutionInitiated(
            event_id=event_id,
            time_ns=now_ns,
            workflow_type=self.workflow_type,
            workflow_id=self.workflow_id,
            input=self.args,
            retry_policy=policy_json(self.retry_policy) if self.retry_policy else None,
        )

    def describe(self) -> str:
        return f"StartChildWorkflow(workflow_type={self.workflow_type!r})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.StartChildWorkflowExecutionInitiated)
        if self.workflow_type != event.workflow_type:
            return Difference(
                f"child workflow type {self.workflow_type!r} does not match the recorded "
                f"{event.workflow_type!r}",
                breaking=True,
            )
        if self.args != event.input:
            return Difference(
                f"child workflow {self.workflow_type!r} is started with other input",
                breaking=False,
            )
        return None


@dataclass(slots=True, kw_only=True)
class RequestCancelChild(Command):
    """Ask a started child workflow to cancel."""

    target: StartChildWorkflow

    event_type = ev.RequestCancelChildWorkflowExecution

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.RequestCancelChildWorkflowExecution(
            event_id=event_id, time_ns=now_ns, initiated_event_id=_target_id(self.target)
        )

    def describe(self) -> str:
        return "RequestCancelChild"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.RequestCancelChildWorkflowExecution)
        return _cancels(self.target.event_id, event.initiated_event_id)


# --- memo and search attributes ---------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class UpsertSearchAttributes(Command):
    """Set (or, with a null value, remove) search attributes."""

    search_attributes: dict[str, Any]

    event_type = ev.UpsertWorkflowSearchAttributes

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.UpsertWorkflowSearchAttributes(
            event_id=event_id, time_ns=now_ns, search_attributes=self.search_attributes
        )

    def describe(self) -> str:
        return f"UpsertSearchAttributes({sorted(self.search_attributes)})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.UpsertWorkflowSearchAttributes)
        if self.search_attributes != event.search_attributes:
            return Difference(
                f"search attributes upserted are {self.search_attributes!r}, history has "
                f"{event.search_attributes!r}",
                breaking=False,
            )
        return None


@dataclass(slots=True, kw_only=True)
class ModifyWorkflowProperties(Command):
    """Change the memo (a null value removes a key)."""

    upserted_memo: dict[str, Any]

    event_type = ev.WorkflowPropertiesModified

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowPropertiesModified(
            event_id=event_id, time_ns=now_ns, upserted_memo=self.upserted_memo
        )

    def describe(self) -> str:
        return f"ModifyWorkflowProperties({sorted(self.upserted_memo)})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.WorkflowPropertiesModified)
        if self.upserted_memo != event.upserted_memo:
            return Difference(
                f"the memo upserted is {self.upserted_memo!r}, history has "
                f"{event.upserted_memo!r}",
                breaking=False,
            )
        return None


# --- updates -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class AcceptUpdate(Command):
    """Accept an update whose validator passed (or that replay re-delivers)."""

    update_id: str
    name: str
    args: list[Any]

    event_type = ev.WorkflowExecutionUpdateAccepted

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionUpdateAccepted(
            event_id=event_id,
            time_ns=now_ns,
            update_id=self.update_id,
            update_name=self.name,
            input=self.args,
        )

    def describe(self) -> str:
        return f"AcceptUpdate(update_name={self.name!r})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.WorkflowExecutionUpdateAccepted)
        if (self.update_id, self.name) != (event.update_id, event.update_name):
            return Difference(
                f"the code accepts update {self.name!r} ({self.update_id}), history accepted "
                f"{event.update_name!r} ({event.update_id})",
                breaking=True,
            )
        return None


@dataclass(slots=True, kw_only=True)
class CompleteUpdate(Command):
    """Report an accepted update's outcome: a result (encoded) or a failure."""

    update_id: str
    accepted: AcceptUpdate
    result: Any = None
    failure: dict[str, Any] | None = None

    event_type = ev.WorkflowExecutionUpdateCompleted

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionUpdateCompleted(
            event_id=event_id,
            time_ns=now_ns,
            update_id=self.update_id,
            accepted_event_id=_target_id(self.accepted),
            result=self.result,
            failure=self.failure,
        )

    def describe(self) -> str:
        return f"CompleteUpdate(update_id={self.update_id!r})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.WorkflowExecutionUpdateCompleted)
        if self.update_id != event.update_id:
            return Difference(
                f"the code completes update {self.update_id!r}, history completed "
                f"{event.update_id!r}",
                breaking=True,
            )
        if (self.result, self.failure) != (event.result, event.failure):
            return Difference(
                f"update {self.update_id!r} has another outcome than the recorded one",
                breaking=False,
            )
        return None


# --- closing the run ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class CompleteWorkflow(Command):
    """End the run with a result (already encoded)."""

    result: Any

    event_type = ev.WorkflowExecutionCompleted
    closes_run = True

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionCompleted(event_id=event_id, time_ns=now_ns, result=self.result)

    def describe(self) -> str:
        return "CompleteWorkflow"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.WorkflowExecutionCompleted)
        if self.result != event.result:
            return Difference(
                f"the workflow returns {self.result!r}, history has {event.result!r}",
                breaking=False,
            )
        return None


@dataclass(slots=True, kw_only=True)
class FailWorkflow(Command):
    """End the run with a failure."""

    failure: dict[str, Any]
    #: The live exception, so the test sees the original traceback.
    exception: BaseException = field(repr=False)
    #: True when the exception is a bug in workflow code rather than a declared failure.
    is_bug: bool = False

    event_type = ev.WorkflowExecutionFailed
    closes_run = True

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionFailed(event_id=event_id, time_ns=now_ns, failure=self.failure)

    def describe(self) -> str:
        error = self.exception
        return f"FailWorkflow({type(error).__name__}: {error})"

    def compare(self, event: ev.Event) -> Difference | None:
        # The failure's text may differ between runs (tracebacks, reprs): not compared.
        return None


@dataclass(slots=True, kw_only=True)
class CancelWorkflow(Command):
    """End the run as cancelled (it accepted a cancellation request)."""

    event_type = ev.WorkflowExecutionCanceled
    closes_run = True

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionCanceled(event_id=event_id, time_ns=now_ns)

    def describe(self) -> str:
        return "CancelWorkflow"

    def compare(self, event: ev.Event) -> Difference | None:
        return None


@dataclass(slots=True, kw_only=True)
class ContinueAsNew(Command):
    """End the run and start the next one of the same workflow id."""

    workflow_type: str
    args: list[Any]
    #: The target's definition when given by reference: it needs no registration.
    definition: Any = field(default=None, repr=False)

    event_type = ev.WorkflowExecutionContinuedAsNew
    closes_run = True

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.WorkflowExecutionContinuedAsNew(
            event_id=event_id,
            time_ns=now_ns,
            new_run_id=new_run_id(),
            workflow_type=self.workflow_type,
            input=self.args,
        )

    def describe(self) -> str:
        return f"ContinueAsNew(workflow_type={self.workflow_type!r})"

    def compare(self, event: ev.Event) -> Difference | None:
        assert isinstance(event, ev.WorkflowExecutionContinuedAsNew)
        if self.workflow_type != event.workflow_type:
            return Difference("continue-as-new targets another workflow type", breaking=True)
        if self.args != event.input:
            return Difference("continue-as-new passes other input to the next run", breaking=False)
        return None


WorkflowCommand: TypeAlias = (
    ScheduleActivity
    | RequestCancelActivity
    | StartTimer
    | CancelTimer
    | RecordMarker
    | RecordLocalActivityMarker
    | StartChildWorkflow
    | RequestCancelChild
    | UpsertSearchAttributes
    | ModifyWorkflowProperties
    | AcceptUpdate
    | CompleteUpdate
    | CompleteWorkflow
    | FailWorkflow
    | CancelWorkflow
    | ContinueAsNew
)
"""Every kind of command, closed: a ``match`` over it ends in ``assert_never``."""

ClosingCommand: TypeAlias = CompleteWorkflow | FailWorkflow | CancelWorkflow | ContinueAsNew
"""The kinds that end a run (their ``closes_run`` is true)."""
