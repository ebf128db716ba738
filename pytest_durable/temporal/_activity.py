"""The worker side of a ``@temporalio.activity.defn`` activity, run with temporalio's context.

The engine's server side (attempts, timeouts, heartbeat deadlines, retries) is the same as for
our own activities; this runs one attempt: arguments decoded by temporalio's payload converter,
``temporalio.activity.info()/heartbeat()/is_cancelled()`` working, async functions on the
loop and sync ones on a thread pool, and the outcome reported back to the attempt.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import temporalio.activity
import temporalio.common
import temporalio.converter
import temporalio.exceptions
from temporalio.api.failure.v1 import Failure

from ..activity import ActivityContext
from ..engine._failure import decode_failure
from ..errors import ApplicationError
from ._async_completion import complete_later, task_token
from ._convert import SCALARS, from_failure, is_plain, plain_args, to_payloads, to_values
from ._instance import NAMESPACE, TASK_QUEUE
from ._interceptors import intercepted

if TYPE_CHECKING:
    from ..engine._activity_worker import Attempt


def _converter() -> temporalio.converter.DataConverter:
    return temporalio.converter.DataConverter.default


def to_engine_error(error: BaseException, converter: Any = None) -> BaseException:
    """The engine's view of what an activity raised, converted the way Temporal's worker does.

    temporalio's failure converter decides the failure (type, non-retryable, details, next retry
    delay); the engine's retry rules then read it like any other.
    """
    converter = converter or _converter()
    failure = Failure()
    converter.failure_converter.to_failure(error, converter.payload_converter, failure)
    engine_error = decode_failure(from_failure(failure))
    engine_error.__traceback__ = error.__traceback__
    return engine_error


class _TemporalContext(ActivityContext):
    """Our attempt context, forwarding cancellation to temporalio's activity context."""

    __slots__ = ("sdk",)

    sdk: temporalio.activity._Context

    def cancel(self) -> None:
        super().cancel()
        self.sdk.cancellation_details.details = temporalio.activity.ActivityCancellationDetails(
            cancel_requested=True
        )
        self.sdk.cancelled_event.set()


#: Guards the creation of a :class:`_LoopEvent`'s thread event against its ``set()``.
_THREAD_EVENT_LOCK = threading.Lock()


class _LoopEvent(temporalio.common._CompositeEvent):
    """An async activity's cancellation (or worker shutdown) event, its events made on demand.

    temporalio's event holds a ``threading.Event`` and an ``asyncio.Event`` from the start;
    most attempts never wait on either, and the two cost more than the rest of an attempt's
    set-up. This one is a flag until something waits: ``wait()`` on the loop, or
    ``wait_sync()`` from a thread the activity started. It is set on the loop thread.
    """

    def __init__(self) -> None:
        self.thread_event = None
        self.async_event = None
        self._set = False

    def set(self) -> None:
        self._set = True
        with _THREAD_EVENT_LOCK:
            if self.thread_event is not None:
                self.thread_event.set()
        if self.async_event is not None:
            self.async_event.set()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self.async_event is None:
            self.async_event = asyncio.Event()
            if self._set:
                self.async_event.set()
        await self.async_event.wait()

    def wait_sync(self, timeout: float | None = None) -> None:
        with _THREAD_EVENT_LOCK:
            if self.thread_event is None:
                self.thread_event = threading.Event()
                if self._set:
                    self.thread_event.set()
        self.thread_event.wait(timeout)


def _thread_event() -> temporalio.common._CompositeEvent:
    """The event temporalio makes for a sync activity (waited on from its thread)."""
    return temporalio.common._CompositeEvent(thread_event=threading.Event(), async_event=None)


