"""Commands: what workflow code asks for during a workflow task, before they become events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..common import RetryPolicy


@dataclass(slots=True, kw_only=True)
class Command:
    """Base: where in the workflow code it was issued, and the event it became."""

    location: tuple[str, int] | None = None
    event_id: int | None = None

    def where(self) -> str | None:
        """``file:line`` of the workflow code that issued the command."""
        if self.location is None:
            return None
        return f"{self.location[0]}:{self.location[1]}"


@dataclass(slots=True, kw_only=True)
class ScheduleActivity(Command):
    seq: int
    activity_id: str
    activity_type: str
    args: list[Any]
    schedule_to_close_ns: int | None
    schedule_to_start_ns: int | None
    start_to_close_ns: int | None
    heartbeat_ns: int | None
    retry_policy: RetryPolicy | None
    result_hint: Any = None
    #: The implementation when called by reference: it needs no registration.
    definition: Any = field(default=None, repr=False)
    future: asyncio.Future[Any] | None = field(default=None, repr=False)
    cancel_requested: bool = False


@dataclass(slots=True, kw_only=True)
class RequestCancelActivity(Command):
    target: ScheduleActivity


@dataclass(slots=True, kw_only=True)
class StartTimer(Command):
    seq: int
    duration_ns: int
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)
    fired: bool = False


@dataclass(slots=True, kw_only=True)
class CancelTimer(Command):
    target: StartTimer


@dataclass(slots=True, kw_only=True)
class RecordMarker(Command):
    name: str
    details: dict[str, Any]


@dataclass(slots=True, kw_only=True)
class StartChildWorkflow(Command):
    seq: int
    workflow_type: str
    workflow_id: str
    args: list[Any]
    retry_policy: RetryPolicy | None
    result_hint: Any = None
    definition: Any = field(default=None, repr=False)
    started: asyncio.Future[str] | None = field(default=None, repr=False)
    result: asyncio.Future[Any] | None = field(default=None, repr=False)


@dataclass(slots=True, kw_only=True)
class RequestCancelChild(Command):
    target: StartChildWorkflow


@dataclass(slots=True, kw_only=True)
class CompleteWorkflow(Command):
    result: Any


@dataclass(slots=True, kw_only=True)
class FailWorkflow(Command):
    failure: dict[str, Any]
    #: The live exception, so the test sees the original traceback.
    exception: BaseException = field(repr=False)
    #: True when the exception is a bug in workflow code rather than a declared failure.
    is_bug: bool = False


@dataclass(slots=True, kw_only=True)
class CancelWorkflow(Command):
    pass


@dataclass(slots=True, kw_only=True)
class ContinueAsNew(Command):
    workflow_type: str
    args: list[Any]
    #: The target's definition when given by reference: it needs no registration.
    definition: Any = field(default=None, repr=False)


CLOSING_COMMANDS = (CompleteWorkflow, FailWorkflow, CancelWorkflow, ContinueAsNew)
