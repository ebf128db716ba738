"""Markers in Temporal's shape: patch markers and local activity markers, both ways.

A local activity is recorded by Temporal's Core SDK as a ``core_local_activity`` marker whose
``data`` detail is a JSON payload of Core's ``LocalActivityMarkerData`` (sequence number,
attempt, activity id and type, completion time, backoff, original schedule time; times and
durations as ``{"seconds", "nanos"}``), whose ``result`` detail is the result payload, and whose
``failure`` is the failure. Our history keeps the same facts as JSON values (see
``engine/_local.py``).
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import MarkerRecordedEventAttributes

from ..engine._commands import LOCAL_ACTIVITY_MARKER
from ..errors import HistoryFormatError
from ._convert import from_failure, to_failure, to_payload, to_value

#: The marker the SDK records for ``workflow.patched`` / ``deprecate_patch``.
PATCH_MARKER = "core_patch"

_BILLION = 1_000_000_000


def _time(ns: int | None) -> dict[str, int] | None:
    if ns is None:
        return None
    seconds, nanos = divmod(int(ns), _BILLION)
    return {"seconds": seconds, "nanos": nanos}


def _ns(value: Any) -> int | None:
    if not isinstance(value, dict):
        return None
    return int(value.get("seconds", 0)) * _BILLION + int(value.get("nanos", 0))


def export_marker(
    event_id: int, name: str, details: dict[str, Any], out: MarkerRecordedEventAttributes
) -> None:
    """Fill ``out`` with Temporal's form of one of our markers."""
    if name == "patch":
        out.marker_name = PATCH_MARKER
        data = {"id": details.get("patch_id"), "deprecated": bool(details.get("deprecated"))}
        out.details["patch-data"].payloads.append(to_payload(data))
        return
    if name != LOCAL_ACTIVITY_MARKER:
        raise HistoryFormatError(f"event {event_id}: marker {name!r} has no Temporal equivalent")
    out.marker_name = LOCAL_ACTIVITY_MARKER
    data = details["data"]
    core = {
        "seq": data["seq"],
        "attempt": data["attempt"],
        "activity_id": data["activity_id"],
        "activity_type": data["activity_type"],
        "complete_time": _time(data.get("complete_time_ns")),
        "backoff": _time(data.get("backoff_ns")),
        "original_schedule_time": _time(data.get("original_schedule_time_ns")),
    }
    # Core writes this one as JSON whatever the data converter: readable in Temporal's UI.
    out.details["data"].payloads.append(
        Payload(
            metadata={"encoding": b"json/plain"},
            data=json.dumps(core, separators=(",", ":")).encode(),
        )
    )
    if "failure" not in details:
        out.details["result"].payloads.append(to_payload(details.get("result")))
        return
    failure = details["failure"]
    if data.get("backoff_ns") is None:
        # The final failure as the workflow sees it (an ActivityError over the cause), so that
        # temporalio's Replayer hands the code the same exception it saw live.
        failure = {
            "class": "ActivityError",
            "message": "Local activity failed",
            "activity_type": data["activity_type"],
            "activity_id": data["activity_id"],
            "retry_state": details.get("retry_state"),
            "cause": failure,
        }
    out.failure.CopyFrom(to_failure(failure))


def import_marker(
    event_id: int, attrs: MarkerRecordedEventAttributes
) -> tuple[str, dict[str, Any]]:
    """Our marker name and details for a Temporal marker (patch or local activity)."""
    if attrs.marker_name == PATCH_MARKER:
        patch = to_value(attrs.details["patch-data"].payloads[0])
        details: dict[str, Any] = {"patch_id": patch.get("id")}
        if patch.get("deprecated"):
            details["deprecated"] = True
        return "patch", details
    if attrs.marker_name != LOCAL_ACTIVITY_MARKER:
        raise HistoryFormatError(
            f"event {event_id}: marker {attrs.marker_name!r} is not supported (only patch and "
            "local activity markers)"
        )
    raw = attrs.details["data"].payloads
    try:
        core = json.loads(raw[0].data)
        data: dict[str, Any] = {
            "seq": int(core["seq"]),
            "attempt": int(core["attempt"]),
            "activity_id": str(core["activity_id"]),
            "activity_type": str(core["activity_type"]),
            "complete_time_ns": _ns(core.get("complete_time")) or 0,
            "original_schedule_time_ns": _ns(core.get("original_schedule_time")) or 0,
        }
    except (IndexError, KeyError, TypeError, ValueError) as error:
        raise HistoryFormatError(
            f"event {event_id}: the local activity marker's data is not Core's "
            f"LocalActivityMarkerData JSON ({error!r})"
        ) from None
    backoff = _ns(core.get("backoff"))
    if backoff is not None:
        data["backoff_ns"] = backoff
    out: dict[str, Any] = {"data": data}
    if not attrs.HasField("failure"):
        result = attrs.details["result"].payloads if "result" in attrs.details else []
        out["result"] = to_value(result[0]) if result else None
        return LOCAL_ACTIVITY_MARKER, out
    failure = from_failure(attrs.failure)
    if failure.get("class") == "ActivityError" and failure.get("cause") is not None:
        if failure.get("retry_state"):
            out["retry_state"] = failure["retry_state"]
        failure = failure["cause"]
    out["failure"] = failure
    return LOCAL_ACTIVITY_MARKER, out
