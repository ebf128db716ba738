"""The History: an append-only list of events, and its stable, versioned JSON document."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from ..common import WorkflowStatus
from ..errors import HistoryFormatError
from ._events import EVENT_TYPES, STATUS_BY_CLOSING_EVENT, Event, WorkflowExecutionStarted

# Re-exported: the formatters are the history document's, and modules import them from here.
from ._timefmt import format_duration as format_duration
from ._timefmt import format_time as format_time
from ._timefmt import parse_duration as parse_duration
from ._timefmt import parse_time as parse_time

FORMAT = "pytest-durable-history"
VERSION = 1


# Per event class: (field name, JSON key, codec, annotation) for every field after
# event_id/time_ns. Annotations are strings (postponed evaluation); _JSON_TYPES checks them.
_FieldSpec = tuple[str, str, str | None, str]
_FIELD_SPECS: dict[type[Event], tuple[_FieldSpec, ...]] = {}

_JSON_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "str": ("str", lambda v: isinstance(v, str)),
    "list[Any]": ("list", lambda v: isinstance(v, list)),
    "dict[str, Any]": ("object", lambda v: isinstance(v, dict)),
}


def _specs(cls: type[Event]) -> tuple[_FieldSpec, ...]:
    spec = _FIELD_SPECS.get(cls)
    if spec is None:
        out = []
        for f in dataclasses.fields(cls):
            if f.name in ("event_id", "time_ns"):
                continue
            codec = f.metadata.get("codec")
            key = f.name[:-3] if codec == "duration" and f.name.endswith("_ns") else f.name
            out.append((f.name, key, codec, str(f.type)))
        spec = tuple(out)
        _FIELD_SPECS[cls] = spec
    return spec


def _check_type(key: str, value: Any, annotation: str) -> None:
    """Reject a value of the wrong JSON type, so a corrupt file fails here, not in replay."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    if value is None and optional:
        return
    expected = _JSON_TYPES.get(base)
    if expected is None:  # Any
        return
    name, check = expected
    if not check(value):
        raise TypeError(
            f"{key!r} must be {name}{' or null' if optional else ''}, got {value!r}"
        )


def event_to_json(event: Event) -> dict[str, Any]:
    """One event as a JSON object: ``id``, ``time``, ``type``, then its attributes."""
    data: dict[str, Any] = {
        "id": event.event_id,
        "time": format_time(event.time_ns),
        "type": type(event).__name__,
    }
    for name, key, codec, _ in _specs(type(event)):
        value = getattr(event, name)
        if codec == "duration" and value is not None:
            value = format_duration(value)
        elif codec == "omit_none" and value is None:
            continue  # a field added later: documents that do not use it stay as they were
        data[key] = value
    return data


def event_from_json(data: Any, *, where: str) -> Event:
    """Build an event from its JSON object; errors name ``where`` (path and event index)."""
    if not isinstance(data, dict):
        raise HistoryFormatError(f"{where}: expected an event object, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise HistoryFormatError(
            f"{where}: unknown event type {kind!r}; known types: {', '.join(sorted(EVENT_TYPES))}"
        )
    try:
        kwargs: dict[str, Any] = {
            "event_id": _int(data["id"], "id"),
            "time_ns": parse_time(data["time"]),
        }
        for name, key, codec, annotation in _specs(cls):
            if key not in data:
                continue
            value = data[key]
            if codec == "duration" and value is not None:
                value = parse_duration(value)
            _check_type(key, value, annotation)
            kwargs[name] = value
        return cls(**kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise HistoryFormatError(f"{where} ({kind}): {exc}") from exc


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name!r} must be an integer, got {value!r}")
    return value


