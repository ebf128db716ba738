"""Stores: where histories live, behind one small interface with compare-and-set appends."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..errors import ConcurrentAppendError
from ._events import Event

RunKey = tuple[str, str]
"""(workflow id, run id)"""


class Store(ABC):
    """Append-only histories keyed by run; appends are compare-and-set on the history length."""

    @abstractmethod
    def append(self, key: RunKey, events: Sequence[Event], *, expected_length: int) -> None:
        """Append ``events`` if the history has exactly ``expected_length`` events.

        Raises:
            ConcurrentAppendError: someone else appended first; re-read and retry.
        """

    @abstractmethod
    def read(self, key: RunKey) -> list[Event]:
        """All events of a run (a copy); an unknown run reads as empty."""

    @abstractmethod
    def runs(self) -> list[RunKey]:
        """Every run the store holds, in creation order."""

    # What a server keeps beside history: state that history does not hold but a restart needs
    # (an activity's current attempt, its last heartbeat details, a retry's due time). Values
    # are JSON-like; a store that keeps nothing here makes a restart start those afresh.

    def save_progress(self, key: RunKey, name: str, value: Any) -> None:
        """Keep ``value`` under ``name`` beside the run's history; None forgets it."""
        progress = self.__dict__.setdefault("_progress", {})
        entries = progress.setdefault(key, {})
        if value is None:
            entries.pop(name, None)
        else:
            entries[name] = value

    def read_progress(self, key: RunKey) -> dict[str, Any]:
        """Everything kept beside the run's history (a copy); empty when nothing is."""
        return dict(self.__dict__.get("_progress", {}).get(key, {}))


class InMemoryStore(Store):
    """The default store: dicts and lists in this process, safe to share between threads."""

    def __init__(self) -> None:
        self._histories: dict[RunKey, list[Event]] = {}
        self._lock = threading.Lock()

    def append(self, key: RunKey, events: Sequence[Event], *, expected_length: int) -> None:
        with self._lock:
            history = self._histories.get(key)
            if history is None:
                history = self._histories[key] = []
            if len(history) != expected_length:
                raise ConcurrentAppendError(
                    f"history of run {key[1]!r} (workflow {key[0]!r}) has {len(history)} "
                    f"events, expected {expected_length}: another worker appended first"
                )
            history.extend(events)

    def read(self, key: RunKey) -> list[Event]:
        with self._lock:
            return list(self._histories.get(key, ()))

    def runs(self) -> list[RunKey]:
        with self._lock:
            return list(self._histories)

    def save_progress(self, key: RunKey, name: str, value: Any) -> None:
        with self._lock:
            super().save_progress(key, name, value)

    def read_progress(self, key: RunKey) -> dict[str, Any]:
        with self._lock:
            return super().read_progress(key)
