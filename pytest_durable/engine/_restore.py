"""What a run left open, read from its history: the host work a resumed run must pick up.

A history records every decision, so the work in flight when it stops can be read back from it
alone: timers started and neither fired nor cancelled, activities scheduled and not closed
(with any cancellation the workflow asked for), children initiated and not closed, and a
cancellation request for the run itself. What history does not record (the attempt in flight,
its heartbeat details, a retry backoff under way) starts again from the beginning: the
activity's next attempt is attempt 1, as when Temporal's server restarts an activity whose
state it lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import _events as ev


@dataclass(frozen=True, slots=True)
class OpenWork:
    """The work a run's history leaves open, each as the event that began it, in order."""

    timers: tuple[ev.TimerStarted, ...]
    activities: tuple[ev.ActivityTaskScheduled, ...]
    #: Scheduled event ids of open activities whose cancellation the workflow requested.
    cancelling: frozenset[int]
    children: tuple[ev.StartChildWorkflowExecutionInitiated, ...]
    cancel_requested: bool


def open_work(events: Sequence[ev.Event]) -> OpenWork:
    """Read the open work off ``events`` (a pure function of the history)."""
    timers: dict[int, ev.TimerStarted] = {}
    activities: dict[int, ev.ActivityTaskScheduled] = {}
    cancelling: set[int] = set()
    children: dict[int, ev.StartChildWorkflowExecutionInitiated] = {}
    cancel_requested = False
    for event in events:
        match event:
            case ev.TimerStarted():
                timers[event.event_id] = event
            case ev.TimerFired() | ev.TimerCanceled():
                timers.pop(event.started_event_id, None)
            case ev.ActivityTaskScheduled():
                activities[event.event_id] = event
            case ev.ActivityTaskCancelRequested():
                cancelling.add(event.scheduled_event_id)
            case (
                ev.ActivityTaskCompleted()
                | ev.ActivityTaskFailed()
                | ev.ActivityTaskTimedOut()
                | ev.ActivityTaskCanceled()
            ):
                activities.pop(event.scheduled_event_id, None)
                cancelling.discard(event.scheduled_event_id)
            case ev.StartChildWorkflowExecutionInitiated():
                children[event.event_id] = event
            case (
                ev.StartChildWorkflowExecutionFailed()
                | ev.ChildWorkflowExecutionCompleted()
                | ev.ChildWorkflowExecutionFailed()
                | ev.ChildWorkflowExecutionCanceled()
                | ev.ChildWorkflowExecutionTerminated()
            ):
                children.pop(event.initiated_event_id, None)
            case ev.WorkflowExecutionCancelRequested():
                cancel_requested = True
            case _:
                pass
    return OpenWork(
        timers=tuple(timers.values()),
        activities=tuple(activities.values()),
        cancelling=frozenset(cancelling),
        children=tuple(children.values()),
        cancel_requested=cancel_requested,
    )
