"""Render events as a readable timeline, for failure reports and the command line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ._events import Event
from ._history import event_to_json

_MAX_VALUE = 60


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > _MAX_VALUE:
        text = text[: _MAX_VALUE - 1] + "…"
    return text


def _failure_summary(failure: dict[str, Any]) -> str:
    parts = []
    node: dict[str, Any] | None = failure
    while node is not None:
        label = node.get("class", "?")
        if node.get("type"):
            label += f"[{node['type']}]"
        if node.get("timeout_type"):
            label += f"[{node['timeout_type']}]"
        message = node.get("message")
        parts.append(f"{label}: {message}" if message else label)
        node = node.get("cause")
    return " <- ".join(parts)


def describe_event(event: Event) -> str:
    """One event's key attributes on one line."""
    data = event_to_json(event)
    attrs = []
    for key, value in data.items():
        if key in ("id", "time", "type") or value is None or value == [] or value == {}:
            continue
        if key == "failure":
            attrs.append(f"failure={_failure_summary(value)}")
        else:
            attrs.append(f"{key}={_short(value)}")
    return " ".join(attrs)


def render_timeline(events: Sequence[Event]) -> str:
    """``  7  2030-01-01T00:00:03Z  ActivityTaskCompleted  scheduled_event_id=3 result="ok"``."""
    if not events:
        return "(no events)"
    width = len(str(events[-1].event_id))
    lines = []
    for event in events:
        time = event_to_json(event)["time"]
        lines.append(
            f"{event.event_id:>{width}}  {time}  {event.kind}  {describe_event(event)}".rstrip()
        )
    return "\n".join(lines)
