"""One activity attempt with no workflow around it, served and run by the engine's own code.

``ActivityEnvironment`` runs an activity function alone. It does so through the same
:class:`ActivityServer` (start-to-close, schedule-to-close and heartbeat deadlines, the timeout
errors and their heartbeat details), :class:`ActivityChannel` and :class:`ActivityWorker`
(running the code in a task or a thread, heartbeats, cancellation) that serve an activity inside
a workflow run, on an engine of its own with no workflows. So what a test sees of an activity
alone is what the activity does inside a workflow. What differs is what a unit test of one
function wants:

- the arguments and the result are passed as they are (no JSON round trip);
- there is one attempt and no retry policy, and its outcome is returned (or raised) rather than
  recorded in a history: :class:`_SingleServer` overrides only the server's recording;
- the ``ActivityInfo`` the code sees is the one the test chose;
- a cancellation reaches the code as a worker delivers it (:meth:`Attempt.request_cancel`),
  and the attempt reports whatever the code does with it, where a workflow's cancellation is
  recorded at once and the attempt's outcome dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from .. import activity as _activity
from ..common import to_ns
from ..errors import RetryState, TimeoutError, WorkflowBlockedError
from . import _events as ev
from ._activity_channel import ActivityTask
from ._activity_server import ActivityServer, ActivityState
from ._activity_worker import ActivityWorker, Attempt
from ._clock import LoopIdle, TimerHandle, VirtualClock
from ._definitions import ActivityDefinition
from ._engine import Engine
from ._store import RunKey

HeartbeatSink = Callable[[tuple[Any, ...]], None]


class _Owner:
    """The run the activity belongs to: the ids its info names, and its one activity."""

    __slots__ = ("activities", "closed", "key", "workflow_id", "workflow_type")

    def __init__(self, info: _activity.ActivityInfo) -> None:
        self.key: RunKey = (info.workflow_id, info.workflow_run_id)
        self.workflow_id = info.workflow_id
        self.workflow_type = info.workflow_type
        self.closed = False
        self.activities: dict[int, Any] = {}


class SingleActivity:
    """Runs one attempt of ``definition`` on ``clock``: make one per run, then :meth:`run`.

    Args:
        clock: the virtual clock; a new host loop is made on it, and closed by :meth:`run`.
        definition: the activity.
        info: what the code sees from ``activity.info()``; its ids, attempt number, heartbeat
            details and timeouts are the attempt's (the timeouts are enforced).
        on_heartbeat: called with each heartbeat's details on the thread that sent it, before
            the server hears of it (it may call :meth:`request_cancel`).
    """

    def __init__(
        self,
        clock: VirtualClock,
        definition: ActivityDefinition,
        info: _activity.ActivityInfo,
        on_heartbeat: HeartbeatSink,
    ) -> None:
        self.clock = clock
        self.definition = definition
        self.info = info
        self.on_heartbeat = on_heartbeat
        self.loop = clock.new_event_loop()
        self.loop.set_exception_handler(self._loop_error)
        #: The activity's own engine: the server and worker's clock, loop and registry.
        self.engine = Engine(
            clock=clock, loop=self.loop, activities={definition.name: definition}
        )
        self.server = _SingleServer(self)
        #: The attempt, once the worker has it.
        self.attempt: _SingleAttempt | None = None
        #: Set by the server when the attempt closes: whether it succeeded, and the value or error.
        self.outcome: tuple[bool, Any] | None = None
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.cancel_at_start = False
        self._cancel_timer: TimerHandle | None = None
        self._errors: list[BaseException] = []

    def run(self, args: Sequence[Any], *, cancel_after_ns: int | None = None) -> Any:
        """Run the attempt to its end and return its result (or raise), then close the loop.

        Raises:
            TimeoutError: a timeout passed.
            WorkflowBlockedError: async code waits for something nothing will do.
            Exception: what the code raised.
        """
        try:
            return self._run(args, cancel_after_ns)
        finally:
            self.loop.close()

    def _run(self, args: Sequence[Any], cancel_after_ns: int | None) -> Any:
        info = self.info
        now = self.clock.now_ns()
        scheduled = ev.ActivityTaskScheduled(
            event_id=1,
            time_ns=now,
            activity_id=info.activity_id,
            activity_type=self.definition.name,
            input=list(args),
            schedule_to_close_timeout_ns=_ns(info.schedule_to_close_timeout),
            start_to_close_timeout_ns=_ns(info.start_to_close_timeout),
            heartbeat_timeout_ns=_ns(info.heartbeat_timeout),
        )
        self.cancel_at_start = cancel_after_ns == 0
        progress = {
            "attempt": info.attempt,
            "heartbeat_details": list(info.heartbeat_details),
            "retry_due_ns": None,
        }
        # No retry policy: this one attempt's outcome is the activity's.
        self.server.schedule(_Owner(info), scheduled, None, progress=progress)
        if cancel_after_ns:
            self._cancel_later(cancel_after_ns)
        try:
            self.loop.run_until_complete(self.done)
        except LoopIdle:
            self._abandon()
            raise WorkflowBlockedError(
                f"activity {self.definition.name!r} cannot finish: it waits for something that "
                "nothing scheduled will do (no timer, no real I/O in flight), and no timeout is "
                "set to end it"
            ) from None
        finally:
            if self._cancel_timer is not None:
                self._cancel_timer.cancel()
        assert self.outcome is not None
        succeeded, value = self.outcome
        if isinstance(value, TimeoutError):
            self._abandon()
            raise value
        if self._errors:
            raise self._errors[0]
        if not succeeded:
            raise value
        return value

    def _abandon(self) -> None:
        """Stop the code after a timeout: let a cancelled task unwind, at this time."""
        attempt = self.attempt
        assert attempt is not None  # the worker takes the attempt as it is scheduled
        if not attempt.finished:
            attempt.abort()
        future = attempt.future
        if future is None or future.done():
            return
        self.loop.settling = True
        try:
            self.loop.run_until_complete(future)
        except (Exception, asyncio.CancelledError):
            # Whatever the cancelled activity does on its way out is not the test's outcome.
            pass
        finally:
            self.loop.settling = False

    # --- cancellation ----------------------------------------------------------------------------

    def request_cancel(self, delay_ns: int) -> None:
        """Cancel the code now, or ``delay_ns`` of virtual time from now; from any thread."""
        attempt = self.attempt
        if not delay_ns and attempt is not None and attempt.context is not None:
            attempt.context.cancel()  # sync code sees it at once, whichever thread asks
        if threading.get_ident() == self.engine.loop_thread:
            self._cancel_later(delay_ns)
        else:
            # RuntimeError: the run ended (its loop is closed), so nothing is left to cancel.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._cancel_later, delay_ns)

    def _cancel_later(self, delay_ns: int) -> None:
        if delay_ns:
            self._cancel_timer = self.clock.call_at(
                self.loop, self.clock.now_ns() + delay_ns, self._cancel_now
            )
        else:
            self._cancel_now()

    def _cancel_now(self) -> None:
        attempt = self.attempt
        if attempt is not None and not attempt.finished:
            attempt.request_cancel()

    def _loop_error(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        if isinstance(exception, BaseException):
            self._errors.append(exception)
        else:
            self._errors.append(RuntimeError(str(context.get("message"))))


class _SingleAttempt(Attempt):
    """The attempt as the worker runs it: the test's info, values passed as they are."""

    __slots__ = ("single",)

    def __init__(
        self, worker: ActivityWorker, task: ActivityTask, started_ns: int, single: SingleActivity
    ) -> None:
        super().__init__(worker, task, started_ns)
        self.single = single
        self.cancel_requested = single.cancel_at_start
        single.attempt = self

    def info(self, heartbeat_details: tuple[Any, ...] | None = None) -> _activity.ActivityInfo:
        return self.single.info

    def decode_args(self, definition: ActivityDefinition) -> list[Any]:
        return list(self.task.args)

    def encode_result(self, result: Any) -> Any:
        return result

    def heartbeat(self, details: Sequence[Any]) -> None:
        details = tuple(details)
        self.single.on_heartbeat(details)
        # RuntimeError: a late heartbeat from a thread whose run has ended (its loop closed).
        with contextlib.suppress(RuntimeError):
            super().heartbeat(details)


class _SingleServer(ActivityServer):
    """The activity server, whose recording hands the outcome to the :class:`SingleActivity`."""

    def __init__(self, single: SingleActivity) -> None:
        super().__init__(single.engine)
        self.single = single
        self.worker.new_attempt = lambda worker, task, started_ns: _SingleAttempt(
            worker, task, started_ns, single
        )

    def record_completed(
        self, act: ActivityState, attempt_number: int, started_ns: int, value: Any
    ) -> None:
        self._close(True, value)

    def record_failed(
        self,
        act: ActivityState,
        attempt_number: int,
        error: BaseException,
        state: RetryState,
        started_ns: int | None,
    ) -> None:
        self._close(False, error)

    def _close(self, succeeded: bool, value: Any) -> None:
        # Once: the server closes an activity (``_finish``) before it records the outcome.
        self.single.outcome = (succeeded, value)
        self.single.done.set_result(None)


def _ns(value: timedelta | None) -> int | None:
    return to_ns(value, what="timeout")
