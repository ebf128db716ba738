"""The worker side of activities: running an attempt's code (a function or a mock).

The worker knows nothing of deadlines, retries or history. It takes :class:`ActivityTask` s
from the channel, tells the server it started one, runs the implementation, and reports the
outcome and heartbeats back under the attempt's token. The server may tell it to stop an
attempt (a timeout, a cancellation); :meth:`ActivityWorker.kill` stops every attempt at once, as
a worker process dying would, and nothing those attempts report afterwards reaches the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .. import activity as _activity
from ..common import from_ns
from ..errors import ApplicationError, CancelledError, PayloadError, UnmockedActivityError
from ._activity_channel import ActivityChannel, ActivityTask, Token
from ._clock import TimerHandle
from ._definitions import ActivityDefinition
from ._payload import PLAIN_JSON, encode

if TYPE_CHECKING:
    from ._engine import Engine


@runtime_checkable
class InlineActivity(Protocol):
    """An activity implementation driven directly by the worker (mocks use this).

    ``run_attempt`` is called on the host loop; it must eventually call ``attempt.succeed`` or
    ``attempt.fail`` (or never, to hang), possibly later through ``attempt.call_later_ns``.
    """

    def run_attempt(self, attempt: Attempt) -> None:
        """Start one attempt."""


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )


def _td(ns: int | None) -> Any:
    return from_ns(ns) if ns is not None else None


class Attempt:
    """One delivery of an activity task to the worker: what implementations report to."""

    __slots__ = (
        "_timers",
        "cancel_requested",
        "context",
        "dead",
        "finished",
        "future",
        "started_ns",
        "task",
        "worker",
    )

    def __init__(self, worker: ActivityWorker, task: ActivityTask, started_ns: int) -> None:
        self.worker = worker
        self.task = task
        self.started_ns = started_ns
        #: Set once the attempt reported its outcome or was stopped.
        self.finished = False
        #: Set when the worker died under it: nothing it reports reaches the server.
        self.dead = False
        #: Set once cancellation was requested of its code (see :meth:`request_cancel`).
        self.cancel_requested = False
        #: The running function's task or thread future (None for a mock).
        self.future: asyncio.Future[Any] | None = None
        self.context: _activity.ActivityContext | None = None
        self._timers: list[TimerHandle] = []

    # --- facts for implementations ----------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.task.token

    @property
    def number(self) -> int:
        return self.task.token.attempt

    @property
    def activity_type(self) -> str:
        return self.task.activity_type

    @property
    def args(self) -> list[Any]:
        """The encoded (JSON) arguments."""
        return self.task.args

    def now_ns(self) -> int:
        return self.worker.engine.clock.now_ns()

    def info(self, heartbeat_details: tuple[Any, ...] | None = None) -> _activity.ActivityInfo:
        task = self.task
        return _activity.ActivityInfo(
            activity_id=task.activity_id,
            activity_type=task.activity_type,
            attempt=task.token.attempt,
            workflow_id=task.workflow_id,
            workflow_run_id=task.run_id,
            workflow_type=task.workflow_type,
            scheduled_time=_dt(task.first_scheduled_ns),
            current_attempt_scheduled_time=_dt(task.scheduled_ns),
            started_time=_dt(self.started_ns),
            heartbeat_details=(
                tuple(task.heartbeat_details) if heartbeat_details is None else heartbeat_details
            ),
            schedule_to_close_timeout=_td(task.schedule_to_close_ns),
            start_to_close_timeout=_td(task.start_to_close_ns),
            heartbeat_timeout=_td(task.heartbeat_ns),
        )

    def call_later_ns(self, delay_ns: int, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` after ``delay_ns`` of (virtual) time, unless the attempt ended."""

        def guarded() -> None:
            if not self.finished:
                callback(*args)

        engine = self.worker.engine
        self._timers.append(engine.clock.call_at(engine.loop, self.now_ns() + delay_ns, guarded))

    def in_turn(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` at this virtual instant, in its turn among the instant's events.

        At once by default, which is FIFO order. When the host loop orders simultaneous events
        (its ``tie_break`` is set), it is queued as one of this instant's callbacks instead, so
        that the tie-break decides where it falls among them.
        """
        if getattr(self.worker.engine.loop, "tie_break", None) is None:
            callback(*args)
        else:
            self.call_later_ns(0, callback, *args)

    # --- payloads ---------------------------------------------------------------------------------

    def decode_args(self, definition: ActivityDefinition) -> list[Any]:
        """The arguments to call the function with: the task's, decoded for its signature."""
        return definition.signature.decode_args(self.task.args)

    def encode_result(self, result: Any) -> Any:
        """What reaches the server of the value the code returned (raises PayloadError)."""
        if type(result) in PLAIN_JSON:
            return result  # its own JSON (and no name to make for an error it cannot raise)
        return encode(result, where=f"the result of activity {self.activity_type!r}")

    # --- reports ----------------------------------------------------------------------------------

    def succeed(self, result: Any) -> None:
        if self.finished:
            return
        try:
            value = self.encode_result(result)
        except PayloadError as exc:
            self.fail(ApplicationError(str(exc), type="PayloadError", non_retryable=True))
            return
        self._end()
        if not self.dead:
            self.worker.channel.completed(self.task.token, value)

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self._end()
        if not self.dead:
            self.worker.channel.failed(self.task.token, error)

    def heartbeat(self, details: Sequence[Any]) -> None:
        """Report heartbeat details (from any thread); the server resets its heartbeat timeout."""
        engine = self.worker.engine
        if threading.get_ident() == engine.loop_thread:
            self._on_heartbeat(tuple(details))
        else:
            engine.loop.call_soon_threadsafe(self._on_heartbeat, tuple(details))

    def _on_heartbeat(self, details: tuple[Any, ...]) -> None:
        if self.finished or self.dead:
            return
        self.worker.channel.heartbeat(self.task.token, details)

    # --- stopping ---------------------------------------------------------------------------------

    def _end(self) -> None:
        self.finished = True
        timers = self._timers
        if timers:
            for timer in timers:
                timer.cancel()
            timers.clear()
        worker = self.worker
        token = self.task.token
        if worker.in_flight.get(token) is self:
            del worker.in_flight[token]
        elif worker._duplicates and self in worker._duplicates:
            worker._duplicates.remove(self)

    def request_cancel(self) -> None:
        """Ask the code to stop; the attempt runs on and reports whatever the code does.

        Sync code sees ``activity.is_cancelled()`` (its thread cannot be interrupted) and its
        next heartbeat raises; async code's task is cancelled at its current ``await``. Code
        that handles the cancellation may still complete. Asked before the code started, the
        code starts cancelled. :meth:`abort` also stops waiting for the outcome.
        """
        self.cancel_requested = True
        if self.context is not None:
            self.context.cancel()
        future = self.future
        if isinstance(future, asyncio.Task) and not future.done():
            future.cancel()

    def abort(self) -> None:
        """Stop the attempt's work: cancel its task, flag cancellation to sync code."""
        self._end()
        if self.context is not None:
            self.context.cancel()
        if self.future is not None and not self.future.done():
            self.future.cancel()


class ActivityWorker:
    """Runs activity attempts' code for an engine and reports back through the channel."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.channel: ActivityChannel
        #: Makes the attempt for a delivered task: ``(worker, task, started_ns)``.
        self.new_attempt: Callable[[ActivityWorker, ActivityTask, int], Attempt] = Attempt
        #: Attempts running now, by token; a second delivery of one waits in ``_duplicates``.
        self.in_flight: dict[Token, Attempt] = {}
        self._duplicates: list[Attempt] = []

    # --- taking tasks -----------------------------------------------------------------------------

    def start(self, task: ActivityTask, *, duplicate: bool = False) -> Attempt | None:
        """Pick ``task`` up: tell the server, then run its code; None if the server moved on.

        The engine's ``attempt_hook`` (fault injection) is consulted first, with the attempt
        and :meth:`run_code`; returning True means it took the attempt over. A ``duplicate``
        delivery runs whatever the server thinks (it may have its outcome already) and is
        not offered to the hook.
        """
        if duplicate:
            started_ns = self.engine.clock.now_ns()
        else:
            started = self.channel.started(task.token)
            if started is None:
                return None  # the attempt timed out or was cancelled while it waited
            started_ns = started
        attempt = self.new_attempt(self, task, started_ns)
        if task.token in self.in_flight:
            self._duplicates.append(attempt)
        else:
            self.in_flight[task.token] = attempt
        hook = self.engine.attempt_hook
        if not duplicate and hook is not None and hook(attempt, self.run_code):
            return attempt
        self.run_code(attempt)
        return attempt

    def run_direct(self, attempt: Attempt) -> None:
        """Run an attempt its server hands over itself (local activities: no queue, no hook)."""
        self.in_flight[attempt.task.token] = attempt
        self.run_code(attempt)

    def run_code(self, attempt: Attempt) -> None:
        """Run the attempt's implementation: a function, a mock, or a NotFoundError."""
        engine = self.engine
        name = attempt.task.activity_type
        impl = engine.activities.get(name)  # engine.activity_implementation(name)
        if impl is None:
            known = ", ".join(sorted(engine.activity_names())) or "none"
            # As on Temporal (a worker without the activity), a retryable NotFoundError: the
            # retry policy applies, and a mock registered meanwhile serves the next attempt.
            attempt.fail(
                ApplicationError(
                    f"no implementation or mock for activity {name!r}; registered "
                    f"activities: {known}. Pass it to the environment (activities=[...]) or "
                    "mock it with env.mock_activity().",
                    type="NotFoundError",
                )
            )
            return
        if isinstance(impl, ActivityDefinition):
            if engine.strict_activities and name not in engine.real_activities:
                # Raised on the host loop, it ends the drive before the real code runs.
                raise UnmockedActivityError(
                    f"activity {name!r} is neither mocked nor registered to run for real, and "
                    "strict_activities is on, so it was not run (it would have called the real "
                    f"code). Mock it (env.mock_activity({name}, returns=...)) or let it run "
                    f"for real (DurableEnvironment(activities=[{name}]) or "
                    f"env.register_activity({name}))."
                )
            self._start_function(attempt, impl)
        else:
            impl.run_attempt(attempt)

    def _start_function(self, attempt: Attempt, definition: ActivityDefinition) -> None:
        loop = self.engine.loop
        try:
            args = attempt.decode_args(definition)
        except Exception as exc:
            attempt.fail(exc)
            return
        # Heartbeat details as they were at dispatch: the attempt's own heartbeats must not show.
        details = tuple(attempt.task.heartbeat_details)
        context = _activity.ActivityContext(
            lambda: attempt.info(heartbeat_details=details),
            attempt.heartbeat,
            stop_on_heartbeat=not definition.is_async,
        )
        attempt.context = context
        if attempt.cancel_requested:
            context.cancel()  # before a thread can look
        ctx = contextvars.copy_context()
        ctx.run(_activity._context.set, context)
        future: asyncio.Future[Any]
        if definition.is_async:
            future = loop.create_task(definition.fn(*args), context=ctx)
            self._io_waiter_started(future)
        else:
            future = loop.run_in_executor(None, ctx.run, definition.fn, *args)
        attempt.future = future
        future.add_done_callback(lambda f: _function_done(attempt, f))
        if attempt.cancel_requested:
            attempt.request_cancel()

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

    # --- stopping ---------------------------------------------------------------------------------

    def all_running(self) -> list[Attempt]:
        """Every attempt running now (a second delivery included), oldest first."""
        return [*self.in_flight.values(), *self._duplicates]

    def running(self, token: Token) -> list[Attempt]:
        """Every delivery of the attempt ``token`` names that is still running."""
        first = self.in_flight.get(token)
        found = [first] if first is not None else []
        return found + [a for a in self._duplicates if a.task.token == token]

    def abort(self, token: Token) -> None:
        """Stop every delivery of the attempt ``token`` names (the server gave up on it)."""
        for attempt in self.running(token):
            attempt.abort()

    def kill(self) -> int:
        """The worker dies: stop every attempt in flight; nothing they report arrives.

        Async code is cancelled and sync code sees ``activity.is_cancelled()``; the server is
        not told, so its start-to-close and heartbeat timeouts fire as in production. Returns
        how many attempts were lost.
        """
        lost = 0
        for attempt in self.all_running():
            attempt.dead = True
            attempt.abort()
            lost += 1
        return lost


def _function_done(attempt: Attempt, future: asyncio.Future[Any]) -> None:
    if attempt.finished:
        return
    if future.cancelled():
        attempt.fail(CancelledError("activity cancelled"))
        return
    exc = future.exception()
    if exc is None:
        attempt.succeed(future.result())
    else:
        attempt.fail(exc)
