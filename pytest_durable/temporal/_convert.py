"""Translate between our history's JSON values and failures and temporalio's protobufs.

Our history holds payloads as JSON values (readable golden files, the engine's own mocks and
replay comparisons work on them); temporalio exchanges ``Payload`` messages. JSON payloads
(temporalio's default for everything but ``None`` and ``bytes``) become their value; anything
else is kept exactly, tagged, so a round trip loses nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

import temporalio.common
import temporalio.converter
import temporalio.converter._payload_converter
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import RetryState as ProtoRetryState
from temporalio.api.enums.v1 import TimeoutType as ProtoTimeoutType
from temporalio.api.failure.v1 import Failure

from ..common import RetryPolicy

#: The key of a payload that is not JSON, kept verbatim (metadata and data in base64).
RAW_PAYLOAD = "__temporal_payload__"

_JSON = b"json/plain"
_NULL = b"binary/null"


#: What every JSON (or null) payload starts as; copying one is cheaper than building its map.
_JSON_PAYLOAD = Payload(metadata={"encoding": _JSON})
_NULL_PAYLOAD = Payload(metadata={"encoding": _NULL})


def to_value(payload: Payload) -> Any:
    """The JSON value a payload holds (or a tagged copy of a payload that is not JSON)."""
    metadata = payload.metadata
    if len(metadata) == 1:
        encoding = metadata.get("encoding")
        if encoding == _JSON:
            data = payload.data
            if data.isdigit() and (len(data) == 1 or data[0] != 0x30):
                return int(data)  # what json.loads gives, without its encoding detection
            return json.loads(data)
        if encoding == _NULL:
            return None
    return {
        RAW_PAYLOAD: {
            "metadata": {key: base64.b64encode(value).decode() for key, value in metadata.items()},
            "data": base64.b64encode(payload.data).decode(),
        }
    }


def _json(value: Any) -> bytes:
    """``value`` as JSON, exactly as ``json.dumps`` (compact, keys sorted) writes it."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value).encode()
    if kind is str:
        return encode_basestring_ascii(value).encode()
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def fill_payload(payload: Payload, value: Any) -> None:
    """Make ``payload``, a fresh field of a message being built, carry ``value``.

    The same as ``payload.CopyFrom(to_payload(value))``, without the intermediate message.
    """
    if value is None:
        payload.CopyFrom(_NULL_PAYLOAD)
    elif isinstance(value, dict) and len(value) == 1 and RAW_PAYLOAD in value:
        raw = value[RAW_PAYLOAD]
        for key, encoded in raw["metadata"].items():
            payload.metadata[key] = base64.b64decode(encoded)
        payload.data = base64.b64decode(raw["data"])
    else:
        payload.CopyFrom(_JSON_PAYLOAD)
        payload.data = _json(value)


def to_payload(value: Any) -> Payload:
    """The payload that carries ``value`` (the inverse of :func:`to_value`)."""
    payload = Payload()
    fill_payload(payload, value)
    return payload


#: The types whose values the default payload converter carries as themselves: a JSON payload
#: of one decodes to an equal value of the same type (None, binary/null, too).
SCALARS = frozenset({int, float, str, bool, type(None)})

#: temporalio's default payload converters, in the order the default converter tries them.
_DEFAULT_CONVERTERS = (
    temporalio.converter.BinaryNullPayloadConverter,
    temporalio.converter.BinaryPlainPayloadConverter,
    temporalio.converter.JSONProtoPayloadConverter,
    temporalio.converter.BinaryProtoPayloadConverter,
    temporalio.converter.JSONPlainPayloadConverter,
)


#: temporalio's wrapper applying registered transfer types (none for a builtin scalar type).
_TRANSFER_WRAPPER = getattr(
    temporalio.converter._payload_converter, "_TemporalTransferTypePayloadConverter", None
)


