"""Temporal local activities on the engine's own: commands in, activation jobs out.

temporalio's ``workflow.execute_local_activity`` completes an activation with a
``schedule_local_activity`` command; the engine runs it as a local activity (within the held-open
workflow task, with its own timeouts, ``local_retry_threshold`` and timer backoffs) and records
its outcome as a ``core_local_activity`` marker, as Temporal's Core SDK does. What the engine
resolves (a result, a failure, or a backoff for the SDK to sleep on) goes back to temporalio as
the ``resolve_activity`` job Core would send.
"""

from __future__ import annotations

from typing import Any

from temporalio.bridge.proto import workflow_activation as wa
from temporalio.bridge.proto import workflow_commands as wc

from ..common import RetryPolicy
from ..engine._commands import Command, RecordLocalActivityMarker, ScheduleLocalActivity
from ..engine._local import marker_details
from ..errors import CancelledError, RetryState
from ._convert import to_failure, to_payload, to_values

#: Core's default when the workflow sets no ``local_retry_threshold``.
DEFAULT_LOCAL_RETRY_THRESHOLD_NS = 60 * 1_000_000_000

_CANCEL_REQUESTED = "CANCEL_REQUESTED"


def _ns(duration: Any) -> int | None:
    return int(duration.ToNanoseconds()) if duration.ByteSize() else None


def schedule_command(
    act: wc.ScheduleLocalActivity, retry_policy: RetryPolicy | None
) -> ScheduleLocalActivity:
    """The engine's local activity for temporalio's ``schedule_local_activity`` command.

    A retry after a timer backoff arrives as a new command with its attempt and the first
    attempt's schedule time, which the schedule-to-close deadline counts from.
    """
    original = (
        act.original_schedule_time.ToNanoseconds()
        if act.HasField("original_schedule_time")
        else None
    )
    return ScheduleLocalActivity(
        seq=act.seq,
        activity_id=act.activity_id,
        activity_type=act.activity_type,
        args=to_values(act.arguments),
        schedule_to_close_ns=_ns(act.schedule_to_close_timeout),
        schedule_to_start_ns=_ns(act.schedule_to_start_timeout),
        start_to_close_ns=_ns(act.start_to_close_timeout),
        # As for activities, Core gives a local activity without a policy the default one.
        retry_policy=retry_policy or RetryPolicy(),
        local_retry_threshold_ns=_ns(act.local_retry_threshold) or DEFAULT_LOCAL_RETRY_THRESHOLD_NS,
        attempt=act.attempt or 1,
        original_schedule_ns=original,
    )


def activity_failure(
    command: ScheduleLocalActivity, cause: dict[str, Any], retry_state: str | None
) -> dict[str, Any]:
    """The ``ActivityError`` failure (our history's form) a failed local activity resolves with."""
    return {
        "class": "ActivityError",
        "message": "Local activity failed",
        "activity_type": command.activity_type,
        "activity_id": command.activity_id,
        "scheduled_event_id": 0,
        "retry_state": retry_state,
        "cause": cause,
    }


def resolution_job(
    command: ScheduleLocalActivity, details: dict[str, Any]
) -> wa.WorkflowActivationJob:
    """The ``resolve_activity`` job for a local activity marker's details (live or recorded)."""
    job = wa.WorkflowActivationJob()
    resolve = job.resolve_activity
    resolve.seq = command.seq
    resolve.is_local = True
    if "failure" not in details:
        resolve.result.completed.result.CopyFrom(to_payload(details.get("result")))
        return job
    data = details["data"]
    backoff = data.get("backoff_ns")
    if backoff is not None:
        # The SDK sleeps on a workflow timer, then schedules the next attempt itself.
        step = resolve.result.backoff
        step.attempt = int(data["attempt"]) + 1
        step.backoff_duration.FromNanoseconds(int(backoff))
        step.original_schedule_time.FromNanoseconds(int(data["original_schedule_time_ns"]))
        return job
    state = details.get("retry_state")
    failure = to_failure(activity_failure(command, details["failure"], state))
    if state == _CANCEL_REQUESTED:
        resolve.result.cancelled.failure.CopyFrom(failure)
    else:
        resolve.result.failed.failure.CopyFrom(failure)
    return job


def cancelled_before_start(command: ScheduleLocalActivity) -> wa.WorkflowActivationJob:
    """The job for a local activity cancelled before the engine ran it (nothing is recorded)."""
    job = wa.WorkflowActivationJob()
    job.resolve_activity.seq = command.seq
    job.resolve_activity.is_local = True
    cancelled = {"class": "CancelledError", "message": "Local activity cancelled"}
    job.resolve_activity.result.cancelled.failure.CopyFrom(
        to_failure(activity_failure(command, cancelled, _CANCEL_REQUESTED))
    )
    return job


class LocalActivities:
    """A run's local activities on the workflow side: pending ones and resolutions to deliver.

    The engine reads ``pending`` and ``cancels`` (the instance shares them as
    ``local_pending`` / ``local_cancels``) and resolves through :meth:`resolve`.
    """

    __slots__ = ("cancels", "jobs", "markers", "pending")

    def __init__(self) -> None:
        #: Scheduled and not yet resolved (the engine runs them), by sequence number.
        self.pending: dict[int, ScheduleLocalActivity] = {}
        #: Running ones the workflow cancelled (the engine stops them).
        self.cancels: list[int] = []
        #: Resolutions for the next activation, and the marker commands recording them.
        self.jobs: list[wa.WorkflowActivationJob] = []
        self.markers: list[Command] = []

    def schedule(self, act: wc.ScheduleLocalActivity, retry_policy: RetryPolicy | None) -> None:
        """Temporalio scheduled one: it runs while the task is held open."""
        self.pending[act.seq] = schedule_command(act, retry_policy)

    def resolve(self, seq: int, details: dict[str, Any]) -> None:
        """Resolve ``seq`` from its marker's details (built live, or read on replay)."""
        command = self.pending.pop(seq)
        self.markers.append(
            RecordLocalActivityMarker(
                seq=seq,
                activity_id=command.activity_id,
                activity_type=command.activity_type,
                details=details,
            )
        )
        self.jobs.append(resolution_job(command, details))

    def cancel(self, seq: int, now_ns: int) -> None:
        """The workflow cancelled ``seq``: it resolves at once (Core's ``TRY_CANCEL``)."""
        command = self.pending.get(seq)
        if command is None:
            return  # resolved already
        if not command.started:
            del self.pending[seq]
            self.jobs.append(cancelled_before_start(command))
            return
        # Running: the engine stops it, and a marker records the cancellation (as Core's).
        self.cancels.append(seq)
        self.resolve(
            seq,
            marker_details(
                command,
                attempt=command.attempt,
                complete_ns=now_ns,
                original_schedule_ns=command.original_schedule_ns or now_ns,
                failure=CancelledError("Local activity cancelled"),
                retry_state=RetryState.CANCEL_REQUESTED,
            ),
        )

    def take(self) -> tuple[list[wa.WorkflowActivationJob], list[Command]]:
        """The resolutions due in the next activation, and their markers."""
        jobs, markers = self.jobs, self.markers
        self.jobs, self.markers = [], []
        return jobs, markers
