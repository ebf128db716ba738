"""Temporal's histories in our history format: the inverse of ``_history``'s export.

For histories exported from a Temporal cluster (or by us): the workflow task triples become one
``WorkflowTaskCompleted``, ids are renumbered and references follow; event kinds the engine does
not have are refused by name (docs/temporal.md lists them).
"""

from __future__ import annotations

import json
from typing import Any

import temporalio.client
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.history.v1 import HistoryEvent

from ..engine import _events as ev
from ..engine._history import History
from ..errors import HistoryFormatError
from ._convert import from_failure, to_value, to_values
from ._history_updates import import_accepted, import_completed
from ._markers import import_marker


def _retry_state_name(value: int) -> str:
    name = str(RetryState.Name(value)).removeprefix("RETRY_STATE_")  # type: ignore[arg-type]
    return "RETRY_POLICY_NOT_SET" if name == "UNSPECIFIED" else name


_SKIPPED = {
    "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
    "EVENT_TYPE_WORKFLOW_TASK_STARTED",
    "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT",
    "EVENT_TYPE_WORKFLOW_TASK_FAILED",
    "EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
}


class _Importer:
    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.out: list[ev.Event] = []
        self.ids: dict[int, int] = {}
        #: Child workflow id -> our initiated event id (a child cancel names the workflow).
        self.children: dict[str, int] = {}
        self.run_id = ""

    def ref(self, temporal_id: int, what: str, event: HistoryEvent) -> int:
        found = self.ids.get(temporal_id)
        if found is None:
            raise HistoryFormatError(
                f"event {event.event_id} refers to {what} event {temporal_id}, which the "
                "history does not hold"
            )
        return found

    def add(self, source: HistoryEvent, cls: type[ev.Event], **fields: Any) -> None:
        event = cls(event_id=len(self.out) + 1, time_ns=source.event_time.ToNanoseconds(), **fields)
        self.out.append(event)
        self.ids[source.event_id] = event.event_id

    def take(self, e: HistoryEvent) -> None:
        kind = EventType.Name(e.event_type)
        if kind in _SKIPPED:
            return
        if kind == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED":
            a = e.workflow_execution_started_event_attributes
            self.run_id = a.original_execution_run_id or a.first_execution_run_id
            self.add(
                e,
                ev.WorkflowExecutionStarted,
                workflow_type=a.workflow_type.name,
                workflow_id=self.workflow_id,
                run_id=self.run_id,
                input=to_values(a.input.payloads),
                randomness_seed=0,
                attempt=a.attempt or 1,
                parent_workflow_id=a.parent_workflow_execution.workflow_id or None,
                parent_run_id=a.parent_workflow_execution.run_id or None,
                continued_from_run_id=a.continued_execution_run_id or None,
                first_run_id=a.first_execution_run_id or None,
            )
        elif kind == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED":
            self.add(e, ev.WorkflowTaskCompleted)
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            s = e.activity_task_scheduled_event_attributes

            def ns(d: Any) -> int | None:
                return int(d.ToNanoseconds()) if d.ByteSize() else None

            self.add(
                e,
                ev.ActivityTaskScheduled,
                activity_id=s.activity_id,
                activity_type=s.activity_type.name,
                input=to_values(s.input.payloads),
                schedule_to_close_timeout_ns=ns(s.schedule_to_close_timeout),
                schedule_to_start_timeout_ns=ns(s.schedule_to_start_timeout),
                start_to_close_timeout_ns=ns(s.start_to_close_timeout),
                heartbeat_timeout_ns=ns(s.heartbeat_timeout),
            )
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_STARTED":
            st = e.activity_task_started_event_attributes
            self.add(
                e,
                ev.ActivityTaskStarted,
                scheduled_event_id=self.ref(st.scheduled_event_id, "scheduled", e),
                attempt=st.attempt or 1,
            )
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED":
            c = e.activity_task_completed_event_attributes
            self.add(
                e,
                ev.ActivityTaskCompleted,
                scheduled_event_id=self.ref(c.scheduled_event_id, "scheduled", e),
                result=to_value(c.result.payloads[0]) if c.result.payloads else None,
            )
        elif kind in ("EVENT_TYPE_ACTIVITY_TASK_FAILED", "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT"):
            f = (
                e.activity_task_failed_event_attributes
                if kind == "EVENT_TYPE_ACTIVITY_TASK_FAILED"
                else e.activity_task_timed_out_event_attributes
            )
            cls = ev.ActivityTaskFailed if "FAILED" in kind else ev.ActivityTaskTimedOut
            self.add(
                e,
                cls,
                scheduled_event_id=self.ref(f.scheduled_event_id, "scheduled", e),
                failure=from_failure(f.failure),
                retry_state=_retry_state_name(f.retry_state),
            )
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED":
            r = e.activity_task_cancel_requested_event_attributes
            self.add(
                e,
                ev.ActivityTaskCancelRequested,
                scheduled_event_id=self.ref(r.scheduled_event_id, "scheduled", e),
            )
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_CANCELED":
            cn = e.activity_task_canceled_event_attributes
            self.add(
                e,
                ev.ActivityTaskCanceled,
                scheduled_event_id=self.ref(cn.scheduled_event_id, "scheduled", e),
            )
        elif kind == "EVENT_TYPE_TIMER_STARTED":
            ts = e.timer_started_event_attributes
            self.add(
                e,
                ev.TimerStarted,
                timer_id=ts.timer_id,
                duration_ns=int(ts.start_to_fire_timeout.ToNanoseconds()),
            )
        elif kind == "EVENT_TYPE_TIMER_FIRED":
            tf = e.timer_fired_event_attributes
            self.add(e, ev.TimerFired, started_event_id=self.ref(tf.started_event_id, "timer", e))
        elif kind == "EVENT_TYPE_TIMER_CANCELED":
            tc = e.timer_canceled_event_attributes
            self.add(
                e, ev.TimerCanceled, started_event_id=self.ref(tc.started_event_id, "timer", e)
            )
        elif kind == "EVENT_TYPE_MARKER_RECORDED":
            name, details = import_marker(e.event_id, e.marker_recorded_event_attributes)
            self.add(e, ev.MarkerRecorded, marker_name=name, details=details)
        elif kind == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            upserted = e.upsert_workflow_search_attributes_event_attributes.search_attributes
            self.add(
                e,
                ev.UpsertWorkflowSearchAttributes,
                search_attributes={k: to_value(v) for k, v in upserted.indexed_fields.items()},
            )
        elif kind == "EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED":
            memo = e.workflow_properties_modified_event_attributes.upserted_memo
            self.add(
                e,
                ev.WorkflowPropertiesModified,
                upserted_memo={k: to_value(v) for k, v in memo.fields.items()},
            )
        elif kind == "EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED":
            rc = e.request_cancel_external_workflow_execution_initiated_event_attributes
            initiated = self.children.get(rc.workflow_execution.workflow_id)
            if not rc.child_workflow_only or initiated is None:
                raise HistoryFormatError(
                    f"event {e.event_id} cancels workflow {rc.workflow_execution.workflow_id!r}, "
                    "which is not a child this run started; pytest-durable's engine does not "
                    "support cancelling an external workflow (see docs/temporal.md)"
                )
            self.add(e, ev.RequestCancelChildWorkflowExecution, initiated_event_id=initiated)
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED":
            sg = e.workflow_execution_signaled_event_attributes
            self.add(
                e,
                ev.WorkflowExecutionSignaled,
                signal_name=sg.signal_name,
                input=to_values(sg.input.payloads),
            )
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED":
            cr = e.workflow_execution_cancel_requested_event_attributes
            self.add(e, ev.WorkflowExecutionCancelRequested, reason=cr.cause)
        elif kind == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            ci = e.start_child_workflow_execution_initiated_event_attributes
            self.add(
                e,
                ev.StartChildWorkflowExecutionInitiated,
                workflow_type=ci.workflow_type.name,
                workflow_id=ci.workflow_id,
                input=to_values(ci.input.payloads),
            )
            self.children[ci.workflow_id] = self.out[-1].event_id
        elif kind == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED":
            cs = e.child_workflow_execution_started_event_attributes
            self.add(
                e,
                ev.ChildWorkflowExecutionStarted,
                initiated_event_id=self.ref(cs.initiated_event_id, "initiated", e),
                run_id=cs.workflow_execution.run_id,
            )
        elif kind == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED":
            cc = e.child_workflow_execution_completed_event_attributes
            self.add(
                e,
                ev.ChildWorkflowExecutionCompleted,
                initiated_event_id=self.ref(cc.initiated_event_id, "initiated", e),
                result=to_value(cc.result.payloads[0]) if cc.result.payloads else None,
            )
        elif kind == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED":
            cf = e.child_workflow_execution_failed_event_attributes
            self.add(
                e,
                ev.ChildWorkflowExecutionFailed,
                initiated_event_id=self.ref(cf.initiated_event_id, "initiated", e),
                failure=from_failure(cf.failure),
                retry_state=_retry_state_name(cf.retry_state),
            )
        elif kind == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED":
            cx = e.child_workflow_execution_canceled_event_attributes
            self.add(
                e,
                ev.ChildWorkflowExecutionCanceled,
                initiated_event_id=self.ref(cx.initiated_event_id, "initiated", e),
            )
        elif kind == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED":
            sf = e.start_child_workflow_execution_failed_event_attributes
            self.add(
                e,
                ev.StartChildWorkflowExecutionFailed,
                initiated_event_id=self.ref(sf.initiated_event_id, "initiated", e),
                cause="workflow already exists",
            )
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED":
            wc = e.workflow_execution_completed_event_attributes
            result = to_value(wc.result.payloads[0]) if wc.result.payloads else None
            self.add(e, ev.WorkflowExecutionCompleted, result=result)
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED":
            wf = e.workflow_execution_failed_event_attributes
            self.add(e, ev.WorkflowExecutionFailed, failure=from_failure(wf.failure))
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED":
            self.add(e, ev.WorkflowExecutionCanceled)
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED":
            term = e.workflow_execution_terminated_event_attributes
            self.add(
                e,
                ev.WorkflowExecutionTerminated,
                reason=term.reason,
                details=to_values(term.details.payloads),
            )
        elif kind == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED":
            ct = e.child_workflow_execution_terminated_event_attributes
            self.add(
                e,
                ev.ChildWorkflowExecutionTerminated,
                initiated_event_id=self.ref(ct.initiated_event_id, "initiated", e),
            )
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW":
            wn = e.workflow_execution_continued_as_new_event_attributes
            self.add(
                e,
                ev.WorkflowExecutionContinuedAsNew,
                new_run_id=wn.new_execution_run_id,
                workflow_type=wn.workflow_type.name,
                input=to_values(wn.input.payloads),
            )
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            self.add(e, ev.WorkflowExecutionUpdateAccepted, **import_accepted(e))
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            fields = import_completed(e, lambda temporal_id: self.ref(temporal_id, "accepted", e))
            self.add(e, ev.WorkflowExecutionUpdateCompleted, **fields)
        else:
            raise HistoryFormatError(
                f"event {e.event_id} is {kind}, which pytest-durable's engine does not support "
                "(see docs/temporal.md for the supported event kinds)"
            )


def from_workflow_history(history: temporalio.client.WorkflowHistory) -> History:
    """Our history of a run that a Temporal cluster recorded (see the module docstring)."""
    importer = _Importer(history.workflow_id)
    for event in history.events:
        importer.take(event)
    return History(importer.out)


def from_temporal_json(text: str | dict[str, Any], *, workflow_id: str = "") -> History:
    """Our history from Temporal's history JSON (``temporal workflow show --output json``)."""
    data = json.loads(text) if isinstance(text, str) else text
    history = temporalio.client.WorkflowHistory.from_json(workflow_id or "imported", data)
    return from_workflow_history(history)
