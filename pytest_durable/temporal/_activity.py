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
from collections.abc import Callable, Sequence
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
from ._convert import from_failure, to_payloads, to_values
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


def _no_outbound() -> None:
    return None


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

    def run_attempt(self, attempt: Attempt) -> None:
        """Run one attempt of the function; its outcome goes to ``attempt``."""
        converter = self.converter
        sdk = self.sdk
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
        details = converter.payload_converter.from_payloads(
            to_payloads(list(attempt.task.heartbeat_details))
        )
        info = self._info(attempt, details)
        engine = attempt.worker.engine
        is_async = sdk.is_async

        def heartbeat(*values: Any) -> None:
            if not is_async and context.cancelled_event.is_set():
                # A sync activity learns of its cancellation where it heartbeats (temporalio
                # raises it in the activity's thread).
                raise temporalio.exceptions.CancelledError("Cancelled")
            attempt.heartbeat(to_values(converter.payload_converter.to_payloads(values)))

        # The outbound interceptor an interceptor chain settled on (none without interceptors):
        # the activity's info() and heartbeat() go through it, as on a worker.
        outbound: Callable[[], Any] = _no_outbound

        def current_info() -> temporalio.activity.Info:
            chain = outbound()
            return chain.info() if chain is not None else info

        def chained_heartbeat(*values: Any) -> None:
            chain = outbound()
            if chain is not None:
                chain.heartbeat(*values)
            else:
                heartbeat(*values)

        context = temporalio.activity._Context(
            info=current_info,
            heartbeat=chained_heartbeat,
            cancelled_event=temporalio.common._CompositeEvent(
                thread_event=threading.Event(),
                async_event=asyncio.Event() if is_async else None,
            ),
            worker_shutdown_event=temporalio.common._CompositeEvent(
                thread_event=threading.Event(),
                async_event=asyncio.Event() if is_async else None,
            ),
            shield_thread_cancel_exception=None,
            payload_converter_class_or_instance=converter.payload_converter,
            runtime_metric_meter=None,
            client=None,
            cancellation_details=temporalio.activity._ActivityCancellationDetailsHolder(),
        )
        ours = _TemporalContext(lambda: attempt.info(), attempt.heartbeat)
        ours.sdk = context
        attempt.context = ours
        ctx = contextvars.copy_context()
        ctx.run(temporalio.activity._Context.set, context)
        future: asyncio.Future[Any]
        if self.interceptors:
            call, outbound = intercepted(
                self.interceptors, sdk.fn, args, lambda: info, heartbeat
            )
            future = engine.loop.create_task(call, context=ctx)
            attempt.worker._io_waiter_started(future)
        elif is_async:
            future = engine.loop.create_task(sdk.fn(*args), context=ctx)
            attempt.worker._io_waiter_started(future)
        else:
            future = engine.loop.run_in_executor(None, ctx.run, sdk.fn, *args)
        attempt.future = future
        future.add_done_callback(lambda f: self._done(attempt, f))

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
        payloads = self.converter.payload_converter.to_payloads([future.result()])
        attempt.succeed(to_values(payloads)[0])

    def _info(self, attempt: Attempt, details: list[Any]) -> temporalio.activity.Info:
        ours = attempt.info()
        task = attempt.task
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
