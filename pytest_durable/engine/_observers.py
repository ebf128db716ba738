"""What the engine tells its observers: events appended, activity attempts, runs closed.

Observers subscribe with :meth:`Engine.observe` (to every kind of notice, or to the kinds they
name); each is called, on the engine's loop and in the order things happen, with one
:data:`Notice` at a time:

- :class:`EventsAppended` once the store accepted events (so a notice never describes events a
  reader of the store could not see), in the order they were appended;
- :class:`AttemptStarted` when a worker picks up an activity attempt, and
  :class:`AttemptFinished` when the server learns how it ended (attempts that are retried leave
  no event in history, only these notices);
- :class:`RunClosed` when a run's closing event is recorded.

Timers scheduled and fired, signals and the rest are events: watch ``EventsAppended`` for
``TimerStarted``/``TimerFired``. Notices are frozen; an observer must not call back into the
engine while it is being notified, and an exception it raises propagates to the engine's caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

from ..errors import TimeoutType
from ._events import Event
from ._store import RunKey


class AttemptOutcome(StrEnum):
    """How an activity attempt ended, as the server saw it."""

    COMPLETED = "completed"
    """The activity returned; its result is recorded."""
    FAILED = "failed"
    """The activity raised (it may still be retried)."""
    TIMED_OUT = "timed_out"
    """A start-to-close, heartbeat, schedule-to-start or schedule-to-close timeout fired."""
    CANCELLED = "cancelled"
    """The workflow cancelled the activity, or its run closed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventsAppended:
    """Events the store accepted for one run, numbered, in order."""

    run: RunKey
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptStarted:
    """A worker picked up an attempt of the activity scheduled at ``scheduled_event_id``."""

    run: RunKey
    scheduled_event_id: int
    activity_type: str
    activity_id: str
    attempt: int
    started_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFinished:
    """The server ended an attempt: it learnt the outcome, a timeout fired, or it cancelled it.

    History keeps only the attempt that decided an activity's outcome; observers see them all.
    """

    run: RunKey
    scheduled_event_id: int
    activity_type: str
    activity_id: str
    attempt: int
    started_ns: int | None
    """When a worker started it; None if it never started (it timed out or was cancelled
    while queued)."""
    ended_ns: int
    outcome: AttemptOutcome
    error: BaseException | None = None
    """What the attempt raised, or the timeout; None when it completed or was cancelled."""
    timeout_type: TimeoutType | None = None
    will_retry: bool = False
    """Whether the server scheduled another attempt after this one."""
    result: Any = None
    """What the activity returned (encoded, a JSON value) when it completed; else None."""

    @property
    def workflow_id(self) -> str:
        return self.run[0]

    @property
    def run_id(self) -> str:
        return self.run[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunClosed:
    """A run recorded its closing event; ``status`` is ``History.status``'s word for it."""

    run: RunKey
    status: str


#: The fields of an :class:`AttemptFinished`, in this order, as :class:`AttemptLog` keeps them.
AttemptFields = tuple[
    RunKey,
    int,
    str,
    str,
    int,
    int | None,
    int,
    AttemptOutcome,
    BaseException | None,
    TimeoutType | None,
    bool,
    Any,
]


def attempt_finished(fields: AttemptFields) -> AttemptFinished:
    """The notice for an ended attempt's fields (see :data:`AttemptFields`)."""
    (run, scheduled, activity_type, activity_id, attempt, started, ended, outcome, error,
     timeout, retry, result) = fields
    return AttemptFinished(
        run=run,
        scheduled_event_id=scheduled,
        activity_type=activity_type,
        activity_id=activity_id,
        attempt=attempt,
        started_ns=started,
        ended_ns=ended,
        outcome=outcome,
        error=error,
        timeout_type=timeout,
        will_retry=retry,
        result=result,
    )


class AttemptLog:
    """Every attempt that ended, in order, with each notice built only when first read.

    The test environment keeps every attempt (``env.attempts``) and a test seldom reads them:
    building a frozen notice per activity attempt cost more than the rest of recording it.
    """

    __slots__ = ("_notices", "pending")

    def __init__(self) -> None:
        self._notices: list[AttemptFinished] = []
        #: Ended since the last read, in order: their fields, or the notice when one was built
        #: for an observer (:meth:`Observers.attempt_ended` appends here).
        self.pending: list[AttemptFields | AttemptFinished] = []

    def notices(self) -> list[AttemptFinished]:
        """The notices so far, oldest first (the same list each time, grown as attempts end)."""
        pending = self.pending
        if pending:
            self._notices.extend(
                entry if isinstance(entry, AttemptFinished) else attempt_finished(entry)
                for entry in pending
            )
            pending.clear()
        return self._notices


Notice = EventsAppended | AttemptStarted | AttemptFinished | RunClosed
"""Everything an observer can be told."""

Observer = Callable[[Notice], None]
"""A callable that receives each :data:`Notice`."""


_LISTS: dict[type[Notice], str] = {
    EventsAppended: "appended",
    AttemptStarted: "attempt_started",
    AttemptFinished: "attempt_finished",
    RunClosed: "run_closed",
}
"""Each kind of notice's list of subscribers in :class:`Observers`."""


class Observers:
    """The engine's subscribers, by the kind of notice they want.

    A notice nobody wants is never built: the engine tests the kind's list (``appended``,
    ``attempt_started``, ``attempt_finished``, ``run_closed``) before making one, so an unobserved
    kind costs one attribute test on the hot path.
    """

    __slots__ = ("appended", "attempt_finished", "attempt_log", "attempt_started", "run_closed")

    def __init__(self) -> None:
        self.appended: list[Observer] = []
        self.attempt_started: list[Observer] = []
        self.attempt_finished: list[Observer] = []
        self.run_closed: list[Observer] = []
        #: Where every ended attempt is kept, if anyone keeps them (see :class:`AttemptLog`).
        self.attempt_log: AttemptLog | None = None

    def attempt_ended(self, fields: AttemptFields) -> None:
        """Tell the ``AttemptFinished`` observers and the log that an attempt ended.

        The server calls it only when :attr:`attempt_finished` or :attr:`attempt_log` is set.
        """
        log = self.attempt_log
        if self.attempt_finished:
            notice = attempt_finished(fields)
            if log is not None:
                log.pending.append(notice)
            self.notify(notice)
        elif log is not None:
            log.pending.append(fields)

    def _lists(self, kinds: tuple[type[Notice], ...]) -> list[list[Observer]]:
        try:
            return [getattr(self, _LISTS[kind]) for kind in kinds or _LISTS]
        except KeyError:
            unknown = next(kind for kind in kinds if kind not in _LISTS)
            raise TypeError(f"not a notice kind: {unknown!r}; kinds: {list(_LISTS)}") from None

    def subscribe(
        self, observer: Observer, kinds: tuple[type[Notice], ...] = ()
    ) -> Callable[[], None]:
        """Add ``observer`` for ``kinds`` (every kind when empty); returns its unsubscribe."""
        lists = self._lists(kinds)
        for subscribers in lists:
            subscribers.append(observer)

        def unsubscribe() -> None:
            for subscribers in lists:
                if observer in subscribers:
                    subscribers.remove(observer)

        return unsubscribe

    def notify(self, notice: Notice) -> None:
        """Tell the observers of ``notice``'s kind, in subscription order."""
        match notice:
            case EventsAppended():
                subscribers = self.appended
            case AttemptStarted():
                subscribers = self.attempt_started
            case AttemptFinished():
                subscribers = self.attempt_finished
            case RunClosed():
                subscribers = self.run_closed
            case _:
                assert_never(notice)
        for observer in tuple(subscribers):
            observer(notice)
