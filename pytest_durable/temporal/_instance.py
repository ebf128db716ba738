"""A run of a Temporal SDK workflow: temporalio's own workflow instance, driven by activations.

The engine plays Temporal's server and core: each workflow task's new history events become the
jobs of one activation; the commands temporalio completes it with become our commands, which the
engine records and carries out exactly as it does for its own workflows. Sequence numbers (how
temporalio names its activities, timers and children) are mapped to the events they became.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import temporalio.common
import temporalio.converter
import temporalio.worker
import temporalio.workflow
from temporalio.bridge.proto import workflow_activation as wa
from temporalio.bridge.proto import workflow_commands as wc
from temporalio.bridge.proto import workflow_completion
from temporalio.bridge.proto.child_workflow import StartChildWorkflowExecutionFailedCause

from .._guard import FLAG as GUARD_FLAG
from .._guard import guard_workflow_package
from ..common import RetryPolicy
from ..engine import _events as ev
from ..engine._commands import (
    CancelTimer,
    CancelWorkflow,
    Command,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    ModifyWorkflowProperties,
    RecordMarker,
    RequestCancelActivity,
    RequestCancelChild,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
)
from ..engine._failure import decode_failure, encode_failure
from ..engine._updates import UpdateRequest
from ..errors import QueryError
from ._convert import (
    fill_payload,
    from_failure,
    retry_policy,
    to_failure,
    to_payloads,
    to_value,
    to_values,
)
from ._definitions import TemporalWorkflowDefinition
from ._errors import UnsupportedTemporalFeatureError
from ._local import LocalActivities
from ._sdk_instance import NAMESPACE as NAMESPACE
from ._sdk_instance import TASK_QUEUE as TASK_QUEUE
from ._sdk_instance import create_sdk_instance
from ._updates import TemporalUpdates

_ALREADY_EXISTS = StartChildWorkflowExecutionFailedCause.Value(
    "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS"
)


#: Commands temporalio can return that need a server feature this engine does not have.
_UNSUPPORTED = {
    "schedule_nexus_operation": "Nexus operations",
    "request_cancel_nexus_operation": "Nexus operations",
    "signal_external_workflow_execution": "signalling an external workflow",
    "cancel_signal_workflow": "signalling an external workflow",
    "request_cancel_external_workflow_execution": "cancelling an external workflow",
}


def _ns(duration: Any) -> int | None:
    """A ``Duration`` field's nanoseconds; None when unset (or zero, which Temporal reads so)."""
    return duration.seconds * 1_000_000_000 + duration.nanos or None


def _set_time(timestamp: Any, ns: int) -> None:
    """``timestamp.FromNanoseconds(ns)``, without its checks (``ns`` is an int)."""
    timestamp.seconds, timestamp.nanos = divmod(ns, 1_000_000_000)


#: Our retry policy for an activity scheduled without one: the server's default, which retries.
_DEFAULT_RETRY = RetryPolicy()

#: Commands after which the run is closed: the activation's later commands are not carried out.
_CLOSING = (CompleteWorkflow, FailWorkflow, CancelWorkflow, ContinueAsNew)




