"""Workflow updates on the temporalio-shaped client, answered as temporalio's client answers.

``execute_update``, ``start_update``, ``get_update_handle(_for)`` and update-with-start.

A rejected update (its validator raised, or no handler has the name) is not an error of
``start_update``: as on Temporal, the handle's ``result()`` raises
``WorkflowUpdateFailedError`` whose cause is temporalio's exception (an ``ApplicationError``
named after what the validator raised). An update to a closed workflow is the ``RPCError``
(``NOT_FOUND``) a server answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import temporalio.client
import temporalio.common
import temporalio.service

from ..errors import WorkflowNotRunningError
from ._errors import UnsupportedTemporalFeatureError
from ._frontend import TemporalUpdateHandle, TemporalWorkflowHandle

if TYPE_CHECKING:
    from ._client import Client

_Stage = temporalio.client.WorkflowUpdateStage
_UNSET: Any = temporalio.common._arg_unset


def _not_found(error: WorkflowNotRunningError) -> temporalio.service.RPCError:
    return temporalio.service.RPCError(
        f"workflow execution already completed ({error})",
        temporalio.service.RPCStatusCode.NOT_FOUND,
        b"",
    )


class WorkflowUpdateHandle:
    """An update sent to a workflow, shaped like ``temporalio.client.WorkflowUpdateHandle``."""

    def __init__(
        self, inner: TemporalUpdateHandle, *, run_id: str | None, result_type: Any = None
    ) -> None:
        self._inner = inner
        self._result_type = result_type
        self.workflow_run_id = run_id

    @property
    def id(self) -> str:
        """The update's id (given, or ``"update-<n>"`` numbered per run)."""
        return self._inner.id

    @property
    def workflow_id(self) -> str:
        """The id of the workflow the update was sent to."""
        return self._inner.workflow_id

    @property
    def name(self) -> str:
        """The update's handler name."""
        return self._inner.name

    async def result(self, **_options: Any) -> Any:
        """Wait (in virtual time) for the update's outcome.

        Raises:
            temporalio.client.WorkflowUpdateFailedError: it was rejected, its handler raised a
                failure, or the workflow closed before it completed.
        """
        return self._inner.result(result_type=self._result_type)


async def start_update(
    handle: UpdateMethods,
    update: str | Callable[..., Any],
    values: Sequence[Any],
    *,
    wait_for_stage: temporalio.client.WorkflowUpdateStage,
    update_id: str | None,
    result_type: Any,
) -> WorkflowUpdateHandle:
    """Send an update and wait for ``wait_for_stage`` (accepted, or completed)."""
    if wait_for_stage == _Stage.ADMITTED:
        raise ValueError("ADMITTED wait stage not supported")  # temporalio's own refusal
    inner = handle._inner
    try:
        sent = inner._send_update(update, (), list(values), update_id)
    except WorkflowNotRunningError as error:
        raise _not_found(error) from error
    update_handle = WorkflowUpdateHandle(sent, run_id=handle.run_id, result_type=result_type)
    if wait_for_stage == _Stage.COMPLETED:
        # Drive to the outcome now, as temporalio polls until it has one; raised by result().
        handle._client._env.drive_until(sent._state.done, waiting_for=inner)
    return update_handle


def get_update_handle(
    handle: UpdateMethods,
    update_id: str,
    *,
    workflow_run_id: str | None = None,
    result_type: Any = None,
) -> WorkflowUpdateHandle:
    """A handle on an update this workflow was sent, by its id."""
    inner = handle._inner
    state = inner._execution.current.updates.get(update_id)
    if state is None:
        known = ", ".join(sorted(inner._execution.current.updates)) or "none"
        raise temporalio.service.RPCError(
            f"update {update_id!r} not found on workflow {handle.id!r} (its updates: {known})",
            temporalio.service.RPCStatusCode.NOT_FOUND,
            b"",
        )
    definition = inner._definition()
    sdk_handler = definition.sdk.updates.get(state.name)
    ret_type = sdk_handler.ret_type if sdk_handler is not None and sdk_handler.name else None
    sent = TemporalUpdateHandle(inner._env, handle.id, state, ret_type, inner.converter)
    return WorkflowUpdateHandle(
        sent, run_id=workflow_run_id or handle.run_id, result_type=result_type
    )


