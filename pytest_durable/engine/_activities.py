"""The host side of activities: attempts, timeouts, heartbeats, retries and cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .. import activity as _activity
from ..common import RetryPolicy, decide_retry, from_ns
from ..errors import (
    ApplicationError,
    PayloadError,
    RetryState,
    TimeoutError,
    TimeoutType,
    UnboundedRetryError,
)
from . import _events as ev
from ._clock import TimerHandle
from ._definitions import ActivityDefinition
from ._failure import encode_failure, error_type_of
from ._observers import AttemptFinished, AttemptOutcome, AttemptStarted
from ._payload import encode

if TYPE_CHECKING:
    from ._engine import Engine
    from ._runs import _Run


@runtime_checkable
class InlineActivity(Protocol):
    """An activity implementation driven directly by the engine (mocks use this).

    ``run_attempt`` is called on the host loop; it must eventually call ``attempt.succeed`` or
    ``attempt.fail`` (or never, to hang), possibly later through ``attempt.call_later_ns``.
    """

    def run_attempt(self, attempt: Attempt) -> None:
        """Start one attempt."""


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )


class ActivityState:
    """One scheduled activity, across all its attempts."""

    __slots__ = (
        "activity_id",
        "activity_type",
        "args",
        "attempt",
        "attempt_handle",
        "cancel_requested",
        "deadline_timer",
        "first_scheduled_ns",
        "heartbeat_details",
        "heartbeat_ns",
        "last_failure",
        "retry_policy",
        "retry_timer",
        "run",
        "schedule_to_close_ns",
        "schedule_to_start_ns",
        "scheduled_event_id",
        "start_to_close_ns",
    )

    def __init__(self, run: _Run, event: ev.ActivityTaskScheduled, policy: RetryPolicy | None):
        self.run = run
        self.scheduled_event_id = event.event_id
        self.activity_id = event.activity_id
        self.activity_type = event.activity_type
        self.args = event.input
        self.schedule_to_close_ns = event.schedule_to_close_timeout_ns
        self.schedule_to_start_ns = event.schedule_to_start_timeout_ns
        self.start_to_close_ns = event.start_to_close_timeout_ns
        self.heartbeat_ns = event.heartbeat_timeout_ns
        self.retry_policy = policy
        self.first_scheduled_ns = event.time_ns
        self.attempt = 1
        self.heartbeat_details: Sequence[Any] = ()
        #: The failure of the last attempt that was retried: a final timeout's cause.
        self.last_failure: BaseException | None = None
        self.attempt_handle: Attempt | None = None
        self.deadline_timer: TimerHandle | None = None
        self.retry_timer: TimerHandle | None = None
        self.cancel_requested = False


class Attempt:
    """One attempt of an activity: what implementations report to, and what times it out."""

    __slots__ = (
        "_timers",
        "activity",
        "context",
        "engine",
        "finished",
        "last_beat_ns",
        "lost",
        "number",
        "scheduled_ns",
        "started",
        "started_ns",
        "task",
    )

    def __init__(self, engine: Engine, activity: ActivityState) -> None:
        self.engine = engine
        self.activity = activity
        self.number = activity.attempt
        self.scheduled_ns = engine.clock.now_ns()
        self.started_ns = self.scheduled_ns
        #: Whether a worker picked the attempt up (a queued attempt can time out unstarted).
        self.started = False
        self.finished = False
        #: Set when what the worker reports never reaches the server: ``"completion"`` drops
        #: the outcome (a lost completion), ``"worker"`` everything (the worker died).
        self.lost: str | None = None
        self.last_beat_ns: int | None = None
        self.task: asyncio.Future[Any] | None = None
        self._timers: list[TimerHandle] = []
        self.context: _activity.ActivityContext | None = None

    # --- facts for implementations --------------------------------------------------------------

    @property
    def activity_type(self) -> str:
        return self.activity.activity_type

    @property
    def args(self) -> list[Any]:
        """The encoded (JSON) arguments."""
        return self.activity.args

    def now_ns(self) -> int:
        return self.engine.clock.now_ns()

    def info(self, heartbeat_details: tuple[Any, ...] | None = None) -> _activity.ActivityInfo:
        act = self.activity
        run = act.run
        return _activity.ActivityInfo(
            activity_id=act.activity_id,
            activity_type=act.activity_type,
            attempt=self.number,
            workflow_id=run.workflow_id,
            workflow_run_id=run.run_id,
            workflow_type=run.definition.name,
            scheduled_time=_dt(act.first_scheduled_ns),
            current_attempt_scheduled_time=_dt(self.scheduled_ns),
            started_time=_dt(self.started_ns),
            heartbeat_details=(
                tuple(act.heartbeat_details) if heartbeat_details is None else heartbeat_details
            ),
            schedule_to_close_timeout=_td(act.schedule_to_close_ns),
            start_to_close_timeout=_td(act.start_to_close_ns),
            heartbeat_timeout=_td(act.heartbeat_ns),
        )

    def call_later_ns(self, delay_ns: int, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` after ``delay_ns`` of (virtual) time, unless the attempt ended."""

        def guarded() -> None:
            if not self.finished:
                callback(*args)

        self._timers.append(
            self.engine.clock.call_at(self.engine.loop, self.now_ns() + delay_ns, guarded)
        )

    # --- outcomes --------------------------------------------------------------------------------

    def succeed(self, result: Any) -> None:
        if self.finished or self.lost is not None:
            return
        try:
            value = encode(result, where=f"the result of activity {self.activity_type!r}")
        except PayloadError as exc:
            self.fail(ApplicationError(str(exc), type="PayloadError", non_retryable=True))
            return
        self._end()
        self.engine._activities.completed(self, value)

    def fail(self, error: BaseException) -> None:
        if self.finished or self.lost is not None:
            return
        self._end()
        self.engine._activities.failed(self, error, None)

    def heartbeat(self, details: Sequence[Any]) -> None:
        """Record heartbeat details (from any thread) and reset the heartbeat timeout."""
        loop = self.engine.loop
        if threading.get_ident() == self.engine.loop_thread:
            self._on_heartbeat(tuple(details))
        else:
            loop.call_soon_threadsafe(self._on_heartbeat, tuple(details))

    def _on_heartbeat(self, details: tuple[Any, ...]) -> None:
        # A lost completion still heartbeats; a dead worker or an unknown twin does not.
        if self.finished or (self.lost is not None and self.lost != "completion"):
            return
        self.activity.heartbeat_details = details
        self.engine._activities.heartbeat_received(self)

    def _add_timer(self, timer: TimerHandle) -> None:
        self._timers.append(timer)

    def _end(self) -> None:
        self.finished = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def abort(self) -> None:
        """Stop the attempt's work: cancel its task, flag cancellation to sync code."""
        self._end()
        if self.context is not None:
            self.context.cancel()
        if self.task is not None and not self.task.done():
            self.task.cancel()


