"""Our histories in Temporal's history format.

Export writes what a Temporal server would have recorded for the same run: each workflow task
becomes its scheduled/started/completed triple, ids are renumbered, and every reference
(scheduled, started, initiated, workflow-task-completed event ids) follows. The result is
``temporalio.client.WorkflowHistory`` (``to_json()`` is what ``temporal workflow show --output
json`` prints), which temporalio's own ``Replayer`` replays. Import, the inverse, is in
``_history_import``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import temporalio.client
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.history.v1 import HistoryEvent

from ..engine import _events as ev
from ..engine._history import History
from ..errors import HistoryFormatError
from ._convert import to_failure, to_payload, to_payloads
from ._history_updates import export_accepted, export_completed
from ._instance import NAMESPACE, TASK_QUEUE
from ._markers import export_marker

_TASK_TIMEOUT = timedelta(seconds=10)
_IDENTITY = "pytest-durable"


def _retry_state(name: str | None) -> int:
    return RetryState.Value(f"RETRY_STATE_{name}") if name else 0


class _Exporter:
    def __init__(self) -> None:
        self.out: list[HistoryEvent] = []
        self.ids: dict[int, int] = {}
        self.last_completed = 0
        self.started_for: dict[int, int] = {}  # our scheduled id -> Temporal started id
        self.timer_ids: dict[int, str] = {}
        self.children: dict[int, ev.StartChildWorkflowExecutionInitiated] = {}
        self.child_started: dict[int, int] = {}
        self.child_run: dict[int, str] = {}
        self.cancels_delivered: list[tuple[ev.RequestCancelChildWorkflowExecution, int]] = []

    def new(self, event: ev.Event, kind: str) -> HistoryEvent:
        out = HistoryEvent(event_id=len(self.out) + 1, event_type=EventType.Value(kind))
        out.event_time.FromNanoseconds(event.time_ns)
        self.out.append(out)
        self.ids[event.event_id] = out.event_id
        return out

    def ref(self, our_id: int) -> int:
        return self.ids[our_id]

    def delivered(self) -> None:
        """Record that the child cancel requests of the last task reached their children."""
        for event, initiated in self.cancels_delivered:
            out = self.new(event, "EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
            self.ids[event.event_id] = initiated  # our event is the initiated one
            ec = out.external_workflow_execution_cancel_requested_event_attributes
            ec.initiated_event_id = initiated
            ec.namespace = NAMESPACE
            child = self.children[event.initiated_event_id]
            ec.workflow_execution.workflow_id = child.workflow_id
            ec.workflow_execution.run_id = self.child_run.get(event.initiated_event_id, "")
        self.cancels_delivered.clear()

    def export(self, event: ev.Event) -> None:
        if self.cancels_delivered and not event.is_command:
            self.delivered()
        match event:
            case ev.WorkflowExecutionStarted():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED")
                attrs = out.workflow_execution_started_event_attributes
                attrs.workflow_type.name = event.workflow_type
                attrs.task_queue.name = TASK_QUEUE
                attrs.input.payloads.extend(to_payloads(event.input))
                attrs.workflow_task_timeout.FromTimedelta(_TASK_TIMEOUT)
                attrs.original_execution_run_id = event.run_id
                attrs.first_execution_run_id = event.first_run_id or event.run_id
                attrs.continued_execution_run_id = event.continued_from_run_id or ""
                attrs.attempt = event.attempt
                attrs.identity = _IDENTITY
                if event.parent_workflow_id is not None:
                    attrs.parent_workflow_namespace = NAMESPACE
                    attrs.parent_workflow_execution.workflow_id = event.parent_workflow_id
                    attrs.parent_workflow_execution.run_id = event.parent_run_id or ""
                # The seed is ours: a Temporal replay derives its own from the run id.
            case ev.WorkflowTaskCompleted():
                scheduled = self.new(event, "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED")
                sattrs = scheduled.workflow_task_scheduled_event_attributes
                sattrs.task_queue.name = TASK_QUEUE
                sattrs.start_to_close_timeout.FromTimedelta(_TASK_TIMEOUT)
                sattrs.attempt = 1
                started = self.new(event, "EVENT_TYPE_WORKFLOW_TASK_STARTED")
                stattrs = started.workflow_task_started_event_attributes
                stattrs.scheduled_event_id = scheduled.event_id
                stattrs.identity = _IDENTITY
                completed = self.new(event, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED")
                cattrs = completed.workflow_task_completed_event_attributes
                cattrs.scheduled_event_id = scheduled.event_id
                cattrs.started_event_id = started.event_id
                cattrs.identity = _IDENTITY
                self.last_completed = completed.event_id
            case ev.ActivityTaskScheduled():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
                a = out.activity_task_scheduled_event_attributes
                a.activity_id = event.activity_id
                a.activity_type.name = event.activity_type
                a.task_queue.name = TASK_QUEUE
                a.input.payloads.extend(to_payloads(event.input))
                for field, ns in (
                    (a.schedule_to_close_timeout, event.schedule_to_close_timeout_ns),
                    (a.schedule_to_start_timeout, event.schedule_to_start_timeout_ns),
                    (a.start_to_close_timeout, event.start_to_close_timeout_ns),
                    (a.heartbeat_timeout, event.heartbeat_timeout_ns),
                ):
                    if ns is not None:
                        field.FromNanoseconds(ns)
                a.workflow_task_completed_event_id = self.last_completed
            case ev.ActivityTaskStarted():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_STARTED")
                st = out.activity_task_started_event_attributes
                st.scheduled_event_id = self.ref(event.scheduled_event_id)
                st.attempt = event.attempt
                st.identity = _IDENTITY
                self.started_for[event.scheduled_event_id] = out.event_id
            case ev.ActivityTaskCompleted():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED")
                c = out.activity_task_completed_event_attributes
                c.result.payloads.append(to_payload(event.result))
                c.scheduled_event_id = self.ref(event.scheduled_event_id)
                c.started_event_id = self.started_for.get(event.scheduled_event_id, 0)
            case ev.ActivityTaskFailed():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_FAILED")
                f = out.activity_task_failed_event_attributes
                f.failure.CopyFrom(to_failure(event.failure))
                f.scheduled_event_id = self.ref(event.scheduled_event_id)
                f.started_event_id = self.started_for.get(event.scheduled_event_id, 0)
                f.retry_state = _retry_state(event.retry_state)  # type: ignore[assignment]
            case ev.ActivityTaskTimedOut():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT")
                t = out.activity_task_timed_out_event_attributes
                t.failure.CopyFrom(to_failure(event.failure))
                t.scheduled_event_id = self.ref(event.scheduled_event_id)
                t.started_event_id = self.started_for.get(event.scheduled_event_id, 0)
                t.retry_state = _retry_state(event.retry_state)  # type: ignore[assignment]
            case ev.ActivityTaskCancelRequested():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED")
                r = out.activity_task_cancel_requested_event_attributes
                r.scheduled_event_id = self.ref(event.scheduled_event_id)
                r.workflow_task_completed_event_id = self.last_completed
            case ev.ActivityTaskCanceled():
                out = self.new(event, "EVENT_TYPE_ACTIVITY_TASK_CANCELED")
                cn = out.activity_task_canceled_event_attributes
                cn.scheduled_event_id = self.ref(event.scheduled_event_id)
                cn.started_event_id = self.started_for.get(event.scheduled_event_id, 0)
            case ev.TimerStarted():
                out = self.new(event, "EVENT_TYPE_TIMER_STARTED")
                ts = out.timer_started_event_attributes
                ts.timer_id = event.timer_id
                ts.start_to_fire_timeout.FromNanoseconds(event.duration_ns)
                ts.workflow_task_completed_event_id = self.last_completed
                self.timer_ids[event.event_id] = event.timer_id
            case ev.TimerFired():
                out = self.new(event, "EVENT_TYPE_TIMER_FIRED")
                tf = out.timer_fired_event_attributes
                tf.timer_id = self.timer_ids[event.started_event_id]
                tf.started_event_id = self.ref(event.started_event_id)
            case ev.TimerCanceled():
                out = self.new(event, "EVENT_TYPE_TIMER_CANCELED")
                tc = out.timer_canceled_event_attributes
                tc.timer_id = self.timer_ids[event.started_event_id]
                tc.started_event_id = self.ref(event.started_event_id)
                tc.workflow_task_completed_event_id = self.last_completed
            case ev.MarkerRecorded():
                out = self.new(event, "EVENT_TYPE_MARKER_RECORDED")
                m = out.marker_recorded_event_attributes
                export_marker(event.event_id, event.marker_name, event.details, m)
                m.workflow_task_completed_event_id = self.last_completed
            case ev.UpsertWorkflowSearchAttributes():
                out = self.new(event, "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
                up = out.upsert_workflow_search_attributes_event_attributes
                for name, value in event.search_attributes.items():
                    up.search_attributes.indexed_fields[name].CopyFrom(to_payload(value))
                up.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowPropertiesModified():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED")
                pm = out.workflow_properties_modified_event_attributes
                for key, value in event.upserted_memo.items():
                    pm.upserted_memo.fields[key].CopyFrom(to_payload(value))
                pm.workflow_task_completed_event_id = self.last_completed
            case ev.RequestCancelChildWorkflowExecution():
                # Temporal cancels a child as an external workflow (child only); the server
                # then records that the request reached it, which is input to the next task.
                kind = "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"
                out = self.new(event, kind)
                rc = out.request_cancel_external_workflow_execution_initiated_event_attributes
                child = self.children[event.initiated_event_id]
                rc.namespace = NAMESPACE
                rc.workflow_execution.workflow_id = child.workflow_id
                rc.workflow_execution.run_id = self.child_run.get(event.initiated_event_id, "")
                rc.child_workflow_only = True
                rc.workflow_task_completed_event_id = self.last_completed
                self.cancels_delivered.append((event, out.event_id))
            case ev.WorkflowExecutionSignaled():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
                sg = out.workflow_execution_signaled_event_attributes
                sg.signal_name = event.signal_name
                sg.input.payloads.extend(to_payloads(event.input))
                sg.identity = _IDENTITY
            case ev.WorkflowExecutionCancelRequested():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
                out.workflow_execution_cancel_requested_event_attributes.cause = event.reason
            case ev.StartChildWorkflowExecutionInitiated():
                out = self.new(event, "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED")
                ci = out.start_child_workflow_execution_initiated_event_attributes
                ci.namespace = NAMESPACE
                ci.workflow_id = event.workflow_id
                ci.workflow_type.name = event.workflow_type
                ci.task_queue.name = TASK_QUEUE
                ci.input.payloads.extend(to_payloads(event.input))
                ci.workflow_task_timeout.FromTimedelta(_TASK_TIMEOUT)
                ci.workflow_task_completed_event_id = self.last_completed
                self.children[event.event_id] = event
            case ev.ChildWorkflowExecutionStarted():
                out = self.new(event, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED")
                cs = out.child_workflow_execution_started_event_attributes
                self._child(cs, event.initiated_event_id, event.run_id)
                self.child_started[event.initiated_event_id] = out.event_id
                self.child_run[event.initiated_event_id] = event.run_id
            case ev.ChildWorkflowExecutionCompleted():
                out = self.new(event, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED")
                cc = out.child_workflow_execution_completed_event_attributes
                self._child(cc, event.initiated_event_id)
                cc.started_event_id = self.child_started.get(event.initiated_event_id, 0)
                cc.result.payloads.append(to_payload(event.result))
            case ev.ChildWorkflowExecutionFailed():
                out = self.new(event, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED")
                cf = out.child_workflow_execution_failed_event_attributes
                self._child(cf, event.initiated_event_id)
                cf.started_event_id = self.child_started.get(event.initiated_event_id, 0)
                cf.failure.CopyFrom(to_failure(event.failure))
                cf.retry_state = _retry_state(event.retry_state)  # type: ignore[assignment]
            case ev.ChildWorkflowExecutionCanceled():
                out = self.new(event, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED")
                cx = out.child_workflow_execution_canceled_event_attributes
                self._child(cx, event.initiated_event_id)
                cx.started_event_id = self.child_started.get(event.initiated_event_id, 0)
            case ev.StartChildWorkflowExecutionFailed():
                out = self.new(event, "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED")
                sf = out.start_child_workflow_execution_failed_event_attributes
                child = self.children[event.initiated_event_id]
                sf.namespace = NAMESPACE
                sf.workflow_id = child.workflow_id
                sf.workflow_type.name = child.workflow_type
                sf.initiated_event_id = self.ref(event.initiated_event_id)
                sf.cause = 1  # type: ignore[assignment]  # WORKFLOW_ALREADY_EXISTS
                sf.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowExecutionCompleted():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED")
                wc = out.workflow_execution_completed_event_attributes
                wc.result.payloads.append(to_payload(event.result))
                wc.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowExecutionFailed():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED")
                wf = out.workflow_execution_failed_event_attributes
                wf.failure.CopyFrom(to_failure(event.failure))
                wf.retry_state = _retry_state("RETRY_POLICY_NOT_SET")  # type: ignore[assignment]
                wf.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowExecutionCanceled():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED")
                canceled = out.workflow_execution_canceled_event_attributes
                canceled.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowExecutionTerminated():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED")
                term = out.workflow_execution_terminated_event_attributes
                term.reason = event.reason
                term.details.payloads.extend(to_payloads(event.details))
                term.identity = _IDENTITY
            case ev.ChildWorkflowExecutionTerminated():
                out = self.new(event, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED")
                ct = out.child_workflow_execution_terminated_event_attributes
                self._child(ct, event.initiated_event_id)
                ct.started_event_id = self.child_started.get(event.initiated_event_id, 0)
            case ev.WorkflowExecutionContinuedAsNew():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW")
                wn = out.workflow_execution_continued_as_new_event_attributes
                wn.new_execution_run_id = event.new_run_id
                wn.workflow_type.name = event.workflow_type
                wn.task_queue.name = TASK_QUEUE
                wn.input.payloads.extend(to_payloads(event.input))
                wn.workflow_task_timeout.FromTimedelta(_TASK_TIMEOUT)
                wn.workflow_task_completed_event_id = self.last_completed
            case ev.WorkflowExecutionUpdateAccepted():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
                export_accepted(out, event, task_started_id=self.last_completed - 1)
            case ev.WorkflowExecutionUpdateCompleted():
                out = self.new(event, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED")
                export_completed(out, event, self.ref(event.accepted_event_id))
            case _:
                raise HistoryFormatError(
                    f"event {event.event_id} ({event.kind}) has no Temporal equivalent"
                )

    def _child(self, attrs: Any, initiated: int, run_id: str | None = None) -> None:
        child = self.children[initiated]
        attrs.namespace = NAMESPACE
        attrs.workflow_execution.workflow_id = child.workflow_id
        attrs.workflow_execution.run_id = run_id or self.child_run.get(initiated, "")
        attrs.workflow_type.name = child.workflow_type
        attrs.initiated_event_id = self.ref(initiated)


def to_temporal_events(events: Sequence[ev.Event]) -> list[HistoryEvent]:
    """Temporal's history events for one run of ours (see the module docstring)."""
    exporter = _Exporter()
    for event in events:
        exporter.export(event)
    exporter.delivered()
    return exporter.out


def to_workflow_history(events: Sequence[ev.Event] | History) -> temporalio.client.WorkflowHistory:
    """A run's history as ``temporalio.client.WorkflowHistory`` (``.to_json()`` for the file)."""
    seq = list(events.events if isinstance(events, History) else events)
    if not seq or not isinstance(seq[0], ev.WorkflowExecutionStarted):
        raise HistoryFormatError("a history starts with WorkflowExecutionStarted")
    return temporalio.client.WorkflowHistory(seq[0].workflow_id, to_temporal_events(seq))


def to_temporal_json(events: Sequence[ev.Event] | History) -> str:
    """A run's history as Temporal's history JSON."""
    return to_workflow_history(events).to_json()