def is_plain(payload_converter: Any) -> bool:
    """Whether ``payload_converter`` is temporalio's default one, as it comes.

    Such a converter carries each :data:`SCALARS` value as itself, so the front-end may skip
    its round trip through JSON for them. Anything else (a custom converter, a JSON converter
    with its own encoder, decoder or type converters, a changed order) must be asked.
    """
    if _TRANSFER_WRAPPER is not None and type(payload_converter) is _TRANSFER_WRAPPER:
        payload_converter = getattr(payload_converter, "_inner_payload_converter", None)
    if type(payload_converter) is not temporalio.converter.DefaultPayloadConverter:
        return False
    converters = list(payload_converter.converters.values())
    if tuple(type(c) for c in converters) != _DEFAULT_CONVERTERS:
        return False
    json_converter = converters[-1]
    return (
        getattr(json_converter, "_encoder", None) is temporalio.converter.AdvancedJSONEncoder
        and getattr(json_converter, "_decoder", True) is None
        and getattr(json_converter, "_custom_type_converters", True) == []
    )


def plain_args(values: Sequence[Any], hints: Sequence[Any] | None) -> list[Any] | None:
    """``values`` as a plain converter decodes them for ``hints``; None if it must be asked.

    Only for :data:`SCALARS` values whose hint is absent, ``Any`` or their own type (where
    temporalio's ``value_to_type`` returns the value unchanged; binary/null gives None).
    """
    hints = hints or ()
    if len(hints) > len(values):
        return None
    for index, value in enumerate(values):
        kind = type(value)
        if kind not in SCALARS:
            return None
        if index < len(hints):
            hint = hints[index]
            if hint is not kind and hint is not Any:
                return None
    return list(values)


def to_values(payloads: Iterable[Payload]) -> list[Any]:
    """:func:`to_value` of each payload."""
    return [to_value(p) for p in payloads]


def to_payloads(values: Sequence[Any]) -> list[Payload]:
    """:func:`to_payload` of each value."""
    return [to_payload(v) for v in values]


# --- failures --------------------------------------------------------------------------------

_PROTO_PREFIX_TIMEOUT = "TIMEOUT_TYPE_"
_PROTO_PREFIX_RETRY = "RETRY_STATE_"


def _timeout_type(name: str | None) -> int:
    if not name:
        return ProtoTimeoutType.TIMEOUT_TYPE_UNSPECIFIED
    return ProtoTimeoutType.Value(_PROTO_PREFIX_TIMEOUT + name)


def _retry_state(name: str | None) -> int:
    if not name:
        return ProtoRetryState.RETRY_STATE_UNSPECIFIED
    return ProtoRetryState.Value(_PROTO_PREFIX_RETRY + name)


def _enum_name(value: int, enum: Any, prefix: str) -> str | None:
    name = str(enum.Name(value))
    if name.endswith("UNSPECIFIED"):
        return None
    return name.removeprefix(prefix)


def to_failure(data: dict[str, Any]) -> Failure:
    """A Temporal ``Failure`` message from our history's failure object (cause chain included)."""
    failure = Failure(
        message=str(data.get("message", "")),
        stack_trace=str(data.get("stack_trace", "")),
        source=str(data.get("source", "")),
    )
    kind = data.get("class")
    if kind == "TimeoutError":
        info = failure.timeout_failure_info
        info.timeout_type = _timeout_type(data.get("timeout_type"))  # type: ignore[assignment]
        details = data.get("last_heartbeat_details") or []
        if details:
            info.last_heartbeat_details.payloads.extend(to_payloads(details))
    elif kind == "CancelledError":
        failure.canceled_failure_info.SetInParent()
        details = data.get("details") or []
        if details:
            failure.canceled_failure_info.details.payloads.extend(to_payloads(details))
    elif kind == "TerminatedError":
        failure.terminated_failure_info.SetInParent()
    elif kind == "ActivityError":
        act = failure.activity_failure_info
        act.activity_type.name = str(data.get("activity_type", ""))
        act.activity_id = str(data.get("activity_id", ""))
        act.scheduled_event_id = int(data.get("scheduled_event_id") or 0)
        act.started_event_id = int(data.get("started_event_id") or 0)
        act.retry_state = _retry_state(data.get("retry_state"))  # type: ignore[assignment]
    elif kind == "ChildWorkflowError":
        child = failure.child_workflow_execution_failure_info
        child.namespace = str(data.get("namespace") or "default")
        child.workflow_type.name = str(data.get("workflow_type", ""))
        child.workflow_execution.workflow_id = str(data.get("workflow_id", ""))
        child.workflow_execution.run_id = str(data.get("run_id") or "")
        child.initiated_event_id = int(data.get("initiated_event_id") or 0)
        child.started_event_id = int(data.get("started_event_id") or 0)
        child.retry_state = _retry_state(data.get("retry_state"))  # type: ignore[assignment]
    else:
        app = failure.application_failure_info
        # An unknown class keeps its name as the type; an untyped ApplicationError has none.
        fallback = kind if kind not in (None, "ApplicationError") else ""
        app.type = str(data.get("type") or fallback)
        app.non_retryable = bool(data.get("non_retryable", False))
        details = data.get("details") or []
        if details:
            app.details.payloads.extend(to_payloads(details))
        delay = data.get("next_retry_delay_ns")
        if delay is not None:
            app.next_retry_delay.FromNanoseconds(int(delay))
    cause = data.get("cause")
    if cause is not None:
        failure.cause.CopyFrom(to_failure(cause))
    return failure