class TemporalActivity:
    """An engine activity implementation that runs a Temporal activity (see module doc)."""

    def __init__(
        self,
        fn: Any,
        converter: Any = None,
        *,
        interceptors: Sequence[Any] = (),
        task_queue: str = TASK_QUEUE,
    ) -> None:
        self.sdk = temporalio.activity._Definition.must_from_callable(fn)
        self.name = self.sdk.name
        self.fn = fn
        #: The worker's data converter (its client's, as on Temporal).
        self.converter: temporalio.converter.DataConverter = converter or _converter()
        #: The worker's interceptors (``temporalio.worker.Interceptor``): each attempt runs
        #: through their activity interceptors.
        self.interceptors = tuple(interceptors)
        #: The task queue of the worker that registered it (``activity.info().task_queue``).
        self.task_queue = task_queue
        #: Whether the converter is temporalio's default, which carries scalars as themselves.
        self.plain = is_plain(self.converter.payload_converter)

    def run_attempt(self, attempt: Attempt) -> None:
        """Run one attempt of the function; its outcome goes to ``attempt``."""
        converter = self.converter
        sdk = self.sdk
        args = plain_args(attempt.args, sdk.arg_types) if self.plain else None
        if args is None:
            try:
                args = converter.payload_converter.from_payloads(
                    to_payloads(attempt.args), sdk.arg_types
                )
            except Exception as exc:
                attempt.fail(
                    ApplicationError(
                        f"cannot decode the arguments of activity {self.name!r}: {exc}",
                        type="PayloadError",
                        non_retryable=True,
                    )
                )
                return
        engine = attempt.worker.engine
        is_async = sdk.is_async
        # Made when first asked for: most activities never call activity.info().
        info: temporalio.activity.Info | None = None

        def own_info() -> temporalio.activity.Info:
            nonlocal info
            if info is None:
                info = self._info(attempt)
            return info

        def heartbeat(*values: Any) -> None:
            if not is_async and context.cancelled_event.is_set():
                # A sync activity learns of its cancellation where it heartbeats (temporalio
                # raises it in the activity's thread).
                raise temporalio.exceptions.CancelledError("Cancelled")
            attempt.heartbeat(to_values(converter.payload_converter.to_payloads(values)))

        new_event = _LoopEvent if is_async else _thread_event
        context = temporalio.activity._Context(
            info=own_info,
            heartbeat=heartbeat,
            cancelled_event=new_event(),
            worker_shutdown_event=new_event(),
            shield_thread_cancel_exception=None,
            payload_converter_class_or_instance=converter.payload_converter,
            runtime_metric_meter=None,
            client=None,
            cancellation_details=temporalio.activity._ActivityCancellationDetailsHolder(),
        )
        ours = _TemporalContext(attempt.info, attempt.heartbeat)
        ours.sdk = context
        attempt.context = ours
        ctx = contextvars.copy_context()
        ctx.run(temporalio.activity._Context.set, context)
        future: asyncio.Future[Any]
        if self.interceptors:
            call, outbound = intercepted(self.interceptors, sdk.fn, args, own_info, heartbeat)

            # The activity's info() and heartbeat() go through the outbound interceptor the
            # chain settled on, as on a worker.
            def chained_info() -> temporalio.activity.Info:
                chain = outbound()
                return chain.info() if chain is not None else own_info()

            def chained_heartbeat(*values: Any) -> None:
                chain = outbound()
                if chain is not None:
                    chain.heartbeat(*values)
                else:
                    heartbeat(*values)

            context.info = chained_info
            context.heartbeat = chained_heartbeat
            future = engine.loop.create_task(call, context=ctx)
            attempt.worker._io_waiter_started(future)
        elif is_async:
            future = engine.loop.create_task(sdk.fn(*args), context=ctx)
            attempt.worker._io_waiter_started(future)
        else:
            future = engine.loop.run_in_executor(None, ctx.run, sdk.fn, *args)
        attempt.future = future
        future.add_done_callback(partial(self._done, attempt))

    def _done(self, attempt: Attempt, future: asyncio.Future[Any]) -> None:
        if attempt.finished:
            return
        if future.cancelled():
            attempt.fail(to_engine_error(asyncio.CancelledError(), self.converter))
            return
        error = future.exception()
        if error is not None:
            if isinstance(error, temporalio.activity._CompleteAsyncError):
                complete_later(attempt)  # from outside: Client.get_async_activity_handle
                return
            attempt.fail(to_engine_error(error, self.converter))
            return
        result = future.result()
        if self.plain and type(result) in SCALARS:
            attempt.succeed(result)  # what the payload's round trip would give
            return
        payloads = self.converter.payload_converter.to_payloads([result])
        attempt.succeed(to_values(payloads)[0])

    def _info(self, attempt: Attempt) -> temporalio.activity.Info:
        """What temporalio's ``activity.info()`` shows of ``attempt`` (fixed for the attempt)."""
        ours = attempt.info()
        task = attempt.task
        details = self.converter.payload_converter.from_payloads(
            to_payloads(list(task.heartbeat_details))
        )
        return temporalio.activity.Info(
            activity_id=ours.activity_id,
            activity_type=ours.activity_type,
            attempt=ours.attempt,
            current_attempt_scheduled_time=ours.current_attempt_scheduled_time,
            heartbeat_details=details,
            heartbeat_timeout=ours.heartbeat_timeout,
            is_local=ours.is_local,
            namespace=NAMESPACE,
            schedule_to_close_timeout=ours.schedule_to_close_timeout,
            scheduled_time=ours.scheduled_time,
            start_to_close_timeout=ours.start_to_close_timeout,
            started_time=ours.started_time,
            task_queue=self.task_queue,
            task_token=task_token(attempt),
            workflow_id=task.workflow_id,
            workflow_namespace=NAMESPACE,
            workflow_run_id=task.run_id,
            workflow_type=task.workflow_type,
            priority=temporalio.common.Priority.default,
            retry_policy=None,
        )
