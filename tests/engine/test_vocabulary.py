"""The typed vocabulary: commands and events are closed unions, and every dispatch is exhaustive.

The type-checker tests copy the package, add a new kind to it, and run mypy on the copy: a kind
that some place does not handle yet must be an error there, not a silent ``case _: pass``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import pytest_durable
from pytest_durable.engine import _commands as cmd
from pytest_durable.engine import _events as ev


def _all_subclasses(cls: type) -> set[type]:
    """Every live subclass (``dataclass(slots=True)`` leaves the slot-less original behind)."""
    found = set()
    for sub in cls.__subclasses__():
        if "__slots__" in sub.__dict__ or sub.__dict__.get("__dataclass_fields__") is None:
            found.add(sub)
        found |= _all_subclasses(sub)
    return found


def test_every_event_class_is_in_the_closed_union_and_the_json_codec() -> None:
    members = set(get_args(ev.HistoryEvent))
    assert members == _all_subclasses(ev.Event)
    assert set(ev.EVENT_TYPES.values()) == members
    assert all(name == cls.__name__ for name, cls in ev.EVENT_TYPES.items())


def test_every_command_class_is_in_the_closed_union_and_becomes_a_command_event() -> None:
    members = set(get_args(cmd.WorkflowCommand))
    assert members == _all_subclasses(cmd.Command)
    for kind in members:
        assert kind.event_type.is_command, kind
    # Markers are Temporal's one event for several kinds (patches, local activities); every
    # other kind has an event of its own.
    event_types = [kind.event_type for kind in members if kind.event_type is not ev.MarkerRecorded]
    assert len(set(event_types)) == len(event_types), "two kinds become the same event"
    markers = {kind for kind in members if kind.event_type is ev.MarkerRecorded}
    assert markers == {cmd.RecordMarker, cmd.RecordLocalActivityMarker}


def test_closing_commands_are_the_ones_that_close_the_run() -> None:
    closing = {kind for kind in get_args(cmd.WorkflowCommand) if kind.closes_run}
    assert closing == set(get_args(cmd.ClosingCommand))
    by_commands = {kind.event_type for kind in closing}
    assert by_commands | set(ev.SERVER_CLOSING_EVENTS) == set(ev.CLOSING_EVENTS)
    assert not by_commands & set(ev.SERVER_CLOSING_EVENTS)
    assert set(ev.STATUS_BY_CLOSING_EVENT) == set(ev.CLOSING_EVENTS)


def test_a_kind_describes_itself_and_its_event() -> None:
    timer = cmd.StartTimer(seq=1, duration_ns=1_500_000_000)
    event = timer.to_event(5, 7, lambda: "unused")
    assert event == ev.TimerStarted(event_id=5, time_ns=7, timer_id="1", duration_ns=1_500_000_000)
    assert timer.describe() == "StartTimer(duration=1.5s)"
    assert event.describe() == "TimerStarted(duration=1.5s)"
    assert timer.compare(event) is None
    longer = cmd.StartTimer(seq=1, duration_ns=2_000_000_000)
    difference = longer.compare(event)
    assert difference == cmd.Difference("timer lasts 2s, history has 1.5s", breaking=False)


def test_continue_as_new_mints_its_next_run_id_when_it_becomes_an_event() -> None:
    command = cmd.ContinueAsNew(workflow_type="Loop", args=[2])
    event = command.to_event(9, 0, lambda: "next-run")
    assert isinstance(event, ev.WorkflowExecutionContinuedAsNew)
    assert (event.new_run_id, event.workflow_type, event.input) == ("next-run", "Loop", [2])


_NEW_COMMAND = '''

@dataclass(slots=True, kw_only=True)
class ProbeCommand(Command):
    """A kind nobody handles yet."""

    event_type = ev.MarkerRecorded

    def to_event(self, event_id: int, now_ns: int, new_run_id: NewRunId) -> ev.Event:
        return ev.MarkerRecorded(event_id=event_id, time_ns=now_ns, marker_name="p", details={})

    def describe(self) -> str:
        return "ProbeCommand"

    def compare(self, event: ev.Event) -> Difference | None:
        return None


@dataclass(slots=True, kw_only=True)
class HalfDoneCommand(Command):
    """A kind that forgot most of its behaviour."""

    event_type = ev.MarkerRecorded

    def describe(self) -> str:
        return "HalfDoneCommand"


def make_half_done() -> Command:
    return HalfDoneCommand()


WorkflowCommand: TypeAlias = (
    ProbeCommand
    |'''

_NEW_EVENT = '''

@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeEvent(Event):
    """A kind nobody handles yet."""


HistoryEvent: TypeAlias = (
    ProbeEvent
    |'''


def _add_kinds(package: Path) -> None:
    commands = package / "engine" / "_commands.py"
    text = commands.read_text()
    head, union, tail = text.partition("\nWorkflowCommand: TypeAlias = (")
    assert union, "the command union moved: update this test"
    commands.write_text(head + _NEW_COMMAND + tail)
    events = package / "engine" / "_events.py"
    text = events.read_text()
    head, union, tail = text.partition("\nHistoryEvent: TypeAlias = (")
    assert union, "the event union moved: update this test"
    events.write_text(head + _NEW_EVENT + tail)


def test_a_new_kind_is_a_type_error_wherever_it_is_not_handled(tmp_path: Path) -> None:
    source = Path(pytest_durable.__file__).parent
    package = tmp_path / "pytest_durable"
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    _add_kinds(package)
    # In a subprocess: mypy retunes the garbage collector of the process it runs in.
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version=3.11",
            "--no-error-summary",
            "--hide-error-context",
            f"--cache-dir={tmp_path / '.mypy_cache'}",
            "--config-file=",
            "--ignore-missing-imports",
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    stdout = completed.stdout
    assert completed.returncode == 1, stdout + completed.stderr
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    by_file: dict[str, list[str]] = {}
    for line in errors:
        by_file.setdefault(Path(line.split(":", 1)[0]).name, []).append(line)
    # Each dispatch over commands or events names the kind it does not handle yet.
    assert any('"ProbeCommand"' in e and "assert_never" in e for e in by_file["_engine.py"])
    assert any('"ProbeEvent"' in e and "assert_never" in e for e in by_file["_apply.py"])
    # A kind missing part of its behaviour cannot even be made.
    assert any(
        'Cannot instantiate abstract class "HalfDoneCommand"' in e
        and "compare" in e
        and "to_event" in e
        for e in by_file["_commands.py"]
    )
    # Nothing else broke: every error is one of those.
    unexpected = [
        e
        for e in errors
        if "ProbeCommand" not in e and "ProbeEvent" not in e and "HalfDoneCommand" not in e
    ]
    assert unexpected == []


@pytest.mark.parametrize("kind", sorted(get_args(cmd.WorkflowCommand), key=lambda k: k.__name__))
def test_every_command_kind_describes_itself(kind: type[cmd.Command]) -> None:
    assert kind.describe is not cmd.Command.describe
    assert kind.compare is not cmd.Command.compare
    assert kind.to_event is not cmd.Command.to_event
