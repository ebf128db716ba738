"""The order in which results that arrive together are recorded: one fixed order.

Results of a workflow's own commands (activity outcomes, timers firing, child workflow notices)
that arrive between two of its workflow tasks share one virtual instant: the host loop cannot
jump time while a task is queued. On a server they would still arrive one after another, and
the history would record them in that order; here "which came first" is only the host loop's
choice among callbacks due at the same nanosecond (FIFO, or ``loop.tie_break``). So the engine
holds them until the task is taken and records them in a canonical order instead: by the event
id of the command they resolve (the order the workflow issued its commands), a command's own
events (an activity's started and completed) keeping their order. Whatever order they fired
in, the history, and so what the workflow sees, is the same. See docs/semantics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from . import _events as ev

_BY_SCHEDULED = attrgetter("scheduled_event_id")
_BY_STARTED = attrgetter("started_event_id")
_BY_INITIATED = attrgetter("initiated_event_id")

#: The input events that resolve a command, and how to read that command's event id.
RESOLVED_COMMAND: dict[type[ev.Event], Callable[[ev.Event], int]] = {
    ev.ActivityTaskStarted: _BY_SCHEDULED,
    ev.ActivityTaskCompleted: _BY_SCHEDULED,
    ev.ActivityTaskFailed: _BY_SCHEDULED,
    ev.ActivityTaskTimedOut: _BY_SCHEDULED,
    ev.ActivityTaskCanceled: _BY_SCHEDULED,
    ev.TimerFired: _BY_STARTED,
    ev.StartChildWorkflowExecutionFailed: _BY_INITIATED,
    ev.ChildWorkflowExecutionStarted: _BY_INITIATED,
    ev.ChildWorkflowExecutionCompleted: _BY_INITIATED,
    ev.ChildWorkflowExecutionFailed: _BY_INITIATED,
    ev.ChildWorkflowExecutionCanceled: _BY_INITIATED,
    ev.ChildWorkflowExecutionTerminated: _BY_INITIATED,
}


def _command_id(event: ev.Event) -> int:
    return RESOLVED_COMMAND[type(event)](event)


def canonical_order(arrivals: Sequence[ev.Event]) -> list[ev.Event]:
    """``arrivals`` sorted by the id of the command each resolves.

    The sort is stable: each command's own events (started, then completed; a child started,
    then closed) keep their arrival order.
    """
    return sorted(arrivals, key=_command_id)
