"""The server side of local activities: attempts, timeouts and retries inside a workflow task.

A local activity runs on the workflow's worker while its workflow task is held open; nothing
reaches history until it resolves. Its attempts go through a worker and channel of their own
(the same :class:`ActivityWorker` code, so functions and mocks behave as for activities), and
this runner plays the server: it times attempts out and decides retries. A failed attempt is
retried after the policy's backoff right here when the wait is at most
``local_retry_threshold``; a longer wait resolves it with a *backoff*: the marker records the
failure, and the workflow waits on a durable timer before the next attempt, as Temporal's Core
SDK does. The schedule-to-close deadline counts from the first attempt's schedule, across timer
backoffs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import activity as _activity
from ..common import decide_retry
from ..errors import (
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
    UnboundedRetryError,
)
from ._activity_channel import ActivityChannel, ActivityTask, Token
from ._activity_worker import ActivityWorker, Attempt
from ._clock import TimerHandle
from ._commands import ScheduleLocalActivity, WorkflowCommand
from ._failure import error_type_of
from ._local import marker_details

if TYPE_CHECKING:
    from ._engine import Engine
    from ._runs import _Run


@dataclasses.dataclass(slots=True)
class OpenTask:
    """A workflow task's commands and when the code issued each (held open for local work)."""

    started_ns: int
    commands: list[WorkflowCommand] = dataclasses.field(default_factory=list)
    times: list[int] = dataclasses.field(default_factory=list)
    #: The update requests the task delivered (queued again if its append is rejected).
    requests: list[Any] = dataclasses.field(default_factory=list)

    def add(self, commands: list[WorkflowCommand], issued_ns: int) -> None:
        """Commands the code issued at ``issued_ns`` (workflow time)."""
        self.commands.extend(commands)
        self.times.extend([issued_ns] * len(commands))


class LocalActivityState:
    """One local activity command being run, across its in-task attempts."""

    __slots__ = (
        "attempt",
        "attempt_timer",
        "command",
        "deadline_timer",
        "first_scheduled_ns",
        "heartbeat_details",
        "last_failure",
        "retry_timer",
        "run",
        "token",
    )

    def __init__(self, run: _Run, command: ScheduleLocalActivity, now_ns: int) -> None:
        self.run = run
        self.command = command
        self.first_scheduled_ns = (
            command.original_schedule_ns if command.original_schedule_ns is not None else now_ns
        )
        self.attempt = command.attempt
        self.heartbeat_details: Sequence[Any] = ()
        self.last_failure: BaseException | None = None
        #: The attempt running now (None between attempts).
        self.token: Token | None = None
        self.attempt_timer: TimerHandle | None = None
        self.deadline_timer: TimerHandle | None = None
        self.retry_timer: TimerHandle | None = None


class LocalAttempt(Attempt):
    """An attempt of a local activity (``activity.info().is_local`` is True)."""

    __slots__ = ()

    def info(self, heartbeat_details: tuple[Any, ...] | None = None) -> _activity.ActivityInfo:
        return dataclasses.replace(super().info(heartbeat_details), is_local=True)


