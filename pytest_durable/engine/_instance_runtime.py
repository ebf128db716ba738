"""The engine's :class:`~._runtime.WorkflowRuntime`: turns workflow API calls into commands.

One per :class:`~._instance.WorkflowInstance`, reached through the instance's event loop. It
numbers and names what the workflow asks for (sequence numbers, default activity and child
ids), encodes arguments, builds the commands and hands them to the instance, which keeps them
until its workflow task ends.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import _ContinueAsNew
from ._checks import check_arity, check_types, types_conform
from ._commands import (
    ModifyWorkflowProperties,
    ScheduleActivity,
    ScheduleLocalActivity,
    StartChildWorkflow,
    UpsertSearchAttributes,
)
from ._local import start_local_activity
from ._location import display_path, user_location
from ._payload import PLAIN_JSON, encode_args
from ._runtime import (
    ActivityCall,
    ChildWorkflowCall,
    ChildWorkflowHandle,
    LocalActivityCall,
    WorkflowInfo,
    retrieve_outcome,
)

if TYPE_CHECKING:
    from ._definitions import ActivityDefinition, WorkflowDefinition
    from ._instance import WorkflowInstance


class InstanceRuntime:
    """Implements :class:`~._runtime.WorkflowRuntime` for one engine workflow instance."""

    __slots__ = ("instance",)

    def __init__(self, instance: WorkflowInstance) -> None:
        self.instance = instance

    # --- facts -----------------------------------------------------------------------------------

    def workflow_info(self) -> WorkflowInfo:
        return self.instance.info

    def workflow_time_ns(self) -> int:
        return self.instance.now_ns

    def workflow_is_replaying(self) -> bool:
        return self.instance.replaying

    def workflow_random(self) -> random.Random:
        return self.instance.random

    def workflow_uuid4(self) -> uuid.UUID:
        return self.instance.uuid4()

    # --- commands --------------------------------------------------------------------------------

    def workflow_patch(self, patch_id: str, *, deprecated: bool) -> bool:
        return self.instance.patched(patch_id, deprecated=deprecated)

    def workflow_memo(self) -> Mapping[str, Any]:
        return self.instance.memo

    def workflow_upsert_memo(self, updates: dict[str, Any]) -> None:
        instance = self.instance
        instance.check_may_issue("change the memo")
        _apply_upsert(instance.memo, updates)
        instance.commands.append(
            ModifyWorkflowProperties(upserted_memo=updates, location=user_location())
        )

    def workflow_upsert_search_attributes(self, updates: dict[str, Any]) -> None:
        instance = self.instance
        instance.check_may_issue("upsert search attributes")
        _apply_upsert(instance.search_attributes, updates)
        instance.commands.append(
            UpsertSearchAttributes(search_attributes=updates, location=user_location())
        )

    async def workflow_sleep(self, duration_ns: int) -> None:
        instance = self.instance
        future = instance.loop.create_future()
        handle = instance.start_timer(duration_ns, _set_result_unless_done, (future,), None)
        try:
            await future
        except BaseException:
            # Cancelled or closed while waiting: the timer goes too. (A future that got its
            # result is one whose timer fired: cancelling it then would change nothing.)
            handle.cancel()
            raise

    def workflow_wait_condition(self, fn: Callable[[], bool]) -> asyncio.Future[bool]:
        return self.instance.wait_condition(fn)

    def workflow_start_activity(self, call: ActivityCall) -> asyncio.Future[Any]:
        instance = self.instance
        name = call.activity_type
        definition = call.definition
        location = user_location()
        encoded = self._checked_arguments(definition, call.args, "activity", name, location)
        seq = instance.activity_seq + 1
        hint = call.result_type
        if hint is None and definition is not None:
            hint = definition.signature.return_hint
        options = call.options
        command = ScheduleActivity(
            seq=seq,
            activity_id=options.activity_id or str(seq),
            activity_type=name,
            args=encoded,
            schedule_to_close_ns=options.schedule_to_close_ns,
            schedule_to_start_ns=options.schedule_to_start_ns,
            start_to_close_ns=options.start_to_close_ns,
            heartbeat_ns=options.heartbeat_ns,
            retry_policy=options.retry_policy,
            result_hint=hint,
            definition=definition,
            location=location,
        )
        return instance.schedule_activity(command)

    def workflow_start_local_activity(self, call: LocalActivityCall) -> asyncio.Task[Any]:
        instance = self.instance
        name = call.activity_type
        definition = call.definition
        location = user_location()
        encoded = self._checked_arguments(definition, call.args, "local activity", name, location)
        seq = instance.local_activity_seq + 1
        hint = call.result_type
        if hint is None and definition is not None:
            hint = definition.signature.return_hint
        options = call.options
        command = ScheduleLocalActivity(
            seq=seq,
            activity_id=options.activity_id or f"local-{seq}",
            activity_type=name,
            args=encoded,
            schedule_to_close_ns=options.schedule_to_close_ns,
            schedule_to_start_ns=options.schedule_to_start_ns,
            start_to_close_ns=options.start_to_close_ns,
            retry_policy=options.retry_policy,
            local_retry_threshold_ns=call.local_retry_threshold_ns,
            result_hint=hint,
            definition=definition,
            location=location,
        )
        task: asyncio.Task[Any] = start_local_activity(instance, command)
        return task

    async def workflow_start_child_workflow(
        self, call: ChildWorkflowCall
    ) -> ChildWorkflowHandle[Any]:
        instance = self.instance
        name = call.workflow_type
        definition = call.definition
        location = user_location()
        encoded = self._checked_arguments(
            definition, call.args, "child workflow", name, location
        )
        seq = instance.child_seq + 1
        hint = call.result_type
        if hint is None and definition is not None:
            hint = definition.signature.return_hint
        command = StartChildWorkflow(
            seq=seq,
            workflow_type=name,
            workflow_id=call.workflow_id or f"{instance.info.workflow_id}/child-{seq}",
            args=encoded,
            retry_policy=call.retry_policy,
            result_hint=hint,
            definition=definition,
            location=location,
        )
        instance.start_child(command)
        handle = _ChildHandle(instance, command)
        assert command.started is not None
        try:
            await asyncio.shield(command.started)
        except asyncio.CancelledError:
            handle.cancel()
            # Nobody will await the child now: its outcome is expected, not an unretrieved error.
            for future in (command.started, command.result):
                if future is not None:
                    future.add_done_callback(retrieve_outcome)
            raise
        return handle

    def _checked_arguments(
        self,
        definition: ActivityDefinition | WorkflowDefinition | None,
        args: Sequence[Any],
        kind: str,
        name: str,
        location: tuple[str, int] | None,
    ) -> list[Any]:
        """A call's arguments, checked where workflow code made it, and encoded.

        The messages name the callee (``activity 'charge'``: ``kind`` and ``name``) and the
        line of the call; they are only made for a call that fails. Called by name (no
        definition), the arguments can only be encoded.
        """
        values = tuple(args)
        if definition is None:
            return _encoded(values, (), kind, name)
        instance = self.instance
        signature = definition.signature
        count = len(values)
        if not (
            signature.required <= count
            and (count <= len(signature.names) or signature.has_varargs)
        ):
            check_arity(signature, values, owner=f"{kind} {name!r}", where=_at(location))
        encoded = list(values)  # plain-JSON values are their own encoding, the common case
        for value in values:
            if type(value) not in PLAIN_JSON:
                encoded = encode_args(values, signature.names, owner=f"{kind} {name!r}")
                break
        if instance.check_types and not instance.replaying:  # recorded calls were checked
            plain = signature.plain_hints
            if plain is not None:
                # Hints that are plain types, judged without typing introspection.
                for value, expected in zip(values, plain, strict=False):
                    if not isinstance(value, expected):
                        break
                else:
                    return encoded
            if not types_conform(signature, values):
                check_types(signature, values, owner=f"{kind} {name!r}", where=_at(location))
        return encoded

    def workflow_continue_as_new(
        self,
        workflow_type: str | None,
        definition: WorkflowDefinition | None,
        args: Sequence[Any],
    ) -> NoReturn:
        # Unwinds the workflow's code; the instance turns it into the closing command.
        raise _ContinueAsNew(workflow_type, tuple(args), definition)


def _encoded(values: tuple[Any, ...], names: Sequence[str], kind: str, name: str) -> list[Any]:
    """``values`` as JSON: as they are when each is its own JSON, the common case."""
    for value in values:
        if type(value) not in PLAIN_JSON:
            return encode_args(values, names, owner=f"{kind} {name!r}")
    return list(values)


def _at(location: tuple[str, int] | None) -> str:
    """`` at file:line`` for a check's message, or nothing when the line is unknown."""
    return f" at {display_path(location[0])}:{location[1]}" if location is not None else ""


class _ChildHandle(ChildWorkflowHandle[Any]):
    """The engine's child workflow handle: the command that started the child is its state."""

    __slots__ = ("_command", "_instance")

    def __init__(self, instance: WorkflowInstance, command: StartChildWorkflow) -> None:
        self._instance = instance
        self._command = command

    @property
    def id(self) -> str:
        return self._command.workflow_id

    @property
    def run_id(self) -> str | None:
        started = self._command.started
        if started is not None and started.done() and not started.exception():
            return started.result()
        return None

    def cancel(self) -> None:
        self._instance.cancel_child(self._command)

    def _future(self) -> asyncio.Future[Any]:
        result = self._command.result
        assert result is not None
        return result


def _set_result_unless_done(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)




def _apply_upsert(target: dict[str, Any], updates: Mapping[str, Any]) -> None:
    """Upsert ``updates`` into ``target``: a None value removes its key."""
    for key, value in updates.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
