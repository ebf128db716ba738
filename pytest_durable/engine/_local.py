"""Local activities on the workflow's side: their futures, their markers, their resolution.

A local activity runs inside the workflow task that scheduled it (the engine holds the task
open meanwhile) and reaches history only as a marker, as on Temporal: ``MarkerRecorded`` named
``core_local_activity`` whose details hold what Temporal's Core SDK records (sequence number,
attempt, activity id and type, completion time, original schedule time, and a backoff when the
next attempt waits on a workflow timer) beside the result or the failure. Replay resolves a
local activity from its marker without running it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import ActivityError, CancelledError, RetryState
from ._commands import LOCAL_ACTIVITY_MARKER, RecordLocalActivityMarker, ScheduleLocalActivity
from ._failure import decode_failure, encode_failure
from ._payload import decode

if TYPE_CHECKING:
    from ._instance import WorkflowInstance

__all__ = ["LOCAL_ACTIVITY_MARKER"]


class LocalBackoff(Exception):
    """A local activity's retry waits longer than its ``local_retry_threshold``.

    Delivered to the local activity's own handle, which sleeps on a durable timer and schedules
    the next attempt, as Temporal's SDKs do; workflow code never sees it.
    """

    def __init__(self, attempt: int, backoff_ns: int, original_schedule_ns: int) -> None:
        super().__init__(f"retry attempt {attempt} after {backoff_ns} ns")
        self.attempt = attempt
        self.backoff_ns = backoff_ns
        self.original_schedule_ns = original_schedule_ns


def marker_details(
    command: ScheduleLocalActivity,
    *,
    attempt: int,
    complete_ns: int,
    original_schedule_ns: int,
    result: Any = None,
    failure: BaseException | None = None,
    retry_state: RetryState | None = None,
    backoff_ns: int | None = None,
) -> dict[str, Any]:
    """The marker's details for an outcome: a result, or a failure (and a timer backoff)."""
    data: dict[str, Any] = {
        "seq": command.seq,
        "attempt": attempt,
        "activity_id": command.activity_id,
        "activity_type": command.activity_type,
        "complete_time_ns": complete_ns,
        "original_schedule_time_ns": original_schedule_ns,
    }
    if backoff_ns is not None:
        data["backoff_ns"] = backoff_ns
    details: dict[str, Any] = {"data": data}
    if failure is None:
        details["result"] = result
    else:
        details["failure"] = encode_failure(failure)
        if retry_state is not None:
            details["retry_state"] = retry_state.value
    return details


def marker_seq(details: dict[str, Any]) -> int | None:
    """The sequence number a local activity marker resolves (None if it is not one)."""
    data = details.get("data")
    if not isinstance(data, dict):
        return None
    seq = data.get("seq")
    return seq if isinstance(seq, int) else None


def local_activity_error(
    command: ScheduleLocalActivity, cause: BaseException, retry_state: RetryState | None
) -> ActivityError:
    """The ``ActivityError`` a failed local activity raises in the workflow."""
    error = ActivityError(
        f"local activity {command.activity_type!r} (id {command.activity_id!r}) failed",
        activity_type=command.activity_type,
        activity_id=command.activity_id,
        scheduled_event_id=0,
        retry_state=retry_state,
    )
    error.__cause__ = cause
    return error


def resolve(instance: WorkflowInstance, seq: int, details: dict[str, Any]) -> None:
    """Resolve local activity ``seq`` from a marker's details, and issue the marker command.

    Live, the engine built the details from the outcome; on replay they come from history.
    """
    command = instance.local_pending.pop(seq)
    instance.commands.append(
        RecordLocalActivityMarker(
            seq=seq,
            activity_id=command.activity_id,
            activity_type=command.activity_type,
            details=details,
            location=command.location,
        )
    )
    future = command.future
    command.future = None
    if future is None or future.done():
        return
    if "failure" not in details:
        future.set_result(decode(details.get("result"), command.result_hint))
        return
    cause = decode_failure(details["failure"])
    data = details["data"]
    backoff = data.get("backoff_ns")
    if backoff is not None:
        future.set_exception(
            LocalBackoff(data["attempt"] + 1, backoff, data["original_schedule_time_ns"])
        )
        return
    state = details.get("retry_state")
    future.set_exception(
        local_activity_error(command, cause, RetryState(state) if state else None)
    )


class LocalActivityFuture(asyncio.Future[Any]):
    """The future one local activity command resolves; ``cancel()`` cancels the activity.

    Cancelled before the engine ran it (the same workflow task), it simply cancels: nothing is
    recorded. Cancelled while running, the engine stops it and a marker records the
    cancellation; the workflow sees ``ActivityError(CANCEL_REQUESTED) > CancelledError``.
    """

    def __init__(self, instance: WorkflowInstance, command: ScheduleLocalActivity) -> None:
        super().__init__(loop=instance.loop)
        self._instance = instance
        self._command = command

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        instance = self._instance
        command = self._command
        if instance.closed or not command.started:
            instance.local_pending.pop(command.seq, None)
            return super().cancel(msg)
        instance.local_cancels.append(command.seq)
        resolve(
            instance,
            command.seq,
            marker_details(
                command,
                attempt=command.attempt,
                complete_ns=instance.now_ns,
                original_schedule_ns=command.original_schedule_ns or instance.now_ns,
                failure=CancelledError("local activity cancelled"),
                retry_state=RetryState.CANCEL_REQUESTED,
            ),
        )
        return True


def start_local_activity(instance: WorkflowInstance, command: ScheduleLocalActivity) -> Any:
    """Schedule a local activity now and return its handle, a task on the workflow's loop."""
    future = instance.schedule_local_activity(command)
    task = instance.loop.create_task(_run_local_activity(instance, command, future))
    # A handle cancelled before its first step never awaits the future: cancel it too.
    task.add_done_callback(lambda done: future.cancel() if done.cancelled() else None)
    return task


async def _run_local_activity(
    instance: WorkflowInstance, command: ScheduleLocalActivity, future: asyncio.Future[Any]
) -> Any:
    """The local activity's handle: its result, after any timer backoffs between attempts."""
    while True:
        try:
            return await future
        except LocalBackoff as error:
            backoff = error
        # The wait is longer than local_retry_threshold: a durable timer, then the next attempt
        # as a new command (a new sequence number, the same schedule-to-close origin).
        woken = instance.loop.create_future()
        timer = instance.start_timer(backoff.backoff_ns, _wake, (woken,), None)
        try:
            await woken
        finally:
            timer.cancel()
        command = dataclasses.replace(
            command,
            seq=instance.local_activity_seq + 1,
            attempt=backoff.attempt,
            original_schedule_ns=backoff.original_schedule_ns,
            future=None,
            started=False,
        )
        future = instance.schedule_local_activity(command)


def _wake(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)
