"""Compare two histories event by event, for golden files and the command line.

The two event lists are aligned first (a sequence alignment over what each event is: its kind
and the activity, timer, child, signal or marker it concerns), so an inserted activity shows as
one insertion rather than as every later event changed. Aligned pairs are then compared field by
field. Fields that only move because events were inserted or removed earlier are not reported:
an event's own id, references to other events (``scheduled_event_id``...) that point at aligned
partners, and activity and timer ids that are the default sequence numbers on both sides.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._events import ActivityTaskScheduled, Event, TimerStarted
from ._history import History, event_to_json
from ._timeline import describe_event

#: Keys that identify a run rather than describe behaviour; ignored when asked.
RUN_IDENTITY_KEYS = frozenset({"run_id", "first_run_id", "new_run_id", "randomness_seed"})

#: Fields holding the id of another event of the same history.
_REFERENCE_KEYS = frozenset(
    {"scheduled_event_id", "started_event_id", "initiated_event_id", "accepted_event_id"}
)

#: Fields that name what an event concerns: events align only when these agree.
_IDENTITY_KEYS = (
    "activity_type",
    "workflow_type",
    "signal_name",
    "marker_name",
    "details",
    "update_name",
)

#: Per kind, the field numbered in call order unless the code chose it.
_SEQUENCE_IDS: dict[type[Event], str] = {
    ActivityTaskScheduled: "activity_id",
    TimerStarted: "timer_id",
}


@dataclass(frozen=True, slots=True)
class EventChange:
    """One difference between two aligned histories.

    Attributes:
        kind: ``"inserted"`` (only in actual), ``"removed"`` (only in expected) or
            ``"changed"`` (aligned, with different fields).
        expected: the event on the expected side (None when inserted).
        actual: the event on the actual side (None when removed).
        fields: for a change, ``(key, expected value, actual value)`` of each differing field.
    """

    kind: str
    expected: Event | None
    actual: Event | None
    fields: tuple[tuple[str, Any, Any], ...] = ()


def _coarse(event: Event) -> tuple[Any, ...]:
    """What an event concerns: its kind and the activity, child, signal or marker it names."""
    data = event_to_json(event)
    return (data["type"], *(repr(data.get(key)) for key in _IDENTITY_KEYS))


def _fine(event: Event, ignore: frozenset[str]) -> str:
    """Everything about an event except what renumbering or a time shift changes."""
    data = event_to_json(event)
    skip = ignore | _REFERENCE_KEYS | {"id", "time", _SEQUENCE_IDS.get(type(event), "")}
    return repr([(key, value) for key, value in data.items() if key not in skip])


def _align(
    old: Sequence[Event], new: Sequence[Event], ignore: frozenset[str]
) -> list[tuple[int | None, int | None]]:
    """Pairs of indexes (None where an event has no partner), in order.

    Events that are the same up to renumbering align first; what is left between those
    anchors is aligned again by what the events concern, so an activity called with other
    arguments pairs with its old self (a change) rather than showing as removed and added.
    """
    pairs: list[tuple[int | None, int | None]] = []
    fine = difflib.SequenceMatcher(
        None, [_fine(e, ignore) for e in old], [_fine(e, ignore) for e in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in fine.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        coarse = difflib.SequenceMatcher(
            None,
            [_coarse(e) for e in old[i1:i2]],
            [_coarse(e) for e in new[j1:j2]],
            autojunk=False,
        )
        for sub, a1, a2, b1, b2 in coarse.get_opcodes():
            if sub == "equal":
                pairs.extend(zip(range(i1 + a1, i1 + a2), range(j1 + b1, j1 + b2), strict=True))
            else:
                pairs.extend((i, None) for i in range(i1 + a1, i1 + a2))
                pairs.extend((None, j) for j in range(j1 + b1, j1 + b2))
    return pairs


def _sequence_positions(events: Sequence[Event]) -> dict[int, int]:
    """For activity and timer events: their 1-based position among events of their kind."""
    counts: dict[type[Event], int] = {}
    out: dict[int, int] = {}
    for index, event in enumerate(events):
        kind = type(event)
        if kind in _SEQUENCE_IDS:
            counts[kind] = counts.get(kind, 0) + 1
            out[index] = counts[kind]
    return out


def align_histories(
    expected: History | Sequence[Event],
    actual: History | Sequence[Event],
    *,
    ignore: frozenset[str] = frozenset(),
) -> list[EventChange]:
    """The differences between two histories, in order, after aligning their events.

    ``ignore`` names JSON keys left out of the comparison (e.g. :data:`RUN_IDENTITY_KEYS`).
    An empty list means the histories are the same.
    """
    old, new = list(expected), list(actual)
    pairs = _align(old, new, ignore)
    # Event id on the expected side -> the id of its aligned partner on the actual side.
    partner = {
        old[i].event_id: new[j].event_id for i, j in pairs if i is not None and j is not None
    }
    old_seq, new_seq = _sequence_positions(old), _sequence_positions(new)
    changes: list[EventChange] = []
    for i, j in pairs:
        if i is None:
            assert j is not None
            changes.append(EventChange("inserted", None, new[j]))
        elif j is None:
            changes.append(EventChange("removed", old[i], None))
        else:
            fields = _field_changes(
                old[i], new[j], ignore, partner, (old_seq.get(i), new_seq.get(j))
            )
            if fields:
                changes.append(EventChange("changed", old[i], new[j], fields))
    return changes


def _field_changes(
    old: Event,
    new: Event,
    ignore: frozenset[str],
    partner: dict[int, int],
    positions: tuple[int | None, int | None],
) -> tuple[tuple[str, Any, Any], ...]:
    a, b = event_to_json(old), event_to_json(new)
    sequence_key = _SEQUENCE_IDS.get(type(old))
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        if key in ignore or key == "id":
            continue
        before, after = a.get(key), b.get(key)
        if before == after:
            continue
        if key in _REFERENCE_KEYS and isinstance(before, int) and partner.get(before) == after:
            continue  # points at the same (aligned) event, renumbered
        if (
            key == sequence_key
            and before == str(positions[0])
            and after == str(positions[1])
        ):
            continue  # the default id, renumbered because activities or timers were added
        out.append((key, before, after))
    return tuple(out)


def diff_histories(
    expected: History | Sequence[Event],
    actual: History | Sequence[Event],
    *,
    ignore: frozenset[str] = frozenset(),
) -> list[str]:
    """Readable lines describing how ``actual`` differs from ``expected``; empty if equal.

    Each difference names the event (its id on each side when they differ), the event, and
    the fields that changed; see :func:`align_histories` for how events are paired.
    """
    lines: list[str] = []
    for change in align_histories(expected, actual, ignore=ignore):
        old, new = change.expected, change.actual
        if change.kind == "removed":
            assert old is not None
            lines.append(f"event {old.event_id}: only in expected")
            lines.append(f"  - {old.kind}  {describe_event(old)}".rstrip())
        elif change.kind == "inserted":
            assert new is not None
            lines.append(f"event {new.event_id}: only in actual")
            lines.append(f"  + {new.kind}  {describe_event(new)}".rstrip())
        else:
            assert old is not None and new is not None
            where = f"event {old.event_id}"
            if new.event_id != old.event_id:
                where += f" (event {new.event_id} in actual)"
            lines.append(f"{where}:")
            lines.append(f"  {old.kind}")
            for key, before, after in change.fields:
                lines.append(f"    {key}: {_short(before)} -> {_short(after)}")
    return lines


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
