"""Applying history events to a workflow instance: results, timers, signals, cancellation."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never, cast

from ..errors import (
    ActivityError,
    CancelledError,
    ChildWorkflowError,
    RetryState,
    TerminatedError,
    UnknownWorkflowError,
    WorkflowAlreadyStartedError,
)
from . import _events as ev
from ._commands import ScheduleActivity, StartChildWorkflow, StartTimer
from ._failure import decode_failure
from ._payload import decode

if TYPE_CHECKING:
    from ._instance import WorkflowInstance


INERT_EVENTS = frozenset(
    {ev.WorkflowExecutionStarted, ev.WorkflowTaskCompleted, ev.ActivityTaskStarted}
)
"""Events a workflow instance has nothing to do for (about half of all events)."""


def apply_event(instance: WorkflowInstance, event: ev.Event) -> None:
    """Resolve what ``event`` answers: a future, a timer, a signal, a cancellation."""
    if type(event) in INERT_EVENTS:
        return
    if TYPE_CHECKING:
        # Every Event class is a member of the closed union (a test pins it): this tells the
        # type checker which kinds exist, so the match below must handle each. (No runtime
        # cost on the per-event path.)
        event = cast("ev.HistoryEvent", event)
    match event:
        case ev.ActivityTaskCompleted():
            cmd = instance.by_event.pop(event.scheduled_event_id, None)
            if isinstance(cmd, ScheduleActivity):
                instance.release_activity_id(cmd)
            if isinstance(cmd, ScheduleActivity) and cmd.future and not cmd.future.done():
                cmd.future.set_result(decode(event.result, cmd.result_hint))
                # Break the command <-> future cycle so both die by refcount, not by GC.
                cmd.future = None
        case ev.ActivityTaskFailed() | ev.ActivityTaskTimedOut():
            cmd = instance.by_event.pop(event.scheduled_event_id, None)
            if isinstance(cmd, ScheduleActivity):
                instance.release_activity_id(cmd)
            if isinstance(cmd, ScheduleActivity) and cmd.future and not cmd.future.done():
                cmd.future.set_exception(
                    activity_error(cmd, decode_failure(event.failure), event.retry_state)
                )
        case ev.ActivityTaskCanceled():
            cmd = instance.by_event.pop(event.scheduled_event_id, None)
            if isinstance(cmd, ScheduleActivity):
                instance.release_activity_id(cmd)
            if isinstance(cmd, ScheduleActivity) and cmd.future and not cmd.future.done():
                cmd.future.set_exception(
                    activity_error(
                        cmd, CancelledError("activity cancelled"), "CANCEL_REQUESTED"
                    )
                )
        case ev.TimerFired():
            cmd = instance.by_event.pop(event.started_event_id, None)
            if isinstance(cmd, StartTimer) and cmd.handle is not None:
                cmd.fired = True
                if not cmd.handle._cancelled:
                    instance.loop._ready.append(cmd.handle)
        case ev.WorkflowExecutionSignaled():
            instance._deliver_signal(event.signal_name, event.input)
        case ev.WorkflowExecutionCancelRequested():
            instance.cancel_requested = True
            if instance.main_task is not None:
                instance.main_task.cancel()
        case ev.ChildWorkflowExecutionStarted():
            cmd = instance.by_event.get(event.initiated_event_id)
            if isinstance(cmd, StartChildWorkflow) and cmd.started and not cmd.started.done():
                cmd.started.set_result(event.run_id)
        case ev.StartChildWorkflowExecutionFailed():
            cmd = instance.by_event.pop(event.initiated_event_id, None)
            if isinstance(cmd, StartChildWorkflow):
                # The engine records why; an unregistered type is not an id clash.
                error_type = (
                    UnknownWorkflowError
                    if event.cause.startswith("unknown workflow type")
                    else WorkflowAlreadyStartedError
                )
                error = error_type(
                    f"child workflow id {cmd.workflow_id!r} could not start: {event.cause}"
                )
                for fut in (cmd.started, cmd.result):
                    if fut is not None and not fut.done():
                        fut.set_exception(error)
                if cmd.result is not None:
                    # Whoever awaited the start saw the error; the result future that was
                    # never handed out must not complain that nobody retrieved it.
                    cmd.result.exception()
        case ev.ChildWorkflowExecutionCompleted():
            cmd = instance.by_event.pop(event.initiated_event_id, None)
            if isinstance(cmd, StartChildWorkflow) and cmd.result and not cmd.result.done():
                cmd.result.set_result(decode(event.result, cmd.result_hint))
        case ev.ChildWorkflowExecutionFailed():
            cmd = instance.by_event.pop(event.initiated_event_id, None)
            if isinstance(cmd, StartChildWorkflow) and cmd.result and not cmd.result.done():
                cmd.result.set_exception(
                    child_error(cmd, decode_failure(event.failure), event.retry_state)
                )
        case ev.ChildWorkflowExecutionTerminated():
            cmd = instance.by_event.pop(event.initiated_event_id, None)
            if isinstance(cmd, StartChildWorkflow) and cmd.result and not cmd.result.done():
                cmd.result.set_exception(
                    child_error(cmd, TerminatedError("Terminated"), "NON_RETRYABLE_FAILURE")
                )
        case ev.ChildWorkflowExecutionCanceled():
            cmd = instance.by_event.pop(event.initiated_event_id, None)
            if isinstance(cmd, StartChildWorkflow) and cmd.result and not cmd.result.done():
                cmd.result.set_exception(
                    # Temporal reports a cancelled child as not retryable.
                    child_error(
                        cmd, CancelledError("child workflow cancelled"), "NON_RETRYABLE_FAILURE"
                    )
                )
        case (
            ev.WorkflowExecutionStarted()
            | ev.WorkflowTaskCompleted()
            | ev.ActivityTaskStarted()
            | ev.ActivityTaskScheduled()
            | ev.ActivityTaskCancelRequested()
            | ev.TimerStarted()
            | ev.TimerCanceled()
            | ev.MarkerRecorded()
            | ev.StartChildWorkflowExecutionInitiated()
            | ev.RequestCancelChildWorkflowExecution()
            | ev.WorkflowExecutionCompleted()
            | ev.WorkflowExecutionFailed()
            | ev.WorkflowExecutionCanceled()
            | ev.WorkflowExecutionContinuedAsNew()
            | ev.WorkflowExecutionTerminated()
            | ev.WorkflowExecutionUpdateAccepted()
            | ev.WorkflowExecutionUpdateCompleted()
            | ev.UpsertWorkflowSearchAttributes()
            | ev.WorkflowPropertiesModified()
        ):
            # The run's start, task boundaries and the workflow's own commands answer nothing;
            # a termination closes the run without another task.
            pass
        case _:
            assert_never(event)

def activity_error(
    cmd: ScheduleActivity, cause: BaseException, retry_state: str | None
) -> ActivityError:
    error = ActivityError(
        f"activity {cmd.activity_type!r} (id {cmd.activity_id!r}) failed",
        activity_type=cmd.activity_type,
        activity_id=cmd.activity_id,
        scheduled_event_id=cmd.event_id or 0,
        retry_state=RetryState(retry_state) if retry_state else None,
    )
    error.__cause__ = cause
    return error

def child_error(
    cmd: StartChildWorkflow, cause: BaseException, retry_state: str | None
) -> ChildWorkflowError:
    run_id = ""
    if cmd.started is not None and cmd.started.done() and not cmd.started.exception():
        run_id = cmd.started.result()
    error = ChildWorkflowError(
        f"child workflow {cmd.workflow_type!r} (id {cmd.workflow_id!r}) failed",
        workflow_type=cmd.workflow_type,
        workflow_id=cmd.workflow_id,
        run_id=run_id,
        retry_state=RetryState(retry_state) if retry_state else None,
    )
    error.__cause__ = cause
    return error
