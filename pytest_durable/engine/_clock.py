"""Clocks: where the host side (worker, activities, timeouts, backoff) gets its time from.

Time is injected, never read: the engine asks its :class:`Clock` for the time and for timers.
:class:`RealClock` is wall time on an ordinary asyncio loop. :class:`VirtualClock` keeps time in
integer nanoseconds and drives a :class:`VirtualTimeLoop` that jumps to the next due moment
whenever nothing can run, while real work in flight (a thread running a sync activity, a socket
being awaited) holds the jump and lets time flow 1:1 with real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import selectors
import socket
import time
import types
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple

from ..errors import InvalidArgumentError

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class TimerHandle(ABC):
    """A scheduled clock callback that can be cancelled."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the callback from running (no effect once it ran)."""


class Clock(ABC):
    """The host side's source of time and timers."""

    @abstractmethod
    def now_ns(self) -> int:
        """Epoch nanoseconds."""

    @abstractmethod
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A host event loop whose timers follow this clock."""

    @abstractmethod
    def call_at(
        self,
        loop: asyncio.AbstractEventLoop,
        when_ns: int,
        callback: Callable[..., Any],
        *args: Any,
    ) -> TimerHandle:
        """Run ``callback(*args)`` on ``loop`` once the clock reaches ``when_ns``."""


class _AsyncioTimer(TimerHandle):
    __slots__ = ("_handle",)

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle

    def cancel(self) -> None:
        self._handle.cancel()


class RealClock(Clock):
    """Wall-clock time on a standard asyncio event loop, for running workflows for real."""

    def now_ns(self) -> int:
        return time.time_ns()

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()

    def call_at(
        self,
        loop: asyncio.AbstractEventLoop,
        when_ns: int,
        callback: Callable[..., Any],
        *args: Any,
    ) -> TimerHandle:
        delay = max(0, when_ns - self.now_ns()) / 1e9
        return _AsyncioTimer(loop.call_later(delay, callback, *args))


class DueCallback(TimerHandle):
    """A host-loop callback scheduled for a virtual instant (what a tie-break orders)."""

    __slots__ = ("args", "callback", "cancelled", "seq", "when_ns")

    def __init__(
        self, when_ns: int, seq: int, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        #: The virtual instant (epoch ns) it is due at.
        self.when_ns = when_ns
        #: Its place in scheduling order on its loop: FIFO fires lower numbers first.
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        name = getattr(self.callback, "__qualname__", repr(self.callback))
        return f"<DueCallback #{self.seq} at {self.when_ns} {name}>"


TieBreak = Callable[[Sequence[DueCallback]], Sequence[DueCallback]]
"""Orders the callbacks due at one virtual instant: given them in FIFO order (the order they
were scheduled), returns the same callbacks in the order they should fire."""


class VirtualClock(Clock):
    """Virtual time in integer nanoseconds; one per environment, never shared.

    Args:
        start_ns: the epoch nanoseconds the clock starts at.
        auto_skip: jump to the next due moment whenever nothing can run. When false, time only
            moves when told to (:meth:`VirtualTimeLoop` honours ``jump_limit_ns``).
    """

    def __init__(self, start_ns: int, *, auto_skip: bool = True) -> None:
        self._now_ns = start_ns
        self.origin_ns = start_ns
        self.auto_skip = auto_skip
        #: The loop this clock drives (the latest made by :meth:`new_event_loop`).
        self.loop: VirtualTimeLoop | None = None
        #: Called with the new time (epoch ns) whenever time moves forward, e.g. to move a
        #: patched wall clock along. Empty by default, which costs one truth test per move.
        self.on_advance: list[Callable[[int], None]] = []

    def now_ns(self) -> int:
        return self._now_ns

    def new_event_loop(self) -> VirtualTimeLoop:
        loop = self.loop = VirtualTimeLoop(self)
        return loop

    def call_at(
        self,
        loop: asyncio.AbstractEventLoop,
        when_ns: int,
        callback: Callable[..., Any],
        *args: Any,
    ) -> TimerHandle:
        """Schedule ``callback`` on ``loop`` (a :class:`VirtualTimeLoop`: it owns its timers)."""
        assert isinstance(loop, VirtualTimeLoop), "a VirtualClock drives VirtualTimeLoops"
        return loop.call_at_ns(when_ns, callback, *args)

    def next_due_ns(self) -> int | None:
        """When the earliest live timer of :attr:`loop` is due, or None."""
        return self.loop.next_due_ns() if self.loop is not None else None

    def advance_to(self, when_ns: int) -> None:
        """Move time forward to ``when_ns`` (never backwards); timers fire when the loop runs."""
        if when_ns > self._now_ns:
            self._now_ns = when_ns
            if self.on_advance:
                for observer in self.on_advance:
                    observer(when_ns)

    def fire_due(self) -> None:
        """Run every timer of :attr:`loop` that is due now (:meth:`VirtualTimeLoop.fire_due`)."""
        if self.loop is not None:
            self.loop.fire_due()

    @property
    def pending_timers(self) -> int:
        """How many live timers :attr:`loop` has scheduled."""
        return self.loop.pending_timers if self.loop is not None else 0


class LoopIdle(Exception):
    """Raised out of the loop when it would have to jump time but is not allowed to."""

    def __init__(self, *, blocked_forever: bool, bound_reached: bool = False) -> None:
        super().__init__("idle")
        #: True when nothing at all is scheduled: no jump could ever wake anything.
        self.blocked_forever = blocked_forever
        #: True when the next jump would pass the loop's ``time_bound_ns``.
        self.bound_reached = bound_reached


_NOTHING_WATCHED: Mapping[Any, selectors.SelectorKey] = types.MappingProxyType({})
"""What a selector that never opened its real one watches."""


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the real selector: a wait is a time jump unless real I/O or threads are in flight.

    The real selector (an ``epoll`` descriptor) is opened with the first descriptor registered:
    most environments never watch one, and a wait with nothing to watch is a time jump or
    ``select(0)``, which an empty selector answers with nothing.
    """

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real: selectors.BaseSelector | None = None
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        loop = self._loop
        # A watched descriptor may make the loop wait for real: a thread must be able to wake it.
        loop._open_self_pipe()
        loop._mark_real_work()
        real = self._real
        if real is None:
            real = self._real = selectors.DefaultSelector()
        return real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        if self._real is None:
            raise KeyError(f"{fileobj!r} is not registered")
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if self._real is None:
            raise KeyError(f"{fileobj!r} is not registered")
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map() if self._real is not None else _NOTHING_WATCHED

    def close(self) -> None:
        if self._real is not None:
            self._real.close()

    def _poll(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        """The real selector's ``select``; nothing is ready when nothing was ever watched."""
        real = self._real
        return real.select(timeout) if real is not None else []

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        clock = loop.clock
        now = clock._now_ns
        due = loop.next_due_ns()
        if due is not None and due <= now:
            loop._schedule_fire()
            return self._poll(0)
        if timeout is not None and timeout <= 0:
            return self._poll(0)
        if loop.settling:
            raise LoopIdle(blocked_forever=False)
        target = due
        if timeout is not None:
            asyncio_target = now + math.ceil(timeout * 1e9)
            target = asyncio_target if target is None else min(target, asyncio_target)
        limit = loop.jump_limit_ns
        if loop.real_work_in_flight():
            # Real work holds the jump; virtual time flows with real time meanwhile.
            if target is not None and limit is not None:
                target = min(target, max(limit, now))
            if target is None or target <= now:
                # Nothing is due before the jump limit: only the real work can wake us, so
                # wait for it (a slice at a time) rather than spin on select(0).
                wait = loop.real_wait_slice
            else:
                wait = min((target - now) / 1e9, loop.real_wait_slice)
            # Count real time since real work began or since the last wait ended, so the time
            # spent running callbacks between waits flows too: virtual never lags real.
            started = loop._real_mark_ns
            if started is None:
                started = time.monotonic_ns()
            ready = self._poll(wait)
            ended = time.monotonic_ns()
            loop._real_mark_ns = ended
            step = now + (ended - started)
            if target is not None:
                step = min(step, target)
            if limit is not None:
                step = min(step, max(limit, now))
            clock.advance_to(step)
            if due is not None and due <= clock._now_ns:
                loop._schedule_fire()
            return ready
        loop._real_mark_ns = None
        if target is None:
            raise LoopIdle(blocked_forever=True)
        if limit is not None and target > limit:
            if limit > now:
                target = limit
            else:
                raise LoopIdle(blocked_forever=False)
        bound = loop.time_bound_ns
        if bound is not None and target > bound:
            raise LoopIdle(blocked_forever=False, bound_reached=True)
        clock.advance_to(target)
        if due is not None and due <= target:
            loop._schedule_fire()
        return self._poll(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time: ``time()`` and every wait follow a :class:`VirtualClock`.

    ``jump_limit_ns`` bounds how far a jump may go: ``None`` means anywhere (auto-skip); a value
    at or below the current time forbids jumping, and the loop raises :class:`LoopIdle` instead of
    waiting, which the environment turns into "settled" or into a clear blocked-workflow error.
    ``time_bound_ns`` is a hard end: a jump past it raises :class:`LoopIdle` with
    ``bound_reached`` (a runaway workflow), where ``jump_limit_ns`` would jump up to the limit.
    """

    _selector: _VirtualSelector
    _ssock: socket.socket | None
    _csock: socket.socket | None

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(self))
        self.clock = clock
        # Timers within a microsecond fire together; keeps float loop time safe at 10+ years.
        self._clock_resolution = 1e-6
        self.jump_limit_ns: int | None = None
        self.time_bound_ns: int | None = None
        #: When set, the loop stops (LoopIdle) as soon as it would wait for anything at all.
        self.settling = False
        self.real_wait_slice = 0.05
        self._threads_in_flight = 0
        #: How many coroutines may be awaiting real I/O (None: assume any watched fd is busy).
        self.io_waiters: int | None = None
        self._fire_scheduled = False
        # The host loop's timers, by (due time, scheduling order): see call_at_ns.
        self._timers: list[tuple[int, int, DueCallback]] = []
        self._seq = itertools.count()
        #: Orders callbacks due at the same virtual instant; None fires them in FIFO order (the
        #: order they were scheduled). A test, or a property-based search, sets it to explore
        #: other orders of simultaneous events; see :data:`TieBreak`.
        self.tie_break: TieBreak | None = None
        #: Real (monotonic) time up to which real work in flight has been counted, or None.
        self._real_mark_ns: int | None = None

    def time(self) -> float:
        clock = self.clock
        return (clock._now_ns - clock.origin_ns) / 1e9

    def real_work_in_flight(self) -> bool:
        """True while a thread runs, or a file descriptor is watched while I/O may be awaited.

        A watched descriptor (besides the loop's own) counts only while ``io_waiters`` allows:
        ``None`` means always; an engine sets it to the number of async activity attempts
        running, so an idle keep-alive socket left open between attempts does not stop time
        skipping for good.
        """
        if self._threads_in_flight > 0:
            return True
        waiters = self.io_waiters
        if waiters is not None and waiters <= 0:
            return False
        return len(self._selector.get_map()) > 1

    def _schedule_fire(self) -> None:
        if not self._fire_scheduled:
            self._fire_scheduled = True
            self.call_soon(self._fire)

    def _fire(self) -> None:
        self._fire_scheduled = False
        self.fire_due()

    # --- timers: the host loop owns them; the clock only says what time it is ------------------

    def call_at_ns(self, when_ns: int, callback: Callable[..., Any], *args: Any) -> DueCallback:
        """Run ``callback(*args)`` once virtual time reaches ``when_ns`` (cancellable)."""
        seq = next(self._seq)
        timer = DueCallback(when_ns, seq, callback, args)
        heapq.heappush(self._timers, (when_ns, seq, timer))
        return timer

    def next_due_ns(self) -> int | None:
        """When the earliest live timer is due, or None."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    @property
    def pending_timers(self) -> int:
        """How many live timers are scheduled."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def fire_due(self) -> None:
        """Run every timer that is due now, earliest instant first.

        Within an instant they fire in FIFO order, unless :attr:`tie_break` orders them. A
        callback that schedules another for the current instant (or earlier) gets it run in
        this same call, after the ones already due.
        """
        timers = self._timers
        now = self.clock._now_ns
        if self.tie_break is None:
            while timers and timers[0][0] <= now:
                timer = heapq.heappop(timers)[2]
                if not timer.cancelled:
                    timer.cancelled = True
                    timer.callback(*timer.args)
            return
        while timers and timers[0][0] <= now:
            when = timers[0][0]
            batch = []
            while timers and timers[0][0] == when:
                timer = heapq.heappop(timers)[2]
                if not timer.cancelled:
                    batch.append(timer)
            self._fire_batch(batch)

    def _fire_batch(self, batch: list[DueCallback]) -> None:
        assert self.tie_break is not None
        ordered = list(self.tie_break(batch)) if len(batch) > 1 else batch
        if sorted(t.seq for t in ordered) != [t.seq for t in batch]:
            raise InvalidArgumentError(
                "tie_break must return the callbacks it was given, each once, in some order; "
                f"got {ordered!r} for {batch!r}"
            )
        for timer in ordered:
            # An earlier callback of the batch may have cancelled a later one.
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback(*timer.args)

    # --- the self-pipe: opened when the loop may first wait for real ---------------------------

    def _make_self_pipe(self) -> None:
        """Called by asyncio as the loop is made: the pipe is left for :meth:`_open_self_pipe`.

        Another thread wakes a loop waiting in ``select`` by writing to it. This loop waits
        only while real work is in flight (a thread it started, a watched descriptor); most
        environments start none, and a socket pair cost a fifth of making one and closing it.
        Until the pipe exists, ``call_soon_threadsafe`` still queues its callback (asyncio
        skips the write), and the loop, which then never waits, runs it at its next turn.
        """
        self._ssock = self._csock = None

    def _open_self_pipe(self) -> None:
        """Make the self-pipe now, before anything can make the loop wait for real."""
        if self._ssock is None and not self.is_closed():
            super()._make_self_pipe()  # type: ignore[misc]

    def _close_self_pipe(self) -> None:
        if self._ssock is not None:
            super()._close_self_pipe()  # type: ignore[misc]

    def add_signal_handler(
        self, sig: int, callback: Callable[[*_Ts], object], *args: *_Ts
    ) -> None:
        self._open_self_pipe()  # the signal's wake-up is written to the pipe
        super().add_signal_handler(sig, callback, *args)

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        self._mark_real_work()
        self._open_self_pipe()  # the thread's result is handed over with call_soon_threadsafe
        future = super().run_in_executor(executor, func, *args)
        self._threads_in_flight += 1
        future.add_done_callback(self._thread_done)
        return future

    def _mark_real_work(self) -> None:
        """Real work starts now (a thread or a watched fd): from here time flows with it."""
        if self._real_mark_ns is None:
            self._real_mark_ns = time.monotonic_ns()

    def _thread_done(self, _future: asyncio.Future[Any]) -> None:
        self._threads_in_flight -= 1

