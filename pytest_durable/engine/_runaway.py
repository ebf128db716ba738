"""Runaway workflows: the report for a run that outgrew the test's bounds.

A workflow that never finishes (a poll loop whose mock always answers "pending") would run
through years of virtual time and grow its history without end. The environment bounds every
drive by virtual time and every history by its number of events, and reports a run that hits a
bound with what a reader needs to find the loop: the workflow, how far it got, where its code
waits now, and its last events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._history import format_time
from ._timeline import render_timeline

if TYPE_CHECKING:
    from ._runs import _Run

#: How many of a run's last events a runaway report shows.
TAIL_EVENTS = 20


def describe_duration(ns: int) -> str:
    """A duration for messages: ``3y 12d``, ``1h 30m``, ``2.5s``, ``250ms``."""
    if ns < 1_000_000_000:
        return f"{ns / 1e6:g}ms"
    seconds = ns / 1e9
    parts = []
    for unit, size in (("y", 365 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            count = int(seconds // size)
            parts.append(f"{count}{unit}")
            seconds -= count * size
    if seconds >= 0.0005 or not parts:
        parts.append(f"{round(seconds, 3):g}s")
    return " ".join(parts)


def where_it_waits(run: _Run) -> str:
    """Where the run's code is suspended (``file:line in fn``), the loop a reader looks for."""
    instance = run.instance
    if instance is None:
        return "an unknown place (its instance is not cached)"
    places = list(dict.fromkeys(instance.waiting_at()))
    return ", ".join(places) if places else "an unknown place"


def runaway_report(run: _Run, now_ns: int) -> str:
    """How far ``run`` got and where it is, with its last events, for a bound's error."""
    events = run.events
    started = events[0].time_ns
    tail = events[-TAIL_EVENTS:]
    return (
        f"It started at {format_time(started)} and is still running at {format_time(now_ns)} "
        f"({describe_duration(now_ns - started)} of virtual time later) with {len(events):,} "
        f"events in its history, waiting at {where_it_waits(run)}. A workflow that never "
        "finishes is usually a loop whose exit a mock never satisfies (a poll that always "
        "answers 'pending') or a signal the test never sends.\n"
        f"Its last {len(tail)} events:\n" + render_timeline(tail)
    )