def from_failure(failure: Failure) -> dict[str, Any]:
    """Our history's failure object from a Temporal ``Failure`` (cause chain included)."""
    data: dict[str, Any]
    which = failure.WhichOneof("failure_info")
    if which == "timeout_failure_info":
        info = failure.timeout_failure_info
        data = {
            "class": "TimeoutError",
            "message": failure.message,
            "timeout_type": _enum_name(info.timeout_type, ProtoTimeoutType, _PROTO_PREFIX_TIMEOUT),
            "last_heartbeat_details": to_values(info.last_heartbeat_details.payloads),
        }
    elif which == "canceled_failure_info":
        data = {
            "class": "CancelledError",
            "message": failure.message,
            "details": to_values(failure.canceled_failure_info.details.payloads),
        }
    elif which == "terminated_failure_info":
        data = {"class": "TerminatedError", "message": failure.message}
    elif which == "activity_failure_info":
        act = failure.activity_failure_info
        data = {
            "class": "ActivityError",
            "message": failure.message,
            "activity_type": act.activity_type.name,
            "activity_id": act.activity_id,
            "scheduled_event_id": act.scheduled_event_id,
            "retry_state": _enum_name(act.retry_state, ProtoRetryState, _PROTO_PREFIX_RETRY),
        }
    elif which == "child_workflow_execution_failure_info":
        child = failure.child_workflow_execution_failure_info
        data = {
            "class": "ChildWorkflowError",
            "message": failure.message,
            "workflow_type": child.workflow_type.name,
            "workflow_id": child.workflow_execution.workflow_id,
            "run_id": child.workflow_execution.run_id,
            "retry_state": _enum_name(child.retry_state, ProtoRetryState, _PROTO_PREFIX_RETRY),
        }
    else:
        app = failure.application_failure_info
        data = {
            "class": "ApplicationError",
            "message": failure.message,
            "type": app.type or None,
            "non_retryable": app.non_retryable,
            "details": to_values(app.details.payloads),
        }
        if app.HasField("next_retry_delay"):
            data["next_retry_delay_ns"] = app.next_retry_delay.ToNanoseconds()
    if failure.HasField("cause"):
        data["cause"] = from_failure(failure.cause)
    return data


def payloads_message(values: Sequence[Any]) -> Payloads:
    """A ``Payloads`` message holding ``values``."""
    return Payloads(payloads=to_payloads(values))


#: Our retry policy for each temporalio ``RetryPolicy`` message seen, by its bytes: a workflow
#: passes the same few policies to every activity it schedules. Policies are frozen values.
_RETRY_POLICIES: dict[bytes, RetryPolicy] = {}


def retry_policy(proto: Any, present: bool) -> RetryPolicy | None:
    """Our retry policy for a temporalio ``RetryPolicy`` message (None when absent)."""
    if not present:
        return None
    key = proto.SerializeToString(deterministic=True)
    policy = _RETRY_POLICIES.get(key)
    if policy is None:
        sdk = temporalio.common.RetryPolicy.from_proto(proto)
        policy = RetryPolicy(
            initial_interval=sdk.initial_interval,
            backoff_coefficient=sdk.backoff_coefficient,
            maximum_interval=sdk.maximum_interval,
            maximum_attempts=sdk.maximum_attempts,
            non_retryable_error_types=tuple(sdk.non_retryable_error_types or ()),
        )
        if len(_RETRY_POLICIES) >= 256:
            _RETRY_POLICIES.clear()
        _RETRY_POLICIES[key] = policy
    return policy
