"""The in-process, event-sourced workflow engine: history, instances, replay, clocks, stores."""

from __future__ import annotations

from . import _events as events
from ._clock import Clock, LoopIdle, RealClock, TimerHandle, VirtualClock, VirtualTimeLoop
from ._diff import RUN_IDENTITY_KEYS, EventChange, align_histories, diff_histories
from ._engine import Engine
from ._history import History
from ._observers import (
    AttemptFinished,
    AttemptOutcome,
    AttemptStarted,
    EventsAppended,
    Notice,
    Observer,
    RunClosed,
)
from ._replay import ReplayDivergenceWarning
from ._replayer import Replayer, ReplayResult
from ._runs import Execution
from ._store import InMemoryStore, RunKey, Store
from ._timefmt import format_duration, format_time, parse_duration, parse_time

__all__ = [
    "AttemptFinished",
    "AttemptOutcome",
    "AttemptStarted",
    "RUN_IDENTITY_KEYS",
    "Clock",
    "Engine",
    "EventsAppended",
    "EventChange",
    "Execution",
    "History",
    "InMemoryStore",
    "LoopIdle",
    "Notice",
    "Observer",
    "RealClock",
    "ReplayDivergenceWarning",
    "ReplayResult",
    "Replayer",
    "RunClosed",
    "RunKey",
    "Store",
    "TimerHandle",
    "VirtualClock",
    "VirtualTimeLoop",
    "align_histories",
    "diff_histories",
    "events",
    "format_duration",
    "format_time",
    "parse_duration",
    "parse_time",
]
