"""Activities completed from outside: ``activity.raise_complete_async()`` and the async handle.

An attempt whose code raises temporalio's complete-async error stays open, as on Temporal: the
server keeps its timeouts running (in virtual time here) and waits for a completion by task
token or by workflow and activity id, which a test gives through
``client.get_async_activity_handle(...)`` (:class:`AsyncActivityHandle`). A completion for an
attempt that is over (timed out, cancelled, completed) is refused as the server refuses it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import temporalio.client
import temporalio.converter
import temporalio.service

from ..errors import ApplicationError
from ._convert import to_values

if TYPE_CHECKING:
    from ..engine._activity_worker import Attempt
    from ..engine._engine import Engine


def task_token(attempt: Attempt) -> bytes:
    """The task token temporalio's ``activity.info()`` shows for ``attempt``."""
    task = attempt.task
    return (
        f"{task.workflow_id}/{task.run_id}/{task.token.scheduled_event_id}/{attempt.number}"
    ).encode()


class AsyncCompletions:
    """One engine's attempts waiting to be completed from outside."""

    def __init__(self) -> None:
        self.by_token: dict[bytes, Attempt] = {}
        self.by_ids: dict[tuple[str, str], Attempt] = {}

    def add(self, attempt: Attempt) -> None:
        """``attempt`` raised complete-async: it waits for :class:`AsyncActivityHandle`."""
        self.by_token[task_token(attempt)] = attempt
        self.by_ids[(attempt.task.workflow_id, attempt.task.activity_id)] = attempt

    def find(
        self,
        *,
        task_token: bytes | None,
        workflow_id: str | None,
        run_id: str | None,
        activity_id: str | None,
    ) -> Attempt | None:
        """The waiting attempt a handle names (None if none waits, or it is over)."""
        if task_token is not None:
            attempt = self.by_token.get(task_token)
        else:
            attempt = self.by_ids.get((workflow_id or "", activity_id or ""))
            if attempt is not None and run_id not in (None, attempt.task.run_id):
                attempt = None
        return attempt

    def forget(self, attempt: Attempt) -> None:
        """The attempt is over: nothing can complete it any more."""
        self.by_token.pop(task_token(attempt), None)
        key = (attempt.task.workflow_id, attempt.task.activity_id)
        if self.by_ids.get(key) is attempt:
            del self.by_ids[key]


_COMPLETIONS: weakref.WeakKeyDictionary[Engine, AsyncCompletions] = weakref.WeakKeyDictionary()


def completions(engine: Engine) -> AsyncCompletions:
    """The engine's :class:`AsyncCompletions`."""
    found = _COMPLETIONS.get(engine)
    if found is None:
        found = _COMPLETIONS[engine] = AsyncCompletions()
    return found


def complete_later(attempt: Attempt) -> None:
    """An attempt raised complete-async: leave it open, reachable by its token and ids.

    A local activity cannot complete asynchronously (Temporal's Core refuses it); it fails at
    once, not retried, instead of waiting for a timeout.
    """
    if attempt.info().is_local:
        attempt.fail(
            ApplicationError(
                f"local activity {attempt.activity_type!r} raised "
                "activity.raise_complete_async(), but a local activity cannot be completed "
                "asynchronously (Temporal refuses it too): run it as an activity",
                type="UnsupportedAsyncCompletion",
                non_retryable=True,
            )
        )
        return
    completions(attempt.worker.engine).add(attempt)


def _not_found(what: str) -> temporalio.service.RPCError:
    return temporalio.service.RPCError(
        f"{what}: no activity is waiting for this completion (it was never started, or it "
        "completed, timed out or was cancelled already)",
        temporalio.service.RPCStatusCode.NOT_FOUND,
        b"",
    )


class AsyncActivityHandle:
    """Completes, fails or heartbeats an activity from outside, like temporalio's handle.

    Made by :meth:`pytest_durable.temporal.Client.get_async_activity_handle`.
    """

    def __init__(
        self,
        engine: Engine,
        converter: temporalio.converter.DataConverter,
        *,
        task_token: bytes | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        activity_id: str | None = None,
    ) -> None:
        if task_token is None and (workflow_id is None or activity_id is None):
            raise ValueError(
                "get_async_activity_handle needs task_token=... or both workflow_id=... and "
                "activity_id=... (run_id optional)"
            )
        self._engine = engine
        self._converter = converter
        self._task_token = task_token
        self._workflow_id = workflow_id
        self._run_id = run_id
        self._activity_id = activity_id

    def _find(self) -> Attempt | None:
        return completions(self._engine).find(
            task_token=self._task_token,
            workflow_id=self._workflow_id,
            run_id=self._run_id,
            activity_id=self._activity_id,
        )

    def _attempt(self, what: str) -> Attempt:
        registry = completions(self._engine)
        attempt = self._find()
        if attempt is None:
            raise _not_found(what)
        if attempt.finished:
            registry.forget(attempt)
            if what == "heartbeat" and _cancel_requested(attempt):
                raise temporalio.client.AsyncActivityCancelledError()
            raise _not_found(what)
        return attempt

    def _encode(self, values: Sequence[Any]) -> list[Any]:
        return to_values(self._converter.payload_converter.to_payloads(list(values)))

    def _beat(self, attempt: Attempt, details: Sequence[Any]) -> None:
        # Straight to the server, now: the test's thread calls while the engine's loop is idle
        # (Attempt.heartbeat would queue it for the loop's next turn, after a completion).
        attempt.worker.channel.heartbeat(attempt.task.token, tuple(self._encode(details)))

    async def heartbeat(self, *details: Any, **_rpc: Any) -> None:
        """Record a heartbeat (its details reach the next attempt; the timeout restarts).

        Raises:
            temporalio.client.AsyncActivityCancelledError: the activity was cancelled.
        """
        self._beat(self._attempt("heartbeat"), details)

    async def complete(self, result: Any = None, **_rpc: Any) -> None:
        """Complete the activity with ``result``."""
        attempt = self._attempt("complete")
        completions(self._engine).forget(attempt)
        attempt.succeed(self._encode([result])[0])

    async def fail(
        self, error: Exception, *, last_heartbeat_details: Sequence[Any] = (), **_rpc: Any
    ) -> None:
        """Fail this attempt with ``error`` (retried as the activity's policy says)."""
        from ._activity import to_engine_error

        attempt = self._attempt("fail")
        completions(self._engine).forget(attempt)
        if last_heartbeat_details:
            self._beat(attempt, last_heartbeat_details)
        attempt.fail(to_engine_error(error, self._converter))

    async def report_cancellation(self, *details: Any, **_rpc: Any) -> None:
        """Report that the activity stopped because it was cancelled.

        Raises:
            temporalio.service.RPCError: its cancellation was not requested (as the server
                refuses it).
        """
        registry = completions(self._engine)
        attempt = self._find()
        if attempt is None:
            raise _not_found("report_cancellation")
        if not _cancel_requested(attempt):
            raise temporalio.service.RPCError(
                "report_cancellation: the activity's cancellation was not requested; complete "
                "or fail it instead",
                temporalio.service.RPCStatusCode.FAILED_PRECONDITION,
                b"",
            )
        # The engine recorded the cancellation when the workflow asked for it.
        registry.forget(attempt)


def _cancel_requested(attempt: Attempt) -> bool:
    context = getattr(attempt.context, "sdk", None)
    return bool(context is not None and context.cancelled_event.is_set())
