"""Workflow updates: a request the workflow validates, accepts, handles and answers.

As in Temporal, an update reaches the workflow in a workflow task (after the task's signals,
before its other events). Its validator, if any, runs first and read-only: raising rejects the
update, which leaves nothing in history. Otherwise the workflow accepts it (the command
:class:`AcceptUpdate`, event ``WorkflowExecutionUpdateAccepted``) and its handler runs; when the
handler returns or raises a failure, :class:`CompleteUpdate` records the outcome
(``WorkflowExecutionUpdateCompleted``), in that task or a later one. Replay re-delivers each
accepted update to its handler from the recorded acceptance, without the validator.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CancelledError, FailureError, PayloadError
from ._commands import AcceptUpdate, CompleteUpdate
from ._failure import encode_failure
from ._payload import encode

if TYPE_CHECKING:
    from ._instance import WorkflowInstance


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """An update on its way to a workflow: its id, handler name and encoded arguments."""

    update_id: str
    name: str
    args: Sequence[Any]
    #: False when replay re-delivers an update history shows was accepted.
    run_validator: bool = True


class UpdateState:
    """The host side of one update: what its caller waits for."""

    __slots__ = ("accepted", "done", "error", "name", "result", "update_id")

    def __init__(self, update_id: str, name: str, done: asyncio.Future[None]) -> None:
        self.update_id = update_id
        self.name = name
        self.done = done
        self.accepted = False
        self.result: Any = None
        #: Why it failed: the validator's or handler's failure, decoded as it crossed the wire.
        self.error: BaseException | None = None

    def finish(self, *, result: Any = None, error: BaseException | None = None) -> None:
        """Resolve the update (once)."""
        if self.done.done():
            return
        self.result = result
        self.error = error
        self.done.set_result(None)


def deliver_update(instance: WorkflowInstance, request: UpdateRequest) -> None:
    """Validate ``request`` (unless replaying it), then accept it and start its handler."""
    if instance.closed or not instance.ensure_object():
        return
    handler = instance.definition.updates.get(request.name)
    if handler is None:
        known = ", ".join(sorted(instance.definition.updates)) or "none"
        instance.rejected.append(
            (
                request.update_id,
                LookupError(
                    f"workflow {instance.definition.name!r} has no update named "
                    f"{request.name!r}; its updates: {known}"
                ),
            )
        )
        return
    try:
        args = handler.signature.decode_args(request.args)
        if request.run_validator and handler.validator is not None:
            what = f"the validator of update {request.name!r}"
            instance.run_read_only(what, handler.validator, args)
    except Exception as exc:  # any exception rejects, as Temporal's validators do
        instance.rejected.append((request.update_id, exc))
        return
    accepted = AcceptUpdate(update_id=request.update_id, name=request.name, args=list(request.args))
    instance.commands.append(accepted)
    task = asyncio.Task(
        _run_handler(handler.method, instance.obj, args),
        loop=instance.loop,
        context=instance.context,
    )
    instance.loop.track(task)
    task.add_done_callback(lambda done: _handler_done(instance, accepted, done))


async def _run_handler(method: Any, obj: Any, args: Sequence[Any]) -> Any:
    result = method(obj, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _handler_done(
    instance: WorkflowInstance, accepted: AcceptUpdate, task: asyncio.Task[Any]
) -> None:
    """Record the handler's outcome; a bug (not a failure) fails the run, like a signal's."""
    if instance.closed or instance.evicted:
        return
    complete = CompleteUpdate(update_id=accepted.update_id, accepted=accepted)
    if task.cancelled():
        complete.failure = encode_failure(CancelledError("update handler cancelled"))
    else:
        error = task.exception()
        if error is None:
            try:
                complete.result = encode(
                    task.result(), where=f"the result of update {accepted.name!r}"
                )
            except PayloadError as exc:
                instance.loop.errors.append(exc)
                return
        elif isinstance(error, FailureError):
            complete.failure = encode_failure(error)
        else:
            instance.loop.errors.append(error)
            return
    instance.commands.append(complete)
