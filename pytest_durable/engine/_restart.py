"""Restarting from the store: every open run's host state rebuilt from its history.

The store is the truth. A restart throws away what the engine holds in memory for open runs
(workflow instances, activity attempts in flight, timers, activity records, the task queue) and
rebuilds it from two things the store holds:

- the run's **history**, read by :func:`~._restore.open_work` (a pure function): timers started
  and not fired or cancelled (re-armed at their recorded due time), activities scheduled and
  not closed, cancellations the workflow asked for and the server has not carried out, the
  children it started, a cancellation request for the run, and whether a workflow task is due;
- the **progress** kept beside it (``Store.save_progress``), for what history does not hold:
  an activity's current attempt number, its last heartbeat details and the due time of a retry
  backoff under way, and the due time of a workflow retry. The engine writes progress only when
  it changes from the default (a retry is decided, a heartbeat arrives), so the common path
  (an activity that succeeds on its first attempt) writes none.

An attempt that was running when the engine restarted is lost with its worker; it is
dispatched again under the same attempt number (its work may happen twice: the at-least-once
case idempotency keys exist for). What the engine keeps is only the identity of each workflow
id and run (so handles stay valid) and the registries of workflow and activity code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..common import RetryPolicy
from . import _events as ev
from ._restore import OpenWork, open_work

if TYPE_CHECKING:
    from ._engine import Engine
    from ._runs import _Run

ACTIVITY_PROGRESS = "activity/{}"
"""Progress name of the activity scheduled at event {} (attempt, heartbeat details, retry due)."""

WORKFLOW_RETRY = "workflow-retry-due-ns"
"""Progress name of a failed run's next attempt's due time, while its backoff runs."""


def task_due(events: Sequence[ev.Event]) -> bool:
    """Whether the history holds input events that no workflow task has processed yet."""
    for event in reversed(events):
        if type(event) is ev.WorkflowTaskCompleted:
            return False
        if not event.is_command:
            return True
    return False


def restore_host(engine: Engine, run: _Run, work: OpenWork, progress: dict[str, Any]) -> None:
    """Arm what ``work`` leaves open for ``run``: timers, activities, cancellations, a task."""
    run.cancel_requested = work.cancel_requested
    for timer in work.timers:
        run.timers[timer.event_id] = engine.clock.call_at(
            engine.loop, timer.time_ns + timer.duration_ns, engine._timer_fired, run, timer
        )
    server = engine._activities
    for scheduled in work.activities:
        policy = scheduled.retry_policy
        saved = progress.get(ACTIVITY_PROGRESS.format(scheduled.event_id))
        server.schedule(
            run,
            scheduled,
            RetryPolicy.from_json(policy) if policy is not None else None,
            progress=saved,
        )
    for scheduled_event_id in sorted(work.cancelling):
        server.cancel(run, scheduled_event_id)
    for initiated in work.children:
        run.children[initiated.event_id] = initiated.workflow_id
    if task_due(run.events):
        engine._schedule_task(run)


def restart(engine: Engine) -> int:
    """Lose everything in memory and rebuild every open run from the store; returns how many.

    Called between host-loop callbacks (never from inside a workflow task or an observer).
    """
    for execution in engine.executions.values():
        run = execution.current
        if run.arrivals:
            # The server had accepted these results: they are in the store before it restarts.
            engine._record_arrivals(run)
    engine.activity_worker.kill()
    engine._activities.forget_all()
    rebuilt = 0
    for execution in engine.executions.values():
        for run in execution.runs:
            engine._evict(run)
            for timer in run.timers.values():
                timer.cancel()
            run.timers.clear()
            run.children.clear()
        run = execution.current
        if execution.retry_timer is not None:
            # A store that keeps no progress loses the backoff: the next attempt starts now.
            due = engine.store.read_progress(run.key).get(WORKFLOW_RETRY, engine.clock.now_ns())
            execution.retry_timer.cancel()
            assert execution.retry_next is not None
            execution.retry_timer = engine.clock.call_at(engine.loop, due, execution.retry_next)
        if run.closed:
            continue
        run.events = engine.store.read(run.key)
        run.delivered = 0
        run.conflicts = 0
        restore_host(engine, run, open_work(run.events), engine.store.read_progress(run.key))
        rebuilt += 1
    return rebuilt