def _td(ns: int | None) -> Any:
    return from_ns(ns) if ns is not None else None


class ActivityRunner:
    """Runs activity attempts for an engine and records their outcomes in history."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.paused = False
        self._waiting: list[ActivityState] = []

    # --- scheduling ------------------------------------------------------------------------------

    def schedule(
        self, run: _Run, event: ev.ActivityTaskScheduled, policy: RetryPolicy | None
    ) -> ActivityState:
        act = ActivityState(run, event, policy)
        run.activities[event.event_id] = act
        engine = self.engine
        if act.schedule_to_close_ns is not None:
            act.deadline_timer = engine.clock.call_at(
                engine.loop,
                act.first_scheduled_ns + act.schedule_to_close_ns,
                self._deadline_passed,
                act,
            )
        self._dispatch(act)
        return act

    def _dispatch(self, act: ActivityState) -> None:
        act.retry_timer = None
        attempt = Attempt(self.engine, act)
        act.attempt_handle = attempt
        if self.paused:
            # Queued until a worker picks it up: that wait is what schedule-to-start bounds.
            if act.schedule_to_start_ns is not None:
                attempt._add_timer(
                    self.engine.clock.call_at(
                        self.engine.loop,
                        attempt.scheduled_ns + act.schedule_to_start_ns,
                        self._timed_out,
                        attempt,
                        TimeoutType.SCHEDULE_TO_START,
                    )
                )
            self._waiting.append(act)
            return
        self._start(attempt)

    def pause(self) -> None:
        """Stop picking up activity attempts (they wait; schedule-to-start timeouts run)."""
        self.paused = True

    def resume(self) -> None:
        """Pick up waiting attempts again."""
        self.paused = False
        waiting, self._waiting = self._waiting, []
        for act in waiting:
            attempt = act.attempt_handle
            if attempt is not None and not attempt.finished:
                self._start(attempt)

    def _start(self, attempt: Attempt) -> None:
        engine = self.engine
        act = attempt.activity
        attempt._end()  # drops the schedule-to-start timer, if any
        attempt.finished = False
        attempt.started = True
        attempt.started_ns = engine.clock.now_ns()
        if engine.observers.attempt_started:
            engine.observers.notify(
                AttemptStarted(
                    run=act.run.key,
                    scheduled_event_id=act.scheduled_event_id,
                    activity_type=act.activity_type,
                    activity_id=act.activity_id,
                    attempt=attempt.number,
                    started_ns=attempt.started_ns,
                )
            )
        if act.start_to_close_ns is not None:
            attempt._add_timer(
                engine.clock.call_at(
                    engine.loop,
                    attempt.started_ns + act.start_to_close_ns,
                    self._timed_out,
                    attempt,
                    TimeoutType.START_TO_CLOSE,
                )
            )
        if act.heartbeat_ns is not None:
            self._arm_heartbeat(attempt)
        hook = engine.attempt_hook
        if hook is not None and hook(attempt, self.run_code):
            return
        self.run_code(attempt)

    def run_code(self, attempt: Attempt) -> None:
        """The worker's side of an attempt: run its implementation (a function or a mock)."""
        engine = self.engine
        act = attempt.activity
        impl = engine.activity_implementation(act.activity_type)
        if impl is None:
            known = ", ".join(sorted(engine.activity_names())) or "none"
            # As on Temporal (a worker without the activity), a retryable NotFoundError: the
            # retry policy applies, and a mock registered meanwhile serves the next attempt.
            attempt.fail(
                ApplicationError(
                    f"no implementation or mock for activity {act.activity_type!r}; registered "
                    f"activities: {known}. Pass it to the environment (activities=[...]) or "
                    "mock it with env.mock_activity().",
                    type="NotFoundError",
                )
            )
            return
        if isinstance(impl, ActivityDefinition):
            self._start_function(attempt, impl)
        else:
            impl.run_attempt(attempt)

    def _start_function(self, attempt: Attempt, definition: ActivityDefinition) -> None:
        engine = self.engine
        try:
            args = definition.signature.decode_args(attempt.args)
        except Exception as exc:
            attempt.fail(exc)
            return
        # Heartbeat details as they are now: the attempt's own heartbeats must not show up.
        details = tuple(attempt.activity.heartbeat_details)
        context = _activity.ActivityContext(
            lambda: attempt.info(heartbeat_details=details), attempt.heartbeat
        )
        attempt.context = context
        ctx = contextvars.copy_context()
        ctx.run(_activity._context.set, context)
        task: asyncio.Future[Any]
        if definition.is_async:
            task = engine.loop.create_task(definition.fn(*args), context=ctx)
            self._io_waiter_started(task)
        else:
            task = engine.loop.run_in_executor(None, ctx.run, definition.fn, *args)
        attempt.task = task
        task.add_done_callback(lambda t: self._function_done(attempt, t))

    def _io_waiter_started(self, task: asyncio.Future[Any]) -> None:
        """Count a running async attempt: only then may a watched socket hold a time jump."""
        loop = self.engine.loop
        waiters = getattr(loop, "io_waiters", None)
        if waiters is None:
            return
        loop.io_waiters = waiters + 1  # type: ignore[attr-defined]
        task.add_done_callback(self._io_waiter_done)

    def _io_waiter_done(self, _task: asyncio.Future[Any]) -> None:
        loop = self.engine.loop
        loop.io_waiters -= 1  # type: ignore[attr-defined]

    def _function_done(self, attempt: Attempt, task: asyncio.Future[Any]) -> None:
        if attempt.finished:
            return
        if task.cancelled():
            from ..errors import CancelledError

            attempt.fail(CancelledError("activity cancelled"))
            return
        exc = task.exception()
        if exc is None:
            attempt.succeed(task.result())
        else:
            attempt.fail(exc)

    # --- timeouts and heartbeats --------------------------------------------------------------

    def _arm_heartbeat(self, attempt: Attempt) -> None:
        act = attempt.activity
        assert act.heartbeat_ns is not None
        attempt._add_timer(
            self.engine.clock.call_at(
                self.engine.loop,
                self.engine.clock.now_ns() + act.heartbeat_ns,
                self._heartbeat_check,
                attempt,
                self.engine.clock.now_ns(),
            )
        )

    def heartbeat_received(self, attempt: Attempt) -> None:
        attempt.last_beat_ns = self.engine.clock.now_ns()
        if attempt.activity.heartbeat_ns is not None:
            self._arm_heartbeat(attempt)

    def _heartbeat_check(self, attempt: Attempt, armed_at: int) -> None:
        last = attempt.last_beat_ns
        if last is not None and last > armed_at:
            return  # a later heartbeat re-armed the timer
        self._timed_out(attempt, TimeoutType.HEARTBEAT)

    def _timed_out(self, attempt: Attempt, timeout_type: TimeoutType) -> None:
        if attempt.finished:
            return
        attempt.abort()
        act = attempt.activity
        error = TimeoutError(
            f"activity {timeout_type.name.lower().replace('_', '-')} timeout",
            type=timeout_type,
            last_heartbeat_details=tuple(act.heartbeat_details),
        )
        self.failed(attempt, error, timeout_type)

    def _deadline_passed(self, act: ActivityState) -> None:
        act.deadline_timer = None
        if act.run.closed or act.scheduled_event_id not in act.run.activities:
            return
        started_ns = None
        attempt = act.attempt_handle
        if attempt is not None:
            attempt.abort()
            if attempt.started:
                started_ns = attempt.started_ns
        if act.retry_timer is not None:
            act.retry_timer.cancel()
        error = TimeoutError(
            "activity schedule-to-close timeout",
            type=TimeoutType.SCHEDULE_TO_CLOSE,
            last_heartbeat_details=tuple(act.heartbeat_details),
        )
        if self.engine.observers.attempt_finished:
            self._observe(
                act,
                act.attempt,
                started_ns,
                AttemptOutcome.TIMED_OUT,
                error,
                TimeoutType.SCHEDULE_TO_CLOSE,
            )
        self._record_failure(act, act.attempt, error, RetryState.TIMEOUT, started_ns)

    # --- outcomes --------------------------------------------------------------------------------

    def _observe(
        self,
        act: ActivityState,
        number: int,
        started_ns: int | None,
        outcome: AttemptOutcome,
        error: BaseException | None = None,
        timeout_type: TimeoutType | None = None,
        will_retry: bool = False,
        result: Any = None,
    ) -> None:
        notice = AttemptFinished(
            run=act.run.key,
            activity_type=act.activity_type,
            activity_id=act.activity_id,
            scheduled_event_id=act.scheduled_event_id,
            attempt=number,
            started_ns=started_ns,
            ended_ns=self.engine.clock.now_ns(),
            outcome=outcome,
            error=error,
            timeout_type=timeout_type,
            will_retry=will_retry,
            result=result,
        )
        self.engine.observers.notify(notice)

    def completed(self, attempt: Attempt, value: Any) -> None:
        act = attempt.activity
        if self._gone(act):
            return
        if self.engine.observers.attempt_finished:
            self._observe(
                act, attempt.number, attempt.started_ns, AttemptOutcome.COMPLETED, result=value
            )
        run = act.run
        now = self.engine.clock.now_ns()
        self._finish(act)
        self.engine._append_input(
            run,
            [
                ev.ActivityTaskStarted(
                    event_id=run.next_event_id,
                    time_ns=attempt.started_ns,
                    scheduled_event_id=act.scheduled_event_id,
                    attempt=attempt.number,
                ),
                ev.ActivityTaskCompleted(
                    event_id=run.next_event_id + 1,
                    time_ns=now,
                    scheduled_event_id=act.scheduled_event_id,
                    result=value,
                ),
            ],
        )

    def failed(
        self, attempt: Attempt, error: BaseException, timeout_type: TimeoutType | None
    ) -> None:
        act = attempt.activity
        if self._gone(act):
            return
        engine = self.engine
        now = engine.clock.now_ns()
        if timeout_type is not None:
            retryable = timeout_type in (TimeoutType.START_TO_CLOSE, TimeoutType.HEARTBEAT)
            error_type = None
            next_delay = None
        else:
            retryable = not (isinstance(error, ApplicationError) and error.non_retryable)
            error_type = error_type_of(error)
            next_delay = None
            if isinstance(error, ApplicationError) and error.next_retry_delay is not None:
                next_delay = round(error.next_retry_delay.total_seconds() * 1e9)
        if act.cancel_requested:
            return
        deadline = None
        if act.schedule_to_close_ns is not None:
            deadline = act.first_scheduled_ns + act.schedule_to_close_ns
        decision = decide_retry(
            act.retry_policy,
            attempt=attempt.number,
            retryable=retryable,
            error_type=error_type,
            next_retry_delay_ns=next_delay,
            now_ns=now,
            schedule_to_close_deadline_ns=deadline,
        )
        if engine.observers.attempt_finished:
            self._observe(
                act,
                attempt.number,
                attempt.started_ns if attempt.started else None,
                AttemptOutcome.FAILED if timeout_type is None else AttemptOutcome.TIMED_OUT,
                error,
                timeout_type,
                decision.delay_ns is not None,
            )
        if decision.delay_ns is not None:
            self._check_unbounded(act, attempt.number, deadline, error)
            act.last_failure = error
            act.attempt += 1
            act.attempt_handle = None
            act.retry_timer = engine.clock.call_at(
                engine.loop, now + decision.delay_ns, self._dispatch, act
            )
            return
        if timeout_type is not None and decision.state is RetryState.TIMEOUT:
            # The next attempt would start past the schedule-to-close deadline: Temporal closes
            # a timed-out activity with that deadline's timeout, not the attempt's own.
            error = TimeoutError(
                "activity schedule-to-close timeout",
                type=TimeoutType.SCHEDULE_TO_CLOSE,
                last_heartbeat_details=tuple(act.heartbeat_details),
            )
        started_ns = attempt.started_ns if attempt.started else None
        self._record_failure(act, attempt.number, error, decision.state, started_ns)

    def _check_unbounded(
        self, act: ActivityState, attempt: int, deadline: int | None, error: BaseException
    ) -> None:
        """Stop a retry loop that nothing in its policy would ever end (see the engine's option).

        Raised on the host loop, the error ends the drive; the activity is left unretried, so
        the history stays as it was (nothing is recorded that the workflow would have to see).
        """
        limit = self.engine.max_unbounded_attempts
        policy = act.retry_policy
        if limit is None or deadline is not None or policy is None:
            return
        if policy.maximum_attempts == 0 and attempt >= limit:
            self._finish(act)
            raise UnboundedRetryError(
                f"activity {act.activity_type!r} (id {act.activity_id!r}) of workflow "
                f"{act.run.workflow_id!r} has failed {attempt} times, most recently with "
                f"{type(error).__name__}: {error}. Its retry policy sets no maximum_attempts "
                "and it has no schedule_to_close_timeout, so it would retry forever and the "
                "test would never end. Give the activity a RetryPolicy(maximum_attempts=...) "
                "or a schedule_to_close_timeout, or raise the environment's "
                "max_unbounded_attempts."
            )

    def _record_failure(
        self,
        act: ActivityState,
        attempt_number: int,
        error: BaseException,
        state: RetryState,
        started_ns: int | None,
    ) -> None:
        """Record the final failure; ``started_ns`` is None when the attempt never started.

        An attempt still queued (schedule-to-start) has no ActivityTaskStarted, as on Temporal;
        one that ran keeps the time it really started, not the time it ended.
        """
        now = self.engine.clock.now_ns()
        self._finish(act)
        if isinstance(error, TimeoutError) and act.last_failure is not None:
            # Temporal's final timeout carries the previous attempt's failure as its cause.
            error.__cause__ = act.last_failure
        failure = encode_failure(error)
        cls = ev.ActivityTaskTimedOut if isinstance(error, TimeoutError) else ev.ActivityTaskFailed
        events: list[ev.Event] = []
        next_id = act.run.next_event_id
        if started_ns is not None:
            events.append(
                ev.ActivityTaskStarted(
                    event_id=next_id,
                    time_ns=started_ns,
                    scheduled_event_id=act.scheduled_event_id,
                    attempt=attempt_number,
                )
            )
        events.append(
            cls(
                event_id=next_id + len(events),
                time_ns=now,
                scheduled_event_id=act.scheduled_event_id,
                failure=failure,
                retry_state=state.value,
            )
        )
        self.engine._append_input(act.run, events)

    def cancel(self, run: _Run, scheduled_event_id: int) -> None:
        """The workflow asked to cancel: stop the attempt and retries, record the cancellation."""
        act = run.activities.get(scheduled_event_id)
        if act is None:
            return
        act.cancel_requested = True
        attempt = act.attempt_handle
        if attempt is not None:
            attempt.abort()
            if self.engine.observers.attempt_finished:
                self._observe(
                    act,
                    attempt.number,
                    attempt.started_ns if attempt.started else None,
                    AttemptOutcome.CANCELLED,
                )
        self._finish(act)
        self.engine._append_input(
            run,
            [
                ev.ActivityTaskCanceled(
                    event_id=run.next_event_id,
                    time_ns=self.engine.clock.now_ns(),
                    scheduled_event_id=scheduled_event_id,
                )
            ],
        )

    def abandon(self, run: _Run) -> None:
        """The run closed: stop every activity it still has in flight, recording nothing."""
        for act in list(run.activities.values()):
            act.cancel_requested = True
            attempt = act.attempt_handle
            if attempt is not None:
                in_flight = not attempt.finished
                attempt.abort()
                if in_flight and self.engine.observers.attempt_finished:
                    self._observe(
                        act,
                        attempt.number,
                        attempt.started_ns if attempt.started else None,
                        AttemptOutcome.CANCELLED,
                    )
            self._finish(act)

    def _gone(self, act: ActivityState) -> bool:
        return act.run.closed or act.scheduled_event_id not in act.run.activities

    def _finish(self, act: ActivityState) -> None:
        act.run.activities.pop(act.scheduled_event_id, None)
        for timer in (act.deadline_timer, act.retry_timer):
            if timer is not None:
                timer.cancel()
        act.deadline_timer = act.retry_timer = None
        # Break the state <-> attempt cycle (a finished attempt checks its own flag).
        act.attempt_handle = None
        if act in self._waiting:
            self._waiting.remove(act)
