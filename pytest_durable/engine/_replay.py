"""Drive a workflow instance over recorded history, checking every command against its event."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import HistoryFormatError, NondeterminismError, WorkflowDeadlockError
from . import _events as ev
from ._commands import (
    LOCAL_ACTIVITY_MARKER,
    PATCH_MARKER,
    FailWorkflow,
    RecordMarker,
    WorkflowCommand,
)
from ._instance import WorkflowInstance
from ._local import marker_seq
from ._updates import UpdateRequest


class ReplayDivergenceWarning(UserWarning):
    """Replay matched by kind and order, but an argument or duration differs from history.

    Temporal lets such changes pass; they are often benign (a longer sleep), sometimes not (a
    different amount charged). ``Replayer(strict=True)`` makes them errors.
    """


@dataclass(frozen=True, slots=True)
class Divergence:
    """A benign-looking difference found during replay."""

    event_id: int
    message: str


PATCH_HINT = (
    "if this change is intended, runs recorded before it must keep the old path: guard it "
    "with `if workflow.patched(\"<change-id>\"): <new code> else: <old code>` "
    "(docs/model.md, Versioning with patched())"
)


def _mismatch(
    message: str,
    *,
    event: ev.Event | None,
    command: WorkflowCommand | None,
    event_id: int | None,
    hint: str | None = PATCH_HINT,
) -> NondeterminismError:
    expected = event.describe() if event is not None else "nothing"
    actual = command.describe() if command is not None else "nothing"
    location = command.where() if command is not None else None
    text = (
        f"nondeterminism at event {event_id}: {message}\n"
        f"  history holds: {expected}\n"
        f"  code did now:  {actual}"
    )
    if location:
        text += f"\n  at:            {location}"
    if hint:
        text += f"\n  fix:           {hint}"
    return NondeterminismError(
        text, event_id=event_id, expected=expected, actual=actual, location=location
    )


def _compare(
    command: WorkflowCommand, event: ev.Event, divergences: list[Divergence], strict: bool
) -> None:
    """Raise on a change Temporal would catch; note (or, if strict, raise) one it lets pass."""
    difference = command.compare(event)
    if difference is None:
        return
    eid = event.event_id
    if difference.breaking or strict:
        raise _mismatch(difference.message, event=event, command=command, event_id=eid)
    divergences.append(Divergence(eid, difference.message))
    warnings.warn(
        f"replay diverges at event {eid}: {difference.message}"
        + (f" (at {command.where()})" if command.where() else ""),
        ReplayDivergenceWarning,
        stacklevel=2,
    )


def match_commands(
    instance: WorkflowInstance,
    commands: Sequence[WorkflowCommand],
    recorded: Sequence[ev.Event],
    *,
    strict: bool,
    divergences: list[Divergence],
    next_event_id: int,
) -> None:
    """Check commands against the command events one workflow task recorded, and bind them.

    A deprecated patch marker (``workflow.deprecate_patch``) that no command claims is skipped,
    as Temporal does: code from which the patch was finally removed replays such histories.
    """
    position = 0
    for command in commands:
        # Only a marker can be skipped: the test by type spares a call per command.
        while (
            position < len(recorded)
            and type(recorded[position]) is ev.MarkerRecorded
            and _skippable(recorded[position], command)
        ):
            position += 1
        if position >= len(recorded):
            raise _mismatch(
                "the code issued a command that history does not have",
                event=None,
                command=command,
                event_id=next_event_id,
            )
        event = recorded[position]
        position += 1
        if isinstance(command, FailWorkflow) and command.is_bug and not isinstance(
            event, ev.WorkflowExecutionFailed
        ):
            if isinstance(command.exception, WorkflowDeadlockError):
                raise command.exception  # a hang, not a divergence
            raise _mismatch(
                f"{event.kind} was recorded, but the code raised "
                f"{type(command.exception).__name__}: {command.exception}",
                event=event,
                command=command,
                event_id=event.event_id,
                hint=None,
            ) from command.exception
        if type(event) is not command.event_type:
            patch_id = _patch_id(event)
            if patch_id is not None:
                raise _removed_patch(patch_id, event, command)
            raise _mismatch(
                f"{event.kind} was recorded, but the code issued {command.describe()}",
                event=event,
                command=command,
                event_id=event.event_id,
            )
        _compare(command, event, divergences, strict)
        instance.bind(command, event.event_id)
    while position < len(recorded) and _skippable(recorded[position], None):
        position += 1
    if position < len(recorded):
        missing = recorded[position]
        patch_id = _patch_id(missing)
        if patch_id is not None:
            raise _removed_patch(patch_id, missing, None)
        raise _mismatch(
            "history has a command the code no longer issues",
            event=missing,
            command=None,
            event_id=missing.event_id,
        )


_NO_PATCHES: frozenset[str] = frozenset()


def _markers_and_updates(
    recorded: Sequence[ev.Event],
) -> tuple[frozenset[str], list[UpdateRequest]]:
    """A task's recorded patch ids, and its accepted updates to deliver again.

    Accepted updates are re-delivered (without their validators) in the task that accepted
    them, so their handlers run again. One pass by exact type: most tasks have neither.
    """
    patches: set[str] | None = None  # made for the task that has one
    updates: list[UpdateRequest] = []
    for e in recorded:
        kind = type(e)
        if kind is ev.MarkerRecorded:
            patch_id = _patch_id(e)
            if patch_id is not None:
                if patches is None:
                    patches = set()
                patches.add(patch_id)
        elif kind is ev.WorkflowExecutionUpdateAccepted:
            assert isinstance(e, ev.WorkflowExecutionUpdateAccepted)
            updates.append(UpdateRequest(e.update_id, e.update_name, e.input, run_validator=False))
    return (frozenset(patches) if patches else _NO_PATCHES), updates


def _patch_id(event: ev.Event) -> str | None:
    """The patch id of a ``patch`` marker event, else None."""
    if isinstance(event, ev.MarkerRecorded) and event.marker_name == PATCH_MARKER:
        return str(event.details.get("patch_id"))
    return None


def _skippable(event: ev.Event, command: WorkflowCommand | None) -> bool:
    """Whether ``event`` is a deprecated patch marker that ``command`` does not claim."""
    if not (isinstance(event, ev.MarkerRecorded) and event.details.get("deprecated") is True):
        return False
    return not (
        isinstance(command, RecordMarker)
        and command.name == PATCH_MARKER
        and command.details.get("patch_id") == event.details.get("patch_id")
    )


def _removed_patch(
    patch_id: str, event: ev.Event, command: WorkflowCommand | None
) -> NondeterminismError:
    return _mismatch(
        f"history has the patch marker {patch_id!r} (recorded by workflow.patched("
        f"{patch_id!r})), but the code no longer calls workflow.patched({patch_id!r}) here",
        event=event,
        command=command,
        event_id=event.event_id,
        hint=(
            f"a patch is removed in two deployments: first replace the patched({patch_id!r}) "
            f"branch with a call to workflow.deprecate_patch({patch_id!r}) followed by the new "
            "code only; remove that call once no run recorded before the deprecation can still "
            "be replayed (docs/model.md, Versioning with patched())"
        ),
    )


def _resolve_local_activities(
    instance: WorkflowInstance, recorded: Sequence[ev.Event], patches: frozenset[str]
) -> list[WorkflowCommand]:
    """Resolve local activities from this task's markers, in the order they were recorded.

    Live, each resolution let the code run on before the next; replay does the same, at each
    activity's recorded completion time, so the code issues the same commands in between.
    """
    commands: list[WorkflowCommand] = []
    for event in recorded:
        # Live, the engine ran every activity scheduled so far before this one resolved (a
        # cancel from here on stops a running activity, and is recorded).
        for command in instance.local_pending.values():
            command.started = True
        if not isinstance(event, ev.MarkerRecorded):
            continue
        seq = marker_seq(event.details) if event.marker_name == LOCAL_ACTIVITY_MARKER else None
        if seq is None or seq not in instance.local_pending:
            continue  # matched (and reported) with the other commands
        instance.resolve_local_activity(seq, event.details)
        now = event.details["data"].get("complete_time_ns", event.time_ns)
        commands += instance.activate([], now, replaying=True, recorded_patches=patches)
    return commands


def replay_into(
    instance: WorkflowInstance,
    events: Sequence[ev.Event],
    *,
    strict: bool = False,
    divergences: list[Divergence] | None = None,
) -> int:
    """Run ``instance`` over every recorded workflow task of ``events``.

    Returns the index of the first event no workflow task has processed yet (the input of the
    next, live task).
    """
    found = divergences if divergences is not None else []
    n = len(events)
    index = 0
    pending_start = 0
    inputs: list[ev.Event] = []
    while index < n:
        event = events[index]
        if type(event) is ev.WorkflowTaskCompleted:
            end = index + 1
            while end < n and events[end].is_command:
                end += 1
            recorded = events[index + 1 : end]
            patches, updates = _markers_and_updates(recorded)
            if updates:
                commands = instance.activate(
                    inputs,
                    event.time_ns,
                    replaying=True,
                    recorded_patches=patches,
                    updates=updates,
                )
            else:  # the plain call: another front-end's instances take no updates
                commands = instance.activate(
                    inputs, event.time_ns, replaying=True, recorded_patches=patches
                )
            if instance.local_pending:
                commands += _resolve_local_activities(instance, recorded, patches)
            match_commands(
                instance,
                commands,
                recorded,
                strict=strict,
                divergences=found,
                next_event_id=end + 1,
            )
            inputs = []
            index = end
            pending_start = end
        elif event.is_command:
            raise HistoryFormatError(
                f"event {event.event_id} ({event.kind}) is a command event but does not follow "
                "a WorkflowTaskCompleted"
            )
        else:
            inputs.append(event)
            index += 1
    return pending_start
