"""How workflow commands become history events."""

from __future__ import annotations

from collections.abc import Callable

from . import _events as ev
from ._commands import (
    CancelTimer,
    CancelWorkflow,
    Command,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    RecordMarker,
    RequestCancelActivity,
    RequestCancelChild,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
)


def command_to_event(
    command: Command, event_id: int, now: int, new_run_id: Callable[[], str]
) -> ev.Event:
    """The history event a workflow command becomes, numbered ``event_id`` at time ``now``."""
    match command:
        case ScheduleActivity():
            return ev.ActivityTaskScheduled(
                event_id=event_id,
                time_ns=now,
                activity_id=command.activity_id,
                activity_type=command.activity_type,
                input=command.args,
                schedule_to_close_timeout_ns=command.schedule_to_close_ns,
                schedule_to_start_timeout_ns=command.schedule_to_start_ns,
                start_to_close_timeout_ns=command.start_to_close_ns,
                heartbeat_timeout_ns=command.heartbeat_ns,
                retry_policy=command.retry_policy.to_json() if command.retry_policy else None,
            )
        case StartTimer():
            return ev.TimerStarted(
                event_id=event_id,
                time_ns=now,
                timer_id=str(command.seq),
                duration_ns=command.duration_ns,
            )
        case CancelTimer():
            assert command.target.event_id is not None
            return ev.TimerCanceled(
                event_id=event_id, time_ns=now, started_event_id=command.target.event_id
            )
        case RequestCancelActivity():
            assert command.target.event_id is not None
            return ev.ActivityTaskCancelRequested(
                event_id=event_id, time_ns=now, scheduled_event_id=command.target.event_id
            )
        case RecordMarker():
            return ev.MarkerRecorded(
                event_id=event_id,
                time_ns=now,
                marker_name=command.name,
                details=command.details,
            )
        case StartChildWorkflow():
            return ev.StartChildWorkflowExecutionInitiated(
                event_id=event_id,
                time_ns=now,
                workflow_type=command.workflow_type,
                workflow_id=command.workflow_id,
                input=command.args,
                retry_policy=command.retry_policy.to_json() if command.retry_policy else None,
            )
        case RequestCancelChild():
            assert command.target.event_id is not None
            return ev.RequestCancelChildWorkflowExecution(
                event_id=event_id, time_ns=now, initiated_event_id=command.target.event_id
            )
        case CompleteWorkflow():
            return ev.WorkflowExecutionCompleted(
                event_id=event_id, time_ns=now, result=command.result
            )
        case FailWorkflow():
            return ev.WorkflowExecutionFailed(
                event_id=event_id, time_ns=now, failure=command.failure
            )
        case CancelWorkflow():
            return ev.WorkflowExecutionCanceled(event_id=event_id, time_ns=now)
        case ContinueAsNew():
            return ev.WorkflowExecutionContinuedAsNew(
                event_id=event_id,
                time_ns=now,
                new_run_id=new_run_id(),
                workflow_type=command.workflow_type,
                input=command.args,
            )
    raise AssertionError(f"unhandled command {command!r}")