class History(Sequence[Event]):
    """The events of one workflow run, in order; the golden-file format and the replay input.

    A History is a read-only view: the engine appends through its store, and tests receive a
    snapshot.
    """

    __slots__ = ("_events",)

    def __init__(self, events: Sequence[Event]) -> None:
        if not events or not isinstance(events[0], WorkflowExecutionStarted):
            raise HistoryFormatError(
                "a history must begin with a WorkflowExecutionStarted event"
            )
        self._events = list(events)

    # --- sequence protocol -------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return self._events[index]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self._events == other._events

    def __hash__(self) -> int:
        # Events hold lists and dicts, so hash what identifies the run; equal histories agree.
        return hash((self.workflow_id, self.run_id, len(self._events)))

    def __repr__(self) -> str:
        return (
            f"<History {self.workflow_type} id={self.workflow_id!r} "
            f"run_id={self.run_id!r} events={len(self)}>"
        )

    # --- facts ---------------------------------------------------------------------------------

    @property
    def started(self) -> WorkflowExecutionStarted:
        """The first event."""
        first = self._events[0]
        assert isinstance(first, WorkflowExecutionStarted)
        return first

    @property
    def workflow_id(self) -> str:
        """The workflow id of the run."""
        return self.started.workflow_id

    @property
    def run_id(self) -> str:
        """The run id."""
        return self.started.run_id

    @property
    def workflow_type(self) -> str:
        """The workflow type (name) of the run."""
        return self.started.workflow_type

    @property
    def status(self) -> WorkflowStatus:
        """``completed``, ``failed``, ``cancelled``, ``continued_as_new``, or ``running``."""
        return STATUS_BY_CLOSING_EVENT.get(type(self._events[-1]), WorkflowStatus.RUNNING)

    @property
    def events(self) -> list[Event]:
        """A copy of the events."""
        return list(self._events)

    def of_kind(self, *kinds: type[Event] | str) -> list[Event]:
        """The events of the given kinds (classes or names), in order."""
        names = {k if isinstance(k, str) else k.__name__ for k in kinds}
        return [e for e in self._events if type(e).__name__ in names]

    # --- JSON ------------------------------------------------------------------------------------

    def to_json_dict(self) -> dict[str, Any]:
        """The history document as a JSON-ready dict."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "workflow_type": self.workflow_type,
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "events": [event_to_json(e) for e in self._events],
        }

    def to_json(self) -> str:
        """The canonical document: stable key order, one event per line, a final newline."""
        doc = self.to_json_dict()
        events = doc.pop("events")
        lines = ["{"]
        for key, value in doc.items():
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
        lines.append('  "events": [')
        rendered = [
            "    " + json.dumps(e, ensure_ascii=False, separators=(", ", ": ")) for e in events
        ]
        lines.append(",\n".join(rendered))
        lines.append("  ]")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes | dict[str, Any], *, source: str = "<history>") -> History:
        """Parse a history document; errors say where (``source``, event index) and what."""
        if isinstance(text, dict):
            doc: Any = text
        else:
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise HistoryFormatError(
                    f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
                ) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise HistoryFormatError(
                f"{source}: not a pytest-durable history (expected \"format\": \"{FORMAT}\")"
            )
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise HistoryFormatError(f"{source}: \"version\" must be an integer, got {version!r}")
        if version > VERSION:
            raise HistoryFormatError(
                f"{source}: history format version {version} is newer than this pytest-durable "
                f"understands (up to {VERSION}); upgrade pytest-durable to read it"
            )
        raw_events = doc.get("events")
        if not isinstance(raw_events, list) or not raw_events:
            raise HistoryFormatError(f"{source}: \"events\" must be a non-empty list")
        events = [
            event_from_json(e, where=f"{source}: events[{i}]") for i, e in enumerate(raw_events)
        ]
        for i, event in enumerate(events, start=1):
            if event.event_id != i:
                raise HistoryFormatError(
                    f"{source}: events[{i - 1}] has id {event.event_id}, expected {i} "
                    "(event ids are consecutive from 1)"
                )
        history = cls(events)
        for key in ("workflow_type", "workflow_id", "run_id"):
            if key in doc and doc[key] != getattr(history, key):
                raise HistoryFormatError(
                    f"{source}: header {key} {doc[key]!r} does not match the first event's "
                    f"{getattr(history, key)!r}; the file was edited inconsistently"
                )
        return history

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the canonical document to ``path`` (parents are created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read a history document from ``path``."""
        source = os.fspath(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise HistoryFormatError(f"{source}: cannot read history file: {exc}") from exc
        return cls.from_json(text, source=source)

    # --- reading -------------------------------------------------------------------------------

    def timeline(self) -> str:
        """A readable, one-line-per-event rendering: id, virtual time, event, key attributes."""
        from ._timeline import render_timeline

        return render_timeline(self._events)