class TemporalWorkflowInstance:
    """One run of a Temporal workflow; the engine's workflow-instance role (see module doc)."""

    def __init__(
        self,
        definition: TemporalWorkflowDefinition,
        started: ev.WorkflowExecutionStarted,
        *,
        deadlock_budget_s: float | None = None,
        determinism_guard: bool = False,
    ) -> None:
        self.definition = definition
        self.started = started
        self.deadlock_budget_s = deadlock_budget_s
        #: Whether the determinism guard checks the code (temporalio's unsandboxed runtime).
        self.determinism_guard = determinism_guard
        self.now_ns = started.time_ns
        self.closed = False
        self.evicted = False
        self.activities: dict[int, ScheduleActivity] = {}
        self.timers: dict[int, StartTimer] = {}
        self.children: dict[int, StartChildWorkflow] = {}
        #: event id -> (kind, seq): which temporalio handle an event resolves.
        self.seq_by_event: dict[int, tuple[str, int]] = {}
        self.notified_patches: set[str] = set()
        #: Search attributes and memo the workflow upserted: stored, never indexed.
        self.search_attributes: dict[str, Any] = {}
        self.memo: dict[str, Any] = {}
        self.history_length = 0
        #: Local activities: the engine reads the pending ones and those cancelled.
        self._local = LocalActivities()
        self.local_pending = self._local.pending
        self.local_cancels = self._local.cancels
        #: What failed the last activation (a bug): the engine keeps the run open, as Temporal.
        self.task_failure: BaseException | None = None
        #: Updates rejected in the current activation: (update id, why), for the engine.
        self.rejected: list[tuple[str, BaseException]] = []
        self.updates = TemporalUpdates(self.rejected)
        self._sdk: temporalio.worker.WorkflowInstance | None = None
        self._queries = 0

    # --- creation ----------------------------------------------------------------------------

    def _create(self) -> temporalio.worker.WorkflowInstance:
        sdk = create_sdk_instance(self.definition, self.started)
        if self.determinism_guard:
            # temporalio's unsandboxed instance is the event loop its workflow code runs on:
            # flagged, it is guarded as ours are. A sandboxed runner returns a wrapper, not the
            # loop inside the sandbox, so the flag does nothing there: the sandbox guards.
            setattr(sdk, GUARD_FLAG, True)
            guard_workflow_package(self.definition.cls.__module__)
        return sdk

    def _activate(
        self, activation: wa.WorkflowActivation
    ) -> workflow_completion.WorkflowActivationCompletion:
        """One activation; temporalio clears the running loop afterwards, so restore ours."""
        assert self._sdk is not None
        previous = asyncio._get_running_loop()
        try:
            return self._sdk.activate(activation)
        finally:
            asyncio._set_running_loop(previous)

    def _initialize_job(self) -> wa.WorkflowActivationJob:
        started = self.started
        init = wa.InitializeWorkflow(
            workflow_type=started.workflow_type,
            workflow_id=started.workflow_id,
            arguments=to_payloads(started.input),
            randomness_seed=started.randomness_seed,
            attempt=started.attempt,
            first_execution_run_id=started.first_run_id or started.run_id,
            continued_from_execution_run_id=started.continued_from_run_id or "",
        )
        init.start_time.FromNanoseconds(started.time_ns)
        return wa.WorkflowActivationJob(initialize_workflow=init)

    # --- activation ----------------------------------------------------------------------------

    def activate(
        self,
        events: Iterable[ev.Event],
        now_ns: int,
        *,
        replaying: bool,
        recorded_patches: frozenset[str] = frozenset(),
        updates: Sequence[UpdateRequest] = (),
    ) -> list[Command]:
        """Turn ``events`` (and ``updates``) into one activation, run it, return its commands.

        Updates the workflow rejected are left in :attr:`rejected`.
        """
        self.now_ns = now_ns
        jobs: list[wa.WorkflowActivationJob] = []
        if recorded_patches:
            for patch_id in sorted(recorded_patches - self.notified_patches):
                self.notified_patches.add(patch_id)
                jobs.append(
                    wa.WorkflowActivationJob(
                        notify_has_patch=wa.NotifyHasPatch(patch_id=patch_id)
                    )
                )
        history_length = self.history_length
        for event in events:
            if event.event_id > history_length:
                history_length = event.event_id
            job = self._job_for(event)
            if job is not None:
                jobs.append(job)
        self.history_length = history_length
        if updates and not self.closed:
            jobs.extend(self.updates.jobs(updates))
        # A resolved local activity's marker precedes what the code does next (as Core's).
        resolutions, commands = self._local.take()
        jobs += resolutions
        if not jobs or self.closed:
            return []
        if self._sdk is None:
            self._sdk = self._create()
        activation = wa.WorkflowActivation(
            run_id=self.started.run_id,
            is_replaying=replaying,
            history_length=self.history_length + 1,
            jobs=jobs,
        )
        _set_time(activation.timestamp, now_ns)
        completion = self._activate(activation)
        if completion.HasField("failed"):
            if replaying:  # replay reports it against the recorded event, naming the exception
                return [*commands, self._task_failed(completion.failed.failure)]
            # Temporal discards a failed task's commands, markers of local activities included.
            self.task_failure = self._task_failure(completion.failed.failure)
            return []
        for proto in completion.successful.commands:
            command = self._command_for(proto, replaying, recorded_patches)
            if command is not None:
                commands.append(command)
                if isinstance(command, _CLOSING):
                    self.closed = True
                    break
        if self._local.jobs and not self.closed:
            # A local activity cancelled in this activation resolves at once (TRY_CANCEL).
            commands += self.activate(
                [], now_ns, replaying=replaying, recorded_patches=recorded_patches
            )
        return commands

    # --- local activities ----------------------------------------------------------------------

    def resolve_local_activity(self, seq: int, details: dict[str, Any]) -> None:
        """Resolve local activity ``seq`` from its marker's details, in the next activation.

        Live, the engine built the details from the outcome; on replay they come from history.
        """
        self._local.resolve(seq, details)

    def bind(self, command: Command, event_id: int) -> None:
        """Record that ``command`` became event ``event_id``."""
        command.event_id = event_id
        match command:
            case ScheduleActivity():
                self.seq_by_event[event_id] = ("activity", command.seq)
            case StartTimer():
                self.seq_by_event[event_id] = ("timer", command.seq)
            case StartChildWorkflow():
                self.seq_by_event[event_id] = ("child", command.seq)
            case _:
                pass

    def _seq(self, event_id: int, kind: str) -> int:
        found = self.seq_by_event.get(event_id)
        assert found is not None and found[0] == kind, (event_id, kind, found)
        return found[1]

    def _job_for(self, event: ev.Event) -> wa.WorkflowActivationJob | None:
        Job = wa.WorkflowActivationJob
        # The commonest events first: each case is an isinstance check.
        match event:
            case ev.ActivityTaskCompleted():
                job = Job()
                resolved = job.resolve_activity
                resolved.seq = self._seq(event.scheduled_event_id, "activity")
                fill_payload(resolved.result.completed.result, event.result)
                return job
            case ev.ActivityTaskScheduled() | ev.ActivityTaskStarted():
                return None
            case ev.TimerFired():
                return Job(fire_timer=wa.FireTimer(seq=self._seq(event.started_event_id, "timer")))
            case ev.WorkflowExecutionStarted():
                return self._initialize_job()
            case ev.WorkflowExecutionSignaled():
                return Job(
                    signal_workflow=wa.SignalWorkflow(
                        signal_name=event.signal_name,
                        input=to_payloads(event.input),
                        originating_event_id=event.event_id,
                    )
                )
            case ev.WorkflowExecutionCancelRequested():
                return Job(cancel_workflow=wa.CancelWorkflow(reason=event.reason))
            case ev.ActivityTaskFailed() | ev.ActivityTaskTimedOut():
                job = Job()
                job.resolve_activity.seq = self._seq(event.scheduled_event_id, "activity")
                job.resolve_activity.result.failed.failure.CopyFrom(
                    self._activity_failure(
                        event.scheduled_event_id, event.failure, event.retry_state
                    )
                )
                return job
            case ev.ActivityTaskCanceled():
                job = Job()
                job.resolve_activity.seq = self._seq(event.scheduled_event_id, "activity")
                cancelled = {"class": "CancelledError", "message": "Activity cancelled"}
                job.resolve_activity.result.cancelled.failure.CopyFrom(
                    self._activity_failure(event.scheduled_event_id, cancelled, "CANCEL_REQUESTED")
                )
                return job
            case ev.ChildWorkflowExecutionStarted():
                job = Job()
                resolve = job.resolve_child_workflow_execution_start
                resolve.seq = self._seq(event.initiated_event_id, "child")
                resolve.succeeded.run_id = event.run_id
                return job
            case ev.StartChildWorkflowExecutionFailed():
                job = Job()
                resolve = job.resolve_child_workflow_execution_start
                seq = self._seq(event.initiated_event_id, "child")
                resolve.seq = seq
                child = self.children[seq]
                resolve.failed.workflow_id = child.workflow_id
                resolve.failed.workflow_type = child.workflow_type
                resolve.failed.cause = _ALREADY_EXISTS
                return job
            case ev.ChildWorkflowExecutionCompleted():
                job = Job()
                done = job.resolve_child_workflow_execution
                done.seq = self._seq(event.initiated_event_id, "child")
                fill_payload(done.result.completed.result, event.result)
                return job
            case ev.ChildWorkflowExecutionFailed():
                job = Job()
                done = job.resolve_child_workflow_execution
                done.seq = self._seq(event.initiated_event_id, "child")
                done.result.failed.failure.CopyFrom(
                    self._child_failure(event.initiated_event_id, event.failure, event.retry_state)
                )
                return job
            case ev.ChildWorkflowExecutionTerminated():
                job = Job()
                done = job.resolve_child_workflow_execution
                done.seq = self._seq(event.initiated_event_id, "child")
                terminated = {"class": "TerminatedError", "message": "Terminated"}
                done.result.failed.failure.CopyFrom(
                    self._child_failure(
                        event.initiated_event_id, terminated, "NON_RETRYABLE_FAILURE"
                    )
                )
                return job
            case ev.ChildWorkflowExecutionCanceled():
                job = Job()
                done = job.resolve_child_workflow_execution
                done.seq = self._seq(event.initiated_event_id, "child")
                cancelled = {"class": "CancelledError", "message": "Child workflow cancelled"}
                done.result.cancelled.failure.CopyFrom(
                    self._child_failure(event.initiated_event_id, cancelled, "CANCEL_REQUESTED")
                )
                return job
            case _:
                return None

    def _activity_failure(self, scheduled_event_id: int, cause: dict[str, Any], state: str) -> Any:
        command = self.activities[self._seq(scheduled_event_id, "activity")]
        return to_failure(
            {
                "class": "ActivityError",
                "message": "Activity task failed",
                "activity_type": command.activity_type,
                "activity_id": command.activity_id,
                "scheduled_event_id": scheduled_event_id,
                "retry_state": state,
                "cause": cause,
            }
        )

    def _child_failure(self, initiated_event_id: int, cause: dict[str, Any], state: str) -> Any:
        command = self.children[self._seq(initiated_event_id, "child")]
        return to_failure(
            {
                "class": "ChildWorkflowError",
                "message": "Child Workflow execution failed",
                "workflow_type": command.workflow_type,
                "workflow_id": command.workflow_id,
                "run_id": "",
                "initiated_event_id": initiated_event_id,
                "retry_state": state,
                "cause": cause,
            }
        )

    # --- commands ------------------------------------------------------------------------------

    def _command_for(
        self, proto: wc.WorkflowCommand, replaying: bool, recorded_patches: frozenset[str]
    ) -> Command | None:
        which = proto.WhichOneof("variant")
        if which == "schedule_activity":  # the commonest first
            act = proto.schedule_activity
            return self._schedule(act, heartbeat_ns=_ns(act.heartbeat_timeout))
        if which in _UNSUPPORTED:
            return self._unsupported(_UNSUPPORTED[which])
        if which == "update_response":
            return self.updates.command_for(proto.update_response)
        if which == "start_timer":
            timer = StartTimer(
                seq=proto.start_timer.seq,
                duration_ns=int(proto.start_timer.start_to_fire_timeout.ToNanoseconds()),
            )
            self.timers[timer.seq] = timer
            return timer
        if which == "cancel_timer":
            return CancelTimer(target=self.timers[proto.cancel_timer.seq])
        if which == "schedule_local_activity":
            local = proto.schedule_local_activity
            retry = retry_policy(local.retry_policy, local.HasField("retry_policy"))
            self._local.schedule(local, retry)
            return None  # it runs while the task is held open; its marker is the command
        if which == "request_cancel_activity":
            return RequestCancelActivity(target=self.activities[proto.request_cancel_activity.seq])
        if which == "request_cancel_local_activity":
            self._local.cancel(proto.request_cancel_local_activity.seq, self.now_ns)
            return None
        if which == "start_child_workflow_execution":
            start = proto.start_child_workflow_execution
            child = StartChildWorkflow(
                seq=start.seq,
                workflow_type=start.workflow_type,
                workflow_id=start.workflow_id,
                args=to_values(start.input),
                retry_policy=retry_policy(start.retry_policy, start.HasField("retry_policy")),
            )
            self.children[child.seq] = child
            return child
        if which == "cancel_child_workflow_execution":
            seq = proto.cancel_child_workflow_execution.child_workflow_seq
            return RequestCancelChild(target=self.children[seq])
        if which == "set_patch_marker":
            marker = proto.set_patch_marker
            if replaying and marker.deprecated and marker.patch_id not in recorded_patches:
                return None  # a deprecated patch's marker may be missing from older histories
            details: dict[str, Any] = {"patch_id": marker.patch_id}
            if marker.deprecated:
                details["deprecated"] = True
            return RecordMarker(name="patch", details=details)
        if which == "upsert_workflow_search_attributes":
            upsert = proto.upsert_workflow_search_attributes
            decoded = temporalio.converter.decode_search_attributes(upsert.search_attributes)
            self.search_attributes.update(decoded)
            # Recorded as the payloads were (a typed attribute's kept whole, its type too).
            return UpsertSearchAttributes(
                search_attributes={
                    name: to_value(payload)
                    for name, payload in upsert.search_attributes.indexed_fields.items()
                }
            )
        if which == "modify_workflow_properties":
            upserted = {
                key: to_value(payload)
                for key, payload in proto.modify_workflow_properties.upserted_memo.fields.items()
            }
            self.memo.update(upserted)
            return ModifyWorkflowProperties(upserted_memo=upserted)
        if which == "complete_workflow_execution":
            done = proto.complete_workflow_execution
            return CompleteWorkflow(
                result=to_value(done.result) if done.HasField("result") else None
            )
        if which == "fail_workflow_execution":
            failure = from_failure(proto.fail_workflow_execution.failure)
            return FailWorkflow(failure=failure, exception=decode_failure(failure))
        if which == "cancel_workflow_execution":
            return CancelWorkflow()
        if which == "continue_as_new_workflow_execution":
            cont = proto.continue_as_new_workflow_execution
            workflow_type = cont.workflow_type or self.definition.name
            same = workflow_type == self.definition.name
            return ContinueAsNew(
                workflow_type=workflow_type,
                args=to_values(cont.arguments),
                definition=self.definition if same else None,
            )
        # respond_to_query only answers query activations, handled in query().
        return None  # pragma: no cover - every other variant is listed above

    def _schedule(self, act: Any, *, heartbeat_ns: int | None) -> ScheduleActivity:
        command = ScheduleActivity(
            seq=act.seq,
            activity_id=act.activity_id,
            activity_type=act.activity_type,
            args=to_values(act.arguments),
            schedule_to_close_ns=_ns(act.schedule_to_close_timeout),
            schedule_to_start_ns=_ns(act.schedule_to_start_timeout),
            start_to_close_ns=_ns(act.start_to_close_timeout),
            heartbeat_ns=heartbeat_ns,
            # Without one, the server gives an activity the default policy: it retries.
            retry_policy=retry_policy(act.retry_policy, act.HasField("retry_policy"))
            or _DEFAULT_RETRY,
        )
        self.activities[command.seq] = command
        return command

    def _unsupported(self, feature: str) -> FailWorkflow:
        error = UnsupportedTemporalFeatureError(
            f"workflow {self.definition.name!r} uses {feature}, which pytest-durable's Temporal "
            "front-end does not support (see docs/temporal.md)"
        )
        self.closed = True
        return FailWorkflow(failure=encode_failure(error), exception=error, is_bug=True)

    def _task_failed(self, failure: Any) -> FailWorkflow:
        """A failed activation on replay: a run failing, for the replay to report."""
        self.closed = True
        data = from_failure(failure)
        return FailWorkflow(failure=data, exception=decode_failure(data), is_bug=True)

    def _task_failure(self, failure: Any) -> BaseException:
        """What failed the workflow task (a bug, not a declared failure), with its traceback.

        The exception is temporalio's, as its failure converter decodes it; the engine keeps
        the run open, as Temporal does (see ``Engine._task_failed``).
        """
        converter = self.definition.converter or temporalio.converter.DataConverter.default
        error: BaseException = converter.failure_converter.from_failure(
            failure, converter.payload_converter
        )
        if failure.stack_trace:
            error.add_note(f"The workflow code's traceback:\n{failure.stack_trace.rstrip()}")
        return error

    # --- queries -----------------------------------------------------------------------------

    def query(self, name: str, raw_args: Sequence[Any]) -> Any:
        """Answer a query in a query-only activation; the answer is a JSON value."""
        if self._sdk is None:
            raise QueryError(
                f"workflow {self.definition.name!r} has not started running yet; nothing to query"
            )
        self._queries += 1
        query_id = f"query-{self._queries}"
        activation = wa.WorkflowActivation(
            run_id=self.started.run_id,
            history_length=self.history_length + 1,
            jobs=[
                wa.WorkflowActivationJob(
                    query_workflow=wa.QueryWorkflow(
                        query_id=query_id, query_type=name, arguments=to_payloads(raw_args)
                    )
                )
            ],
        )
        _set_time(activation.timestamp, self.now_ns)
        completion = self._activate(activation)
        if completion.HasField("failed"):
            raise QueryError(f"query {name!r} failed: {completion.failed.failure.message}")
        for proto in completion.successful.commands:
            if proto.HasField("respond_to_query") and proto.respond_to_query.query_id == query_id:
                answer = proto.respond_to_query
                if answer.HasField("failed"):
                    raise QueryError(f"query {name!r} failed: {answer.failed.message}")
                return to_value(answer.succeeded.response)
        raise QueryError(f"query {name!r} got no answer")  # pragma: no cover - temporalio answers

    def evict(self) -> None:
        """Drop the instance: temporalio tears its coroutines down now, as on a worker eviction.

        Nothing they do reaches any history: the eviction activation's commands are discarded.
        Idempotent.
        """
        if self.evicted:
            return
        self.evicted = True
        self.closed = True
        if self._sdk is None:
            return
        job = wa.WorkflowActivationJob(
            remove_from_cache=wa.RemoveFromCache(
                message="evicted by the engine",
                reason=wa.RemoveFromCache.EvictionReason.LANG_REQUESTED,
            )
        )
        activation = wa.WorkflowActivation(run_id=self.started.run_id, jobs=[job])
        activation.timestamp.FromNanoseconds(self.now_ns)
        self._activate(activation)

    def waiting_at(self) -> list[str]:
        """Where the workflow waits (temporalio keeps its tasks to itself: not known)."""
        return []


def new_instance(
    definition: TemporalWorkflowDefinition,
    started: ev.WorkflowExecutionStarted,
    *,
    deadlock_budget_s: float | None = None,
    determinism_guard: bool = False,
) -> TemporalWorkflowInstance:
    """The engine's runtime hook for Temporal workflow definitions."""
    return TemporalWorkflowInstance(
        definition,
        started,
        deadlock_budget_s=deadlock_budget_s,
        determinism_guard=determinism_guard,
    )
