"""Encode exceptions as JSON failures for history, and decode them back into exceptions."""

from __future__ import annotations

import contextlib
from typing import Any

from ..common import from_ns, to_ns
from ..errors import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    PayloadError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)
from ._payload import encode


def error_type_of(exc: BaseException) -> str | None:
    """The type name retry policies match against: ``ApplicationError.type`` or the class name.

    An ``ApplicationError`` raised without a ``type`` has none (Temporal's empty type), so
    listing ``"ApplicationError"`` in ``non_retryable_error_types`` does not stop it.
    """
    if isinstance(exc, ApplicationError):
        return exc.type
    return type(exc).__name__


def encode_failure(exc: BaseException) -> dict[str, Any]:
    """A JSON object describing ``exc`` and its cause chain.

    Stack traces stay out of history on purpose: they hold machine paths and line numbers, which
    would make golden files differ between checkouts. The live exception keeps its traceback.
    """
    data: dict[str, Any]
    if isinstance(exc, ApplicationError):
        data = {
            "class": "ApplicationError",
            "message": exc.message,
            "type": exc.type,
            "non_retryable": exc.non_retryable,
            "details": _encode_details(exc.details),
        }
        if exc.next_retry_delay is not None:
            data["next_retry_delay_ns"] = to_ns(exc.next_retry_delay, what="next_retry_delay")
    elif isinstance(exc, TimeoutError):
        data = {
            "class": "TimeoutError",
            "message": exc.message,
            "timeout_type": exc.type.value if exc.type else None,
            "last_heartbeat_details": _encode_details(exc.last_heartbeat_details),
        }
    elif isinstance(exc, CancelledError):
        data = {
            "class": "CancelledError",
            "message": exc.message,
            "details": _encode_details(exc.details),
        }
    elif isinstance(exc, TerminatedError):
        data = {
            "class": "TerminatedError",
            "message": exc.message,
            "details": _encode_details(exc.details),
        }
    elif isinstance(exc, ActivityError):
        data = {
            "class": "ActivityError",
            "message": exc.message,
            "activity_type": exc.activity_type,
            "activity_id": exc.activity_id,
            "scheduled_event_id": exc.scheduled_event_id,
            "retry_state": exc.retry_state.value if exc.retry_state else None,
        }
    elif isinstance(exc, ChildWorkflowError):
        data = {
            "class": "ChildWorkflowError",
            "message": exc.message,
            "workflow_type": exc.workflow_type,
            "workflow_id": exc.workflow_id,
            "run_id": exc.run_id,
            "retry_state": exc.retry_state.value if exc.retry_state else None,
        }
    else:
        # A plain exception: Temporal's convention, an application error named by its class.
        data = {
            "class": "ApplicationError",
            "message": str(exc),
            "type": type(exc).__name__,
            "non_retryable": False,
            "details": [],
        }
    cause = exc.__cause__
    if cause is not None:
        data["cause"] = encode_failure(cause)
    return data


def _encode_details(details: Any) -> list[Any]:
    """Encode each detail; one that JSON cannot hold becomes a stable placeholder string.

    A failure must always be recordable, and a ``repr`` (with its memory address) would make
    identical runs write different histories.
    """
    out = []
    for i, detail in enumerate(details):
        try:
            out.append(encode(detail, where=f"failure detail {i}"))
        except PayloadError:
            out.append(f"<{type(detail).__qualname__}: not JSON-serialisable>")
    return out


def describe_chain(exc: BaseException, *, limit: int = 6) -> str:
    """One line for an exception and its causes: ``ActivityError: ... <- ApplicationError...``."""
    parts: list[str] = []
    node: BaseException | None = exc
    while node is not None and len(parts) < limit:
        label = type(node).__name__
        if isinstance(node, ApplicationError) and node.type:
            label += f"[{node.type}]"
        if isinstance(node, TimeoutError) and node.type is not None:
            label += f"[{node.type.value}]"
        message = node.message if isinstance(node, FailureError) else str(node)
        text = f"{label}: {message}" if message else label
        state = getattr(node, "retry_state", None)
        if isinstance(state, RetryState):
            text += f" (retry state {state.value})"
        parts.append(text)
        node = node.__cause__
    return " <- ".join(parts)


def decode_failure(data: dict[str, Any]) -> FailureError:
    """Rebuild the exception chain that :func:`encode_failure` described."""
    cls = data.get("class")
    exc: FailureError
    message = data.get("message", "")
    if cls == "ApplicationError":
        delay = data.get("next_retry_delay_ns")
        exc = ApplicationError(
            message,
            *data.get("details", []),
            type=data.get("type"),
            non_retryable=bool(data.get("non_retryable", False)),
            next_retry_delay=from_ns(delay) if delay is not None else None,
        )
    elif cls == "TimeoutError":
        tt = data.get("timeout_type")
        exc = TimeoutError(
            message,
            type=TimeoutType(tt) if tt else None,
            last_heartbeat_details=tuple(data.get("last_heartbeat_details", [])),
        )
    elif cls == "CancelledError":
        exc = CancelledError(message, *data.get("details", []))
    elif cls == "TerminatedError":
        exc = TerminatedError(message, *data.get("details", []))
    elif cls == "ActivityError":
        exc = ActivityError(
            message,
            activity_type=data["activity_type"],
            activity_id=data["activity_id"],
            scheduled_event_id=data["scheduled_event_id"],
            retry_state=_retry_state(data.get("retry_state")),
        )
    elif cls == "ChildWorkflowError":
        exc = ChildWorkflowError(
            message,
            workflow_type=data["workflow_type"],
            workflow_id=data["workflow_id"],
            run_id=data["run_id"],
            retry_state=_retry_state(data.get("retry_state")),
        )
    else:
        exc = ApplicationError(message, type=str(cls))
    exc.stack_trace = data.get("stack_trace", "")
    cause = data.get("cause")
    if cause is not None:
        exc.__cause__ = decode_failure(cause)
    return exc


def _retry_state(value: str | None) -> RetryState | None:
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return RetryState(value)
    return None