class LocalActivityRunner:
    """Runs the local activities of open workflow tasks and hands their outcomes back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._worker: ActivityWorker | None = None
        #: The attempts waited for, by token: a report under any other is ignored.
        self.current: dict[Token, LocalActivityState] = {}

    @property
    def worker(self) -> ActivityWorker:
        """The workflow's own activity worker, made at the first local activity.

        Most environments run none: every environment used to build a worker and its channel
        for them as it was created.
        """
        worker = self._worker
        if worker is None:
            worker = self._worker = ActivityWorker(self.engine)
            worker.channel = ActivityChannel(self, worker)
        return worker

    def start(self, run: _Run, command: ScheduleLocalActivity) -> None:
        """Run a local activity the workflow just scheduled."""
        engine = self.engine
        command.started = True
        if command.definition is not None:
            engine.activities.setdefault(command.activity_type, command.definition)
        state = LocalActivityState(run, command, engine.clock.now_ns())
        run.local_activities[command.seq] = state
        if command.schedule_to_close_ns is not None:
            state.deadline_timer = engine.clock.call_at(
                engine.loop,
                state.first_scheduled_ns + command.schedule_to_close_ns,
                self._deadline_passed,
                state,
            )
        self._dispatch(state)

    def _dispatch(self, state: LocalActivityState) -> None:
        engine = self.engine
        command = state.command
        state.retry_timer = None
        now = engine.clock.now_ns()
        # The sequence number stands in for a scheduled event: this channel is theirs alone.
        token = Token(state.run.key, command.seq, state.attempt)
        state.token = token
        self.current[token] = state
        task = ActivityTask(
            token=token,
            activity_id=command.activity_id,
            activity_type=command.activity_type,
            args=command.args,
            workflow_type=state.run.definition.name,
            first_scheduled_ns=state.first_scheduled_ns,
            scheduled_ns=now,
            heartbeat_details=state.heartbeat_details,
            schedule_to_close_ns=command.schedule_to_close_ns,
            start_to_close_ns=command.start_to_close_ns,
            heartbeat_ns=None,
        )
        if command.start_to_close_ns is not None:
            state.attempt_timer = engine.clock.call_at(
                engine.loop, now + command.start_to_close_ns, self._timed_out, state, token
            )
        # In the workflow's own worker: no task queue, no fault hook.
        self.worker.run_direct(LocalAttempt(self.worker, task, now))

    # --- reports from the worker (the channel's server side) ------------------------------------

    def started(self, token: Token) -> int | None:
        return self.engine.clock.now_ns() if token in self.current else None

    def completed(self, token: Token, value: Any) -> None:
        state = self._take(token)
        if state is not None:
            self._resolve(state, token.attempt, result=value)

    def failed(self, token: Token, error: BaseException) -> None:
        state = self._take(token)
        if state is not None:
            self._failed(state, token.attempt, error, None)

    def heartbeat(self, token: Token, details: tuple[Any, ...]) -> None:
        # No heartbeat timeout for local activities; the details reach the next attempt.
        state = self.current.get(token)
        if state is not None:
            state.heartbeat_details = details

    def _take(self, token: Token) -> LocalActivityState | None:
        """The attempt ``token`` names has ended: stop waiting for it."""
        state = self.current.pop(token, None)
        if state is not None:
            state.token = None
            if state.attempt_timer is not None:
                state.attempt_timer.cancel()
                state.attempt_timer = None
        return state

    def _stop_attempt(self, state: LocalActivityState) -> None:
        token = state.token
        if token is not None:
            self._take(token)
            self.worker.abort(token)

    # --- timeouts and retries -------------------------------------------------------------------

    def _timed_out(self, state: LocalActivityState, token: Token) -> None:
        if self.current.get(token) is not state:
            return
        self._stop_attempt(state)
        error = TimeoutError(
            "local activity start-to-close timeout", type=TimeoutType.START_TO_CLOSE
        )
        self._failed(state, token.attempt, error, TimeoutType.START_TO_CLOSE)

    def _deadline_passed(self, state: LocalActivityState) -> None:
        state.deadline_timer = None
        if self._gone(state):
            return
        self._stop_attempt(state)
        error = TimeoutError(
            "local activity schedule-to-close timeout", type=TimeoutType.SCHEDULE_TO_CLOSE
        )
        if state.last_failure is not None:
            error.__cause__ = state.last_failure
        self._resolve(state, state.attempt, failure=error, retry_state=RetryState.TIMEOUT)

    def _failed(
        self,
        state: LocalActivityState,
        attempt: int,
        error: BaseException,
        timeout_type: TimeoutType | None,
    ) -> None:
        engine = self.engine
        now = engine.clock.now_ns()
        command = state.command
        next_delay = None
        if timeout_type is not None:
            # As Core's local activities: only start-to-close timeouts retry.
            retryable = timeout_type is TimeoutType.START_TO_CLOSE
            error_type = None
        else:
            retryable = not (isinstance(error, ApplicationError) and error.non_retryable)
            error_type = error_type_of(error)
            if isinstance(error, ApplicationError) and error.next_retry_delay is not None:
                next_delay = round(error.next_retry_delay.total_seconds() * 1e9)
        # The deadline is the schedule-to-close timer's to enforce (it fires during a backoff).
        decision = decide_retry(
            command.retry_policy,
            attempt=attempt,
            retryable=retryable,
            error_type=error_type,
            next_retry_delay_ns=next_delay,
            now_ns=now,
            schedule_to_close_deadline_ns=None,
        )
        if decision.delay_ns is None:
            if isinstance(error, TimeoutError) and state.last_failure is not None:
                error.__cause__ = state.last_failure
            self._resolve(state, attempt, failure=error, retry_state=decision.state)
            return
        self._check_unbounded(state, attempt, error)
        state.last_failure = error
        if decision.delay_ns > command.local_retry_threshold_ns:
            self._resolve(state, attempt, failure=error, backoff_ns=decision.delay_ns)
            return
        state.attempt += 1
        state.retry_timer = engine.clock.call_at(
            engine.loop, now + decision.delay_ns, self._dispatch, state
        )

    def _check_unbounded(
        self, state: LocalActivityState, attempt: int, error: BaseException
    ) -> None:
        limit = self.engine.max_unbounded_attempts
        command = state.command
        if limit is None or command.schedule_to_close_ns is not None:
            return
        if command.retry_policy.maximum_attempts == 0 and attempt >= limit:
            self._finish(state)
            raise UnboundedRetryError(
                f"local activity {command.activity_type!r} (id {command.activity_id!r}) of "
                f"workflow {state.run.workflow_id!r} has failed {attempt} times, most recently "
                f"with {type(error).__name__}: {error}. Its retry policy sets no "
                "maximum_attempts and it has no schedule_to_close_timeout, so it would retry "
                "forever and the test would never end. Give it a "
                "RetryPolicy(maximum_attempts=...) or a schedule_to_close_timeout, or raise "
                "the environment's max_unbounded_attempts."
            )

    def _resolve(
        self,
        state: LocalActivityState,
        attempt: int,
        *,
        result: Any = None,
        failure: BaseException | None = None,
        retry_state: RetryState | None = None,
        backoff_ns: int | None = None,
    ) -> None:
        self._finish(state)
        details = marker_details(
            state.command,
            attempt=attempt,
            complete_ns=self.engine.clock.now_ns(),
            original_schedule_ns=state.first_scheduled_ns,
            result=result,
            failure=failure,
            retry_state=retry_state,
            backoff_ns=backoff_ns,
        )
        # Next on the loop, not from inside the attempt's own call stack: a mock may resolve
        # synchronously, and a chain of local activities must not nest.
        self.engine.loop.call_soon(
            self.engine._local_resolved, state.run, state.command.seq, details
        )

    # --- stopping -------------------------------------------------------------------------------

    def cancel(self, run: _Run, seq: int) -> None:
        """The workflow cancelled a running local activity: stop it (its marker is recorded)."""
        state = run.local_activities.get(seq)
        if state is not None:
            self._finish(state)

    def abandon(self, run: _Run) -> None:
        """The open task is gone (closed run, evicted instance): stop everything it ran."""
        for state in list(run.local_activities.values()):
            self._finish(state)

    def _gone(self, state: LocalActivityState) -> bool:
        return state.run.local_activities.get(state.command.seq) is not state

    def _finish(self, state: LocalActivityState) -> None:
        self._stop_attempt(state)
        if state.run.local_activities.get(state.command.seq) is state:
            del state.run.local_activities[state.command.seq]
        for timer in (state.deadline_timer, state.retry_timer):
            if timer is not None:
                timer.cancel()
        state.deadline_timer = state.retry_timer = None
