"""The server side of activities: attempts, deadlines, timeouts, retries and recording.

The server owns everything Temporal's server owns for an activity: the attempt number, the
schedule-to-close deadline, each attempt's schedule-to-start, start-to-close and heartbeat
timeouts, the retry decision and backoff, and what is recorded in history. It never runs an
activity's code: it dispatches an :class:`ActivityTask` per attempt through the
:class:`ActivityChannel` to the worker, and acts on what comes back under the attempt's token,
ignoring stale and duplicate tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..common import RetryPolicy, decide_retry
from ..errors import (
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
    UnboundedRetryError,
)
from . import _events as ev
from ._activity_channel import ActivityChannel, ActivityTask, Token
from ._activity_worker import ActivityWorker
from ._clock import TimerHandle
from ._definitions import ActivityDefinition
from ._failure import encode_failure, error_type_of
from ._instance import _raise_site
from ._location import display_path
from ._observers import AttemptOutcome, AttemptStarted
from ._runs import _Run
from ._store import RunKey

if TYPE_CHECKING:
    from ._engine import Engine

_new_tuple = tuple.__new__


class ActivityOwner(Protocol):
    """What the server needs of the run an activity belongs to.

    A workflow run's :class:`_Run`; or, for an activity run alone, the stand-in that
    :mod:`._single_activity` makes (whose server returns outcomes instead of recording them).
    """

    key: RunKey
    workflow_id: str
    closed: bool
    #: The run's activities in flight, by scheduled event id (the server adds and removes them).
    activities: dict[int, Any]

    @property
    def workflow_type(self) -> str:
        """The workflow type name ``activity.info()`` shows."""


class ActivityState:
    """One scheduled activity, across all its attempts (the server's record)."""

    __slots__ = (
        "activity_id",
        "activity_type",
        "args",
        "attempt",
        "cancel_requested",
        "current",
        "deadline_timer",
        "first_scheduled_ns",
        "heartbeat_details",
        "heartbeat_ns",
        "last_failure",
        "retry_policy",
        "retry_timer",
        "run",
        "saved",
        "schedule_to_close_ns",
        "schedule_to_start_ns",
        "scheduled_event_id",
        "start_to_close_ns",
    )

    def __init__(
        self, run: ActivityOwner, event: ev.ActivityTaskScheduled, policy: RetryPolicy | None
    ):
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
        #: The number of the current (or next) attempt.
        self.attempt = 1
        #: The last heartbeat details received, from any attempt.
        self.heartbeat_details: Sequence[Any] = ()
        #: The failure of the last attempt that was retried: a final timeout's cause.
        self.last_failure: BaseException | None = None
        #: The attempt in progress (dispatched, maybe started), None during a retry backoff.
        self.current: AttemptRecord | None = None
        self.deadline_timer: TimerHandle | None = None
        self.retry_timer: TimerHandle | None = None
        self.cancel_requested = False
        #: Whether progress was kept for it in the store (forgotten when it closes).
        self.saved = False


class AttemptRecord:
    """The server's view of one attempt: its token, its times and its timeout timers."""

    __slots__ = ("act", "ended", "last_beat_ns", "scheduled_ns", "started_ns", "timers", "token")

    def __init__(self, act: ActivityState, token: Token, scheduled_ns: int) -> None:
        self.act = act
        self.token = token
        self.scheduled_ns = scheduled_ns
        #: When a worker picked it up; None while it waits in the task queue.
        self.started_ns: int | None = None
        self.last_beat_ns: int | None = None
        self.timers: list[TimerHandle] = []
        self.ended = False


class ActivityServer:
    """Decides and records activities' outcomes for an engine; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.worker = ActivityWorker(engine)
        self.channel = ActivityChannel(self, self.worker)
        self.worker.channel = self.channel
        #: The attempts the server waits for, by token: a report under any other is ignored.
        self.attempts: dict[Token, AttemptRecord] = {}

    # --- scheduling -------------------------------------------------------------------------------

    def schedule(
        self,
        run: ActivityOwner,
        event: ev.ActivityTaskScheduled,
        policy: RetryPolicy | None,
        *,
        progress: dict[str, Any] | None = None,
    ) -> ActivityState:
        """Start serving a scheduled activity; ``progress`` is what a restart read back."""
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
        retry_due = None
        if progress is not None:
            act.saved = True
            act.attempt = progress["attempt"]
            act.heartbeat_details = tuple(progress["heartbeat_details"])
            retry_due = progress["retry_due_ns"]
        if retry_due is not None and retry_due > engine.clock.now_ns():
            act.retry_timer = engine.clock.call_at(engine.loop, retry_due, self._dispatch, act)
        else:
            self._dispatch(act)
        return act

    def _save(self, act: ActivityState, retry_due_ns: int | None) -> None:
        """Keep what history does not hold beside it, for a restart (see :mod:`._restart`)."""
        act.saved = True
        self.engine.store.save_progress(
            act.run.key,
            f"activity/{act.scheduled_event_id}",
            {
                "attempt": act.attempt,
                "heartbeat_details": list(act.heartbeat_details),
                "retry_due_ns": retry_due_ns,
            },
        )

    def forget_all(self) -> None:
        """Lose every record in memory (a restart): timers go, nothing is recorded or told."""
        for record in list(self.attempts.values()):
            record.ended = True
            for timer in record.timers:
                timer.cancel()
        self.attempts.clear()
        self.channel.queue.clear()
        for execution in self.engine.executions.values():
            for run in execution.runs:
                for act in run.activities.values():
                    for timer in (act.deadline_timer, act.retry_timer):
                        if timer is not None:
                            timer.cancel()
                    if act.current is not None:
                        act.current.ended = True
                    act.current = None
                run.activities.clear()

    def _dispatch(self, act: ActivityState) -> None:
        act.retry_timer = None
        now = self.engine.clock.now_ns()
        run = act.run
        # Token(...) and ActivityTask(...) with its fields by position: a named tuple's
        # __new__ and eleven keywords cost more than the rest of a dispatch, once per attempt.
        token = _new_tuple(Token, (run.key, act.scheduled_event_id, act.attempt))
        record = AttemptRecord(act, token, now)
        act.current = record
        self.attempts[token] = record
        task = ActivityTask(
            token,
            act.activity_id,
            act.activity_type,
            act.args,
            run.workflow_type,
            act.first_scheduled_ns,
            now,
            act.heartbeat_details,
            act.schedule_to_close_ns,
            act.start_to_close_ns,
            act.heartbeat_ns,
        )
        if not self.channel.dispatch(task) and act.schedule_to_start_ns is not None:
            # Queued until a worker picks it up: that wait is what schedule-to-start bounds.
            record.timers.append(
                self.engine.clock.call_at(
                    self.engine.loop,
                    now + act.schedule_to_start_ns,
                    self._timed_out,
                    record,
                    TimeoutType.SCHEDULE_TO_START,
                )
            )

    def pause(self) -> None:
        """No worker polls: attempts wait in the queue (schedule-to-start timeouts run)."""
        self.channel.pause()

    def resume(self) -> None:
        """A worker polls again: the queued attempts start."""
        self.channel.resume()

    # --- reports from the worker ------------------------------------------------------------------

    def started(self, token: Token) -> int | None:
        record = self.attempts.get(token)
        if record is None:
            return None
        if record.started_ns is not None:
            return record.started_ns  # a second delivery of a started attempt: one attempt
        engine = self.engine
        act = record.act
        now = record.started_ns = engine.clock.now_ns()
        timers = record.timers
        if timers:  # the schedule-to-start timeout
            for timer in timers:
                timer.cancel()
            timers.clear()
        if engine.observers.attempt_started:
            engine.observers.notify(
                AttemptStarted(
                    run=act.run.key,
                    scheduled_event_id=act.scheduled_event_id,
                    activity_type=act.activity_type,
                    activity_id=act.activity_id,
                    attempt=token.attempt,
                    started_ns=now,
                )
            )
        if act.start_to_close_ns is not None:
            record.timers.append(
                engine.clock.call_at(
                    engine.loop,
                    now + act.start_to_close_ns,
                    self._timed_out,
                    record,
                    TimeoutType.START_TO_CLOSE,
                )
            )
        if act.heartbeat_ns is not None:
            self._arm_heartbeat(record)
        return now

    def completed(self, token: Token, value: Any) -> None:
        attempts = self.attempts
        record = attempts.get(token)
        if record is None:
            return  # stale or duplicate
        started_ns = record.started_ns
        if started_ns is None:
            return  # still queued: no worker has it
        act = record.act
        # What _end_attempt(record, stop_worker=False) and _observe do, written out: this runs
        # once for every activity.
        record.ended = True
        del attempts[token]
        timers = record.timers
        if timers:
            for timer in timers:
                timer.cancel()
            timers.clear()
        engine = self.engine
        observers = engine.observers
        if observers.attempt_finished or observers.attempt_log is not None:
            observers.attempt_ended(
                (
                    act.run.key,
                    act.scheduled_event_id,
                    act.activity_type,
                    act.activity_id,
                    token.attempt,
                    started_ns,
                    engine.clock.now_ns(),
                    AttemptOutcome.COMPLETED,
                    None,
                    None,
                    False,
                    value,
                )
            )
        self._finish(act)
        self.record_completed(act, token.attempt, started_ns, value)

    def failed(self, token: Token, error: BaseException) -> None:
        record = self.attempts.get(token)
        if record is None or record.started_ns is None:
            return  # stale or duplicate
        self._end_attempt(record, stop_worker=False)
        self._decide(record, error, None)

    def heartbeat(self, token: Token, details: tuple[Any, ...]) -> None:
        record = self.attempts.get(token)
        if record is None or record.started_ns is None:
            return
        act = record.act
        act.heartbeat_details = details
        record.last_beat_ns = self.engine.clock.now_ns()
        self._save(act, None)
        if act.heartbeat_ns is not None:
            self._arm_heartbeat(record)

    # --- timeouts ---------------------------------------------------------------------------------

    def _arm_heartbeat(self, record: AttemptRecord) -> None:
        heartbeat_ns = record.act.heartbeat_ns
        assert heartbeat_ns is not None
        now = self.engine.clock.now_ns()
        record.timers.append(
            self.engine.clock.call_at(
                self.engine.loop, now + heartbeat_ns, self._heartbeat_check, record, now
            )
        )

    def _heartbeat_check(self, record: AttemptRecord, armed_at: int) -> None:
        last = record.last_beat_ns
        if last is not None and last > armed_at:
            return  # a later heartbeat re-armed the timer
        self._timed_out(record, TimeoutType.HEARTBEAT)

    def _timed_out(self, record: AttemptRecord, timeout_type: TimeoutType) -> None:
        if record.ended:
            return
        self._end_attempt(record)
        act = record.act
        error = TimeoutError(
            f"activity {timeout_type.name.lower().replace('_', '-')} timeout",
            type=timeout_type,
            last_heartbeat_details=tuple(act.heartbeat_details),
        )
        self._decide(record, error, timeout_type)

    def _deadline_passed(self, act: ActivityState) -> None:
        act.deadline_timer = None
        if self._gone(act):
            return
        record = act.current
        started_ns = None
        if record is not None and not record.ended:
            self._end_attempt(record)
            started_ns = record.started_ns
        if act.retry_timer is not None:
            act.retry_timer.cancel()
        error = TimeoutError(
            "activity schedule-to-close timeout",
            type=TimeoutType.SCHEDULE_TO_CLOSE,
            last_heartbeat_details=tuple(act.heartbeat_details),
        )
        observers = self.engine.observers
        if observers.attempt_finished or observers.attempt_log is not None:
            observers.attempt_ended(
                (
                    act.run.key,
                    act.scheduled_event_id,
                    act.activity_type,
                    act.activity_id,
                    act.attempt,
                    started_ns,
                    self.engine.clock.now_ns(),
                    AttemptOutcome.TIMED_OUT,
                    error,
                    TimeoutType.SCHEDULE_TO_CLOSE,
                    False,
                    None,
                )
            )
        self._record_failure(act, act.attempt, error, RetryState.TIMEOUT, started_ns)

    # --- deciding ---------------------------------------------------------------------------------

    def _decide(
        self, record: AttemptRecord, error: BaseException, timeout_type: TimeoutType | None
    ) -> None:
        """An attempt failed or timed out: retry it after a backoff, or record the failure."""
        act = record.act
        if self._gone(act) or act.cancel_requested:
            return
        engine = self.engine
        now = engine.clock.now_ns()
        number = record.token.attempt
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
        deadline = None
        if act.schedule_to_close_ns is not None:
            deadline = act.first_scheduled_ns + act.schedule_to_close_ns
        decision = decide_retry(
            act.retry_policy,
            attempt=number,
            retryable=retryable,
            error_type=error_type,
            next_retry_delay_ns=next_delay,
            now_ns=now,
            schedule_to_close_deadline_ns=deadline,
        )
        if engine.observers.attempt_finished or engine.observers.attempt_log is not None:
            self._observe(
                record,
                AttemptOutcome.FAILED if timeout_type is None else AttemptOutcome.TIMED_OUT,
                error,
                timeout_type,
                decision.delay_ns is not None,
            )
        if decision.delay_ns is not None:
            self._check_unbounded(act, number, deadline, error)
            act.last_failure = error
            act.attempt += 1
            act.current = None
            due = now + decision.delay_ns
            self._save(act, due)
            act.retry_timer = engine.clock.call_at(engine.loop, due, self._dispatch, act)
            return
        if timeout_type is not None and decision.state is RetryState.TIMEOUT:
            # The next attempt would start past the schedule-to-close deadline: Temporal closes
            # a timed-out activity with that deadline's timeout, not the attempt's own.
            error = TimeoutError(
                "activity schedule-to-close timeout",
                type=TimeoutType.SCHEDULE_TO_CLOSE,
                last_heartbeat_details=tuple(act.heartbeat_details),
            )
        self._record_failure(act, number, error, decision.state, record.started_ns)

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
            raise self._unbounded_error(act, attempt, error)

    def _unbounded_error(
        self, act: ActivityState, attempt: int, error: BaseException
    ) -> UnboundedRetryError:
        """What the activity raised comes first, with its line: that is what needs fixing."""
        name = act.activity_type
        site = _raise_site(error)
        where = f" at {display_path(site[0])}:{site[1]}" if site is not None else ""
        impl = self.engine.activity_implementation(name)
        unimplemented = isinstance(error, NotImplementedError) and isinstance(
            impl, ActivityDefinition
        )
        if unimplemented:
            fix = (
                f"The activity is not mocked, and its code is not implemented: mock it in the "
                f"test, e.g. env.mock_activity({name}, returns=...)."
            )
        else:
            fix = (
                "Fix what makes it fail (or mock it), or bound its retries: a "
                "RetryPolicy(maximum_attempts=...) or a schedule_to_close_timeout."
            )
        message = (
            f"activity {name!r} raised {type(error).__name__}: {error}{where}; it failed "
            f"{attempt:,} times in a row (workflow {act.run.workflow_id!r}, activity id "
            f"{act.activity_id!r}). {fix} Its retry policy sets no maximum_attempts and it has "
            "no schedule_to_close_timeout, so Temporal would retry it forever; the test "
            "environment stops it after max_unbounded_attempts attempts (raise it, or None to "
            "retry forever)."
        )
        unbounded = UnboundedRetryError(message)
        unbounded.__cause__ = error
        return unbounded

    # --- recording --------------------------------------------------------------------------------
    # The activity is closed (``_finish``) before its outcome is recorded. ``record_completed``
    # and ``record_failed`` are where the outcome leaves the server: into the run's history
    # here; returned to the caller for an activity run alone (see :mod:`._single_activity`).

    def _record_failure(
        self,
        act: ActivityState,
        attempt_number: int,
        error: BaseException,
        state: RetryState,
        started_ns: int | None,
    ) -> None:
        """Close the activity with its final failure (``started_ns``: see :meth:`record_failed`)."""
        self._finish(act)
        if isinstance(error, TimeoutError) and act.last_failure is not None:
            # Temporal's final timeout carries the previous attempt's failure as its cause.
            error.__cause__ = act.last_failure
        self.record_failed(act, attempt_number, error, state, started_ns)

    def record_completed(
        self, act: ActivityState, attempt_number: int, started_ns: int, value: Any
    ) -> None:
        """Record that the activity returned ``value`` (encoded): the run's history gets it."""
        run = act.run
        assert isinstance(run, _Run), "an engine's activities belong to its workflow runs"
        next_id = len(run.events) + 1
        self.engine._append_input(
            run,
            [
                ev.ActivityTaskStarted(
                    event_id=next_id,
                    time_ns=started_ns,
                    scheduled_event_id=act.scheduled_event_id,
                    attempt=attempt_number,
                ),
                ev.ActivityTaskCompleted(
                    event_id=next_id + 1,
                    time_ns=self.engine.clock.now_ns(),
                    scheduled_event_id=act.scheduled_event_id,
                    result=value,
                ),
            ],
        )

    def record_failed(
        self,
        act: ActivityState,
        attempt_number: int,
        error: BaseException,
        state: RetryState,
        started_ns: int | None,
    ) -> None:
        """Record the activity's final failure or timeout: the run's history gets it.

        ``started_ns`` is None when the attempt never started: an attempt still queued
        (schedule-to-start) has no ActivityTaskStarted, as on Temporal; one that ran keeps the
        time it really started, not the time it ended.
        """
        run = self._workflow_run(act)
        now = self.engine.clock.now_ns()
        failure = encode_failure(error)
        cls = ev.ActivityTaskTimedOut if isinstance(error, TimeoutError) else ev.ActivityTaskFailed
        events: list[ev.Event] = []
        next_id = run.next_event_id
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
        self.engine._append_input(run, events)

    def cancel(self, run: _Run, scheduled_event_id: int) -> None:
        """The workflow asked to cancel: stop the attempt and retries, record the cancellation."""
        act = run.activities.get(scheduled_event_id)
        if act is None:
            return
        act.cancel_requested = True
        self._stop_current(act)
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
            self._stop_current(act)
            self._finish(act)

    # --- bookkeeping ------------------------------------------------------------------------------

    def _stop_current(self, act: ActivityState) -> None:
        record = act.current
        if record is not None and not record.ended:
            self._end_attempt(record)
            observers = self.engine.observers
            if observers.attempt_finished or observers.attempt_log is not None:
                self._observe(record, AttemptOutcome.CANCELLED)

    def _end_attempt(self, record: AttemptRecord, *, stop_worker: bool = True) -> None:
        """The server stops waiting for an attempt: its timers go, the worker is told.

        Unless the worker itself reported the outcome, it is told to stop the attempt (a second
        delivery of the same attempt then runs on, and what it reports is ignored).
        """
        record.ended = True
        self.attempts.pop(record.token, None)
        for timer in record.timers:
            timer.cancel()
        record.timers.clear()
        if record.started_ns is None:
            self.channel.withdraw(record.token)
        elif stop_worker:
            self.channel.cancel(record.token)

    def _observe(
        self,
        record: AttemptRecord,
        outcome: AttemptOutcome,
        error: BaseException | None = None,
        timeout_type: TimeoutType | None = None,
        will_retry: bool = False,
        result: Any = None,
    ) -> None:
        act = record.act
        self.engine.observers.attempt_ended(
            (
                act.run.key,
                act.scheduled_event_id,
                act.activity_type,
                act.activity_id,
                record.token.attempt,
                record.started_ns,
                self.engine.clock.now_ns(),
                outcome,
                error,
                timeout_type,
                will_retry,
                result,
            )
        )

    @staticmethod
    def _workflow_run(act: ActivityState) -> _Run:
        run = act.run
        assert isinstance(run, _Run), "an engine's activities belong to its workflow runs"
        return run

    def _gone(self, act: ActivityState) -> bool:
        return act.run.closed or act.scheduled_event_id not in act.run.activities

    def _finish(self, act: ActivityState) -> None:
        act.run.activities.pop(act.scheduled_event_id, None)
        if act.saved:
            act.saved = False
            self.engine.store.save_progress(act.run.key, f"activity/{act.scheduled_event_id}", None)
        for timer in (act.deadline_timer, act.retry_timer):
            if timer is not None:
                timer.cancel()
        act.deadline_timer = act.retry_timer = None
        record = act.current
        if record is not None and not record.ended:
            self._end_attempt(record)
        act.current = None