async def start_update_with_start(
    client: UpdateWithStartMethods,
    update: str | Callable[..., Any],
    values: Sequence[Any],
    *,
    operation: temporalio.client.WithStartWorkflowOperation[Any, Any],
    wait_for_stage: temporalio.client.WorkflowUpdateStage,
    update_id: str | None,
    result_type: Any,
) -> WorkflowUpdateHandle:
    """Start the operation's workflow and deliver the update in its first workflow task.

    The open workflow is used instead when the operation's conflict policy says so; the
    operation's ``workflow_handle()`` then resolves to the workflow's handle.
    """
    if operation._used:
        raise RuntimeError("WithStartWorkflowOperation cannot be reused")  # as temporalio
    operation._used = True
    start = operation._start_workflow_input
    if start.start_delay is not None:
        raise UnsupportedTemporalFeatureError(
            "start_delay with update-with-start is not supported by pytest-durable's Temporal "
            "client (see docs/temporal.md)"
        )
    try:
        handle = await client._start(start, settle=False)
        update_handle = await start_update(
            handle,
            update,
            values,
            wait_for_stage=wait_for_stage,
            update_id=update_id,
            result_type=result_type,
        )
    except BaseException as error:
        operation._workflow_handle.set_exception(error)
        raise
    operation._workflow_handle.set_result(handle)  # type: ignore[arg-type]
    return update_handle


class UpdateMethods:
    """The update calls of the client's workflow handle (a mixin of its ``WorkflowHandle``)."""

    id: str
    run_id: str | None
    _client: Client
    _inner: TemporalWorkflowHandle

    async def execute_update(
        self,
        update: str | Callable[..., Any],
        arg: Any = _UNSET,
        *,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: type | None = None,
        **_options: Any,
    ) -> Any:
        """Send an update and wait (in virtual time) for its result.

        Raises:
            temporalio.client.WorkflowUpdateFailedError: the validator rejected it, no handler
                has its name, its handler raised a failure, or the workflow closed first.
            temporalio.service.RPCError: the workflow is closed (``NOT_FOUND``).
        """
        handle = await self.start_update(
            update,
            arg,
            args=args,
            id=id,
            result_type=result_type,
            wait_for_stage=temporalio.client.WorkflowUpdateStage.COMPLETED,
        )
        return await handle.result()

    async def start_update(
        self,
        update: str | Callable[..., Any],
        arg: Any = _UNSET,
        *,
        wait_for_stage: temporalio.client.WorkflowUpdateStage,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: type | None = None,
        **_options: Any,
    ) -> WorkflowUpdateHandle:
        """Send an update; return once it reached ``wait_for_stage`` (ACCEPTED or COMPLETED).

        A rejection does not raise here: the handle's ``result()`` raises it, as temporalio's.
        """
        return await start_update(
            self,
            update,
            list(temporalio.common._arg_or_args(arg, args)),
            wait_for_stage=wait_for_stage,
            update_id=id,
            result_type=result_type,
        )

    def get_update_handle(
        self,
        id: str,
        *,
        workflow_run_id: str | None = None,
        result_type: type | None = None,
    ) -> WorkflowUpdateHandle:
        """A handle on an update sent to this workflow, by its id."""
        return get_update_handle(
            self, id, workflow_run_id=workflow_run_id, result_type=result_type
        )

    def get_update_handle_for(
        self, update: Callable[..., Any], id: str, **options: Any
    ) -> WorkflowUpdateHandle:
        """A typed handle on an update by id (the method only gives the result type)."""
        return self.get_update_handle(id, **options)


class UpdateWithStartMethods:
    """The client's update-with-start calls (a mixin of its ``Client``)."""

    async def _start(
        self, start: temporalio.client.UpdateWithStartStartWorkflowInput, *, settle: bool
    ) -> UpdateMethods:  # pragma: no cover - the client's
        raise NotImplementedError

    async def start_update_with_start_workflow(
        self,
        update: str | Callable[..., Any],
        arg: Any = _UNSET,
        *,
        start_workflow_operation: temporalio.client.WithStartWorkflowOperation[Any, Any],
        wait_for_stage: temporalio.client.WorkflowUpdateStage,
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: type | None = None,
        **_options: Any,
    ) -> WorkflowUpdateHandle:
        """Update-with-start: the update goes with the workflow's first task.

        The operation's workflow is started, or the open one used, as its conflict policy says;
        see :meth:`WorkflowHandle.start_update`.
        """
        return await start_update_with_start(
            self,
            update,
            list(temporalio.common._arg_or_args(arg, args)),
            operation=start_workflow_operation,
            wait_for_stage=wait_for_stage,
            update_id=id,
            result_type=result_type,
        )

    async def execute_update_with_start_workflow(
        self,
        update: str | Callable[..., Any],
        arg: Any = _UNSET,
        *,
        start_workflow_operation: temporalio.client.WithStartWorkflowOperation[Any, Any],
        args: Sequence[Any] = (),
        id: str | None = None,
        result_type: type | None = None,
        **_options: Any,
    ) -> Any:
        """Update-with-start, waiting for the update's result."""
        handle = await self.start_update_with_start_workflow(
            update,
            arg,
            start_workflow_operation=start_workflow_operation,
            wait_for_stage=temporalio.client.WorkflowUpdateStage.COMPLETED,
            args=args,
            id=id,
            result_type=result_type,
        )
        return await handle.result()
