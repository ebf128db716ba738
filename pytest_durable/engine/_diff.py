"""Compare two histories event by event, for golden files and the command line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._events import Event
from ._history import History, event_to_json
from ._timeline import describe_event

#: Keys that identify a run rather than describe behaviour; ignored when asked.
RUN_IDENTITY_KEYS = frozenset({"run_id", "first_run_id", "new_run_id", "randomness_seed"})


def _comparable(event: Event, ignore: frozenset[str]) -> dict[str, Any]:
    data = event_to_json(event)
    for key in ignore:
        data.pop(key, None)
    return data


def diff_histories(
    expected: History | Sequence[Event],
    actual: History | Sequence[Event],
    *,
    ignore: frozenset[str] = frozenset(),
) -> list[str]:
    """Readable lines describing how ``actual`` differs from ``expected``; empty if equal.

    Events are compared in order by their JSON form (minus ``ignore`` keys). Each difference
    names the event id, the event on each side, and the attributes that changed.
    """
    lines: list[str] = []
    longest = max(len(expected), len(actual))
    for index in range(longest):
        old = expected[index] if index < len(expected) else None
        new = actual[index] if index < len(actual) else None
        if old is not None and new is not None:
            a = _comparable(old, ignore)
            b = _comparable(new, ignore)
            if a == b:
                continue
            lines.append(f"event {index + 1}:")
            if a.get("type") != b.get("type"):
                lines.append(f"  - {old.kind}  {describe_event(old)}".rstrip())
                lines.append(f"  + {new.kind}  {describe_event(new)}".rstrip())
                continue
            lines.append(f"  {old.kind}")
            for key in sorted(set(a) | set(b), key=lambda k: (k not in a, k)):
                if a.get(key) != b.get(key):
                    lines.append(f"    {key}: {_short(a.get(key))} -> {_short(b.get(key))}")
        elif old is not None:
            lines.append(f"event {index + 1}: only in expected")
            lines.append(f"  - {old.kind}  {describe_event(old)}".rstrip())
        elif new is not None:
            lines.append(f"event {index + 1}: only in actual")
            lines.append(f"  + {new.kind}  {describe_event(new)}".rstrip())
    return lines


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
